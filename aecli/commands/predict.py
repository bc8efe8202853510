"""`aecli predict RUN_DIR input=PATH [predict.*=...]`: a completed run applied to new data."""

from pathlib import Path

from aecli.commands._options import parse_options
from aecli.errors import UserError

DEFAULTS = {
    "input": None,
    "predict.name": None,
    "predict.outputs": "codes,reconstructions",
    "predict.batch_size": 4096,
    "predict.images": None,
    "predict.max_images": 64,
    "predict.id_column": None,
    "predict.resize": False,
}
HELP = {
    "input": "the new data: a .csv (a table run), an image folder or file, an .npz, an IDX .gz",
    "predict.name": "the output folder under RUN/predictions/ (null: a timestamp); never reused",
    "predict.outputs": "arrays to write beside predictions.csv: codes, reconstructions, or none",
    "predict.batch_size": "examples per batch (a multiple of 64); the input is streamed",
    "predict.images": "PNGs of each input beside its reconstruction (null: for images only)",
    "predict.max_images": "at most this many PNGs",
    "predict.id_column": "a CSV column kept as each row's key in predictions.csv",
    "predict.resize": "resize (bilinear) and convert images of another size or channel count",
}
DESCRIPTION = (
    "Apply a completed run to new data: predictions.csv (reconstruction error, the negative "
    "ELBO for VAEs, and for a run of `aecli anomaly` the score and the flag at its own "
    "threshold), codes.npy, reconstructions.npy, PNGs for images and predict.json, in a new "
    "folder RUN/predictions/<name>/. The preprocessing (image size and scaling, a table's "
    "columns and standardisation) is the run's own record; the training data is never read."
)


def main(args) -> int:
    run_dir, options = parse_options(args, DEFAULTS, "predict", DESCRIPTION, HELP)
    if options["input"] is None:
        raise UserError(
            "aecli predict needs the new data: `aecli predict RUN_DIR input=PATH` (a .csv, an "
            "image folder or file, an .npz or an IDX .gz file)."
        )
    outputs = tuple(
        name.strip()
        for name in options["predict.outputs"].split(",")
        if name.strip() and name.strip() != "none"
    )
    from aecli.inference.predict import ARRAY_OUTPUTS

    unknown = [name for name in outputs if name not in ARRAY_OUTPUTS]
    if unknown:
        raise UserError(
            f"predict.outputs names {', '.join(unknown)}; choose from {', '.join(ARRAY_OUTPUTS)} "
            "(comma-separated), or none."
        )
    if options["predict.batch_size"] < 1 or options["predict.max_images"] < 0:
        raise UserError("predict.batch_size must be >= 1 and predict.max_images >= 0.")
    from aecli.inference.inputs import open_input
    from aecli.inference.predict import output_folder, predict, print_summary
    from aecli.inference.trained import load_trained  # TensorFlow loads here

    run = load_trained(Path(run_dir), "predict")
    source = open_input(
        options["input"],
        run.preprocessing,
        id_column=options["predict.id_column"],
        resize=options["predict.resize"],
    )
    images = options["predict.images"]
    summary = predict(
        run,
        source,
        output_folder(run, options["predict.name"]),
        options["predict.batch_size"],
        outputs,
        source.kind == "images" if images is None else images,
        options["predict.max_images"],
    )
    print_summary(summary)
    return 0
