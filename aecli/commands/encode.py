"""`aecli encode RUN_DIR [encode.split=test]`: latent codes of a split as .npy, and what they
save."""

import math
from pathlib import Path

import numpy as np

from aecli.commands._options import parse_options
from aecli.console import console
from aecli.errors import UserError

DEFAULTS = {"encode.split": "test", "dataset.limit": None}
HELP = {
    "encode.split": "the split to encode: test, val or train",
    "dataset.limit": "encode the first N examples of the split; null = all",
}
DESCRIPTION = (
    "Latent codes (the posterior means) of one split as codes/<split>_codes.npy with "
    "their labels, and the compression ratio they give."
)


def main(args) -> int:
    run_dir, options = parse_options(args, DEFAULTS, "encode", DESCRIPTION, HELP)
    split = options["encode.split"]
    if split not in ("train", "val", "test"):
        raise UserError(f"encode.split={split} is not a split; use train, val or test.")
    from aecli.evaluation.reload import load_run  # TensorFlow loads here

    run = load_run(Path(run_dir), limit=options["dataset.limit"])
    data = getattr(run.arrays, split)
    codes = run.model.encode_means(data.x)
    folder = run.folder
    folder.codes.mkdir(exist_ok=True)
    np.save(folder.code_file(split, "codes"), codes.astype(np.float32))
    np.save(folder.code_file(split, "labels"), data.y)
    if data.factors is not None:  # ground-truth factors, for disentanglement analyses
        np.save(folder.code_file(split, "factors"), data.factors)
    input_dims, code_dims = math.prod(data.x.shape[1:]), math.prod(codes.shape[1:])
    # images are stored as 8-bit pixels; other inputs and the codes as float32
    input_bytes = input_dims * (1 if len(data.x.shape) == 4 else 4)
    console.print(
        f"{len(codes)} {split} codes of shape {codes.shape[1:]} -> "
        f"{folder.code_file(split, 'codes')} "
        f"(labels in {split}_labels.npy)\ncompression: {input_dims} -> {code_dims} dimensions "
        f"({input_dims / code_dims:.1f}x); {input_bytes} -> {4 * code_dims} bytes per example "
        f"({input_bytes / (4 * code_dims):.1f}x, "
        f"{'uint8 pixels' if input_bytes == input_dims else 'float32'} "
        "in, float32 codes out)"
    )
    return 0
