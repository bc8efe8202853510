"""`aecli export RUN_DIR [export.format=saved_model|tflite]`: a completed run as a model that
serves raw inputs without aecli (aecli/inference/export.py)."""

from pathlib import Path

from rich.markup import escape

from aecli.commands._options import parse_options
from aecli.console import console, error_console

DEFAULTS = {"export.format": "saved_model"}
HELP = {"export.format": "saved_model (TensorFlow Serving, tf.saved_model.load) or tflite"}
DESCRIPTION = (
    "Writes RUN_DIR/export/<format>/: a TensorFlow SavedModel whose signatures (encode, decode, "
    "reconstruct, score, and flag for anomaly runs) take raw inputs, the run's preprocessing "
    "inside the graph, or the same converted to model.tflite; and metadata.json with the input "
    "spec, preprocessing, threshold, config, metrics and versions. Never overwrites an export."
)


def main(args) -> int:
    run_dir, options = parse_options(args, DEFAULTS, "export", DESCRIPTION, HELP)
    from aecli.inference.export import export_run  # TensorFlow loads here

    target, record = export_run(Path(run_dir), options["export.format"])
    if record["flag_refused"]:
        error_console.print(
            f"[bold yellow]warning:[/] {escape(record['flag_refused'])}", soft_wrap=True
        )
    names = ", ".join(record["signatures"])
    given = record["input"]
    columns = f" of columns {', '.join(given['columns'])}" if "columns" in given else ""
    console.print(
        f"exported {record['family']} run as {record['format']} -> {target}\n"
        f"signatures: {names} (serving_default: {record['serving_default']})\n"
        f"input x: {given['dtype']} {given['shape']}, raw values{columns}\n"
        f"metadata: {target / 'metadata.json'}",
        markup=False,
        soft_wrap=True,
    )
    return 0
