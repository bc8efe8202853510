"""The least memory loading a configured dataset takes, from headers, shapes and one small draw
(aecli/memory.py), refused before loading when the machine cannot hold it. Each source's
`check_memory` (aecli/data/datasource.py) picks the estimate that fits it."""

import os
from pathlib import Path

from aecli import memory
from aecli.errors import DataError

# examples of the draw a generator's size per example is measured on
PROBE = 10


def check_generated(cfg, size: int, probe, fix: str, available: int | None = None) -> None:
    """Data generated from the seed: `size` examples, each the size of those of `probe` (the
    arrays of a PROBE-example draw); 80% train, the rest test."""
    refuse_if_over(
        cfg,
        memory.generated(size, list(probe), PROBE),
        0.2,
        f"dataset={cfg.name.value} with dataset.size={getattr(cfg, 'size', None)}",
        fix,
        available,
    )


def check_npz(cfg, available: int | None = None) -> None:
    refuse_if_over(
        cfg,
        memory.npz(memory.npz_members(Path(cfg.path).expanduser())),
        cfg.test_fraction,
        f"The archive {cfg.path} (its arrays as stored, then as float32)",
        "Its arrays are loaded whole whatever dataset.limit says: save a subset of the "
        "examples (e.g. np.savez(path, x_train=x_train[:50000], ...)), or fewer pixels.",
        available,
    )


def check_csv(cfg, available: int | None = None) -> None:
    path = Path(cfg.path).expanduser()
    try:
        if not path.is_file():
            return
        with open(path, "rb") as stream:
            sample = stream.read(memory.CSV_SAMPLE_BYTES)
        file_bytes = path.stat().st_size
    except OSError:
        return  # the reader says why it cannot be read
    refuse_if_over(
        cfg,
        memory.csv_text(sample, file_bytes),
        cfg.test_fraction,
        f"The table {cfg.path} ({memory.gib(file_bytes)} of text, read as cells)",
        "Its rows are read whole whatever dataset.limit says: use a file of fewer rows.",
        available,
    )


def check_image_folder(cfg, available: int | None = None) -> None:
    folder = Path(cfg.path).expanduser()
    try:
        files = [
            Path(root) / name
            for root, _, names in os.walk(folder)
            for name in names
            if name.lower().endswith((".bmp", ".gif", ".jpeg", ".jpg", ".png"))
        ]
    except OSError:
        return  # the reader says what is wrong with the folder
    sizes = [size for size in map(memory.image_header_size, files) if size is not None]
    channels = 1 if cfg.color_mode.value == "grayscale" else 3
    target = (cfg.image_size, cfg.image_size) if cfg.image_size else None
    estimate, decode = memory.image_folder(sizes, channels, target)
    memory.refuse_if_over(
        decode,
        f"Decoding the largest image in {cfg.path}",
        "Shrink or remove the largest images beforehand (every image is decoded at its "
        "own size before dataset.image_size resizes it).",
        available=available,
    )
    refuse_if_over(
        cfg,
        estimate,
        cfg.test_fraction,
        f"The images of {cfg.path} ({estimate.examples:,} images)",
        "Resize the images beforehand, or load them smaller with dataset.image_size=N and "
        "dataset.color_mode=grayscale.",
        available,
    )


def refuse_if_over(cfg, estimate, test_share: float, what: str, fix: str, available) -> None:
    """Refuse, in one paragraph, loading `estimate` of which the run keeps what its limits
    allow."""
    memory.refuse_if_over(
        estimate.total(memory.kept_examples(cfg, estimate.examples, test_share)),
        what,
        fix,
        error=DataError,
        available=available,
    )
