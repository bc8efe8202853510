"""`aecli sample RUN_DIR [sample.count=64]`: PNGs and TensorBoard images of what a finished run
makes."""

from pathlib import Path

from aecli.commands._options import parse_options
from aecli.console import console
from aecli.errors import UserError

DEFAULTS = {"sample.count": 64, "dataset.limit": 2000}
HELP = {
    "sample.count": "prior samples to draw, rounded down to a multiple of 8",
    "dataset.limit": "test examples loaded for reconstructions and interpolations",
}
DESCRIPTION = (
    "Images from a finished run: prior samples, reconstructions, interpolations and "
    "latent traversals as PNGs and TensorBoard images, codes for the projector."
)


def main(args) -> int:
    run_dir, options = parse_options(args, DEFAULTS, "sample", DESCRIPTION, HELP)
    from aecli.evaluation.generation import sample_all  # TensorFlow loads here
    from aecli.evaluation.reload import load_run

    run = load_run(Path(run_dir), limit=options["dataset.limit"])
    if len(run.arrays.input_shape) != 3:
        raise UserError(
            f"aecli sample draws images, but {run.folder.path} was trained on vectors of shape "
            f"{run.arrays.input_shape}; use `aecli encode` for its codes."
        )
    count = max(8, options["sample.count"] // 8 * 8)
    written = sample_all(run, run.folder.samples, count)
    for name, path in written.items():
        console.print(f"{name}: {path}")
    console.print(
        f"TensorBoard: images under {run.folder.tensorboard_run('samples')}, "
        f"embeddings under {run.folder.tensorboard_run('projector')}"
    )
    return 0
