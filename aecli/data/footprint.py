"""The least memory loading a configured dataset takes, from headers, shapes and one small draw
(aecli/memory.py), refused before loading when the machine cannot hold it."""

import os
from pathlib import Path

from aecli import memory
from aecli.data import dsprites, synthetic, tabular
from aecli.errors import DataError

# examples of the draw a generator's size per example is measured on
_PROBE = 10


def _generated(cfg, seed: int) -> tuple[memory.Estimate, float, str] | None:
    name = cfg.name.value
    if name == "synthetic":
        arrays = synthetic.generate(cfg.kind.value, _PROBE, seed)
        fix = "Lower dataset.size (every example is generated before dataset.limit picks some)."
        return memory.generated(cfg.size, list(arrays), _PROBE), 0.2, fix
    if name in tabular.GENERATORS:
        arrays = tabular.generate(name, _PROBE, seed)
        fix = "Lower dataset.size."
        return memory.generated(cfg.size, list(arrays), _PROBE), 0.2, fix
    if name == "dsprites":
        size = cfg.size or dsprites.NUM_IMAGES
        arrays = dsprites.generate(_PROBE, seed, cfg.resolution)
        fix = (
            f"Lower dataset.size (null is the whole grid of {dsprites.NUM_IMAGES:,} images), or "
            "use dataset.resolution=32 (a quarter of the pixels)."
        )
        return memory.generated(size, list(arrays), _PROBE), 0.2, fix
    return None


def _image_folder(cfg) -> tuple[memory.Estimate, int] | None:
    folder = Path(cfg.path).expanduser()
    try:
        files = [
            Path(root) / name
            for root, _, names in os.walk(folder)
            for name in names
            if name.lower().endswith((".bmp", ".gif", ".jpeg", ".jpg", ".png"))
        ]
    except OSError:
        return None  # the reader says what is wrong with the folder
    sizes = [size for size in map(memory.image_header_size, files) if size is not None]
    channels = 1 if cfg.color_mode.value == "grayscale" else 3
    target = (cfg.image_size, cfg.image_size) if cfg.image_size else None
    return memory.image_folder(sizes, channels, target)


def check(cfg, seed: int, available: int | None = None) -> None:
    """Refuse, in one paragraph, a dataset whose loading cannot fit in the memory available."""
    name = cfg.name.value
    test_share = getattr(cfg, "test_fraction", 0.2)
    if name in ("synthetic", "dsprites") or name in tabular.GENERATORS:
        estimate, test_share, fix = _generated(cfg, seed)
        what = f"dataset={name} with dataset.size={getattr(cfg, 'size', None)}"
    elif name == "npz":
        estimate = memory.npz(memory.npz_members(Path(cfg.path).expanduser()))
        what = f"The archive {cfg.path} (its arrays as stored, then as float32)"
        fix = (
            "Its arrays are loaded whole whatever dataset.limit says: save a subset of the "
            "examples (e.g. np.savez(path, x_train=x_train[:50000], ...)), or fewer pixels."
        )
    elif name == "csv":
        path = Path(cfg.path).expanduser()
        try:
            if not path.is_file():
                return
            with open(path, "rb") as stream:
                sample = stream.read(memory.CSV_SAMPLE_BYTES)
            file_bytes = path.stat().st_size
        except OSError:
            return  # the reader says why it cannot be read
        estimate = memory.csv_text(sample, file_bytes)
        what = f"The table {cfg.path} ({memory.gib(file_bytes)} of text, read as cells)"
        fix = "Its rows are read whole whatever dataset.limit says: use a file of fewer rows."
    elif name == "image_folder":
        found = _image_folder(cfg)
        if found is None:
            return
        estimate, decode = found
        fix = (
            "Resize the images beforehand, or load them smaller with dataset.image_size=N and "
            "dataset.color_mode=grayscale."
        )
        memory.refuse_if_over(
            decode,
            f"Decoding the largest image in {cfg.path}",
            "Shrink or remove the largest images beforehand (every image is decoded at its "
            "own size before dataset.image_size resizes it).",
            available=available,
        )
        what = f"The images of {cfg.path} ({estimate.examples:,} images)"
    else:
        return  # the published datasets are of known, small size
    memory.refuse_if_over(
        estimate.total(memory.kept_examples(cfg, estimate.examples, test_share)),
        what,
        fix,
        error=DataError,
        available=available,
    )
