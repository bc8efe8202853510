"""A dataset as NumPy splits: float32 in [0, 1], images with a channel axis, int64 labels."""

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aecli.data import dsprites, footprint, sources, synthetic, tabular, user_files
from aecli.errors import ConfigError


@dataclass(frozen=True)
class Split:
    """One split: x float32 of shape (n, *input_shape), y int64 labels of shape (n,)."""

    x: np.ndarray
    y: np.ndarray
    factors: np.ndarray | None = None  # (n, k) integer ground-truth factors, where known


@dataclass(frozen=True)
class Arrays:
    """The three splits a run trains, early-stops and reports on."""

    train: Split
    val: Split
    test: Split
    files: list[str] = field(default_factory=list)  # what was read (or how it was generated)
    class_names: list[str] = field(default_factory=list)  # label names, index = label
    factor_names: list[str] = field(default_factory=list)  # the columns of each split's factors

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example, which sizes the model's input."""
        return tuple(self.train.x.shape[1:])


# bytes: TensorFlow's CPU kernels require every tensor's buffer to start at such an address
ALIGNMENT = 64
# rows scaled per step: the only transient copy `_scaled` makes of 8-bit pixels
_CHUNK_ROWS = 8192


def aligned_empty(shape, dtype) -> np.ndarray:
    """An uninitialised C-ordered array whose buffer starts on an ALIGNMENT-byte boundary, which
    the training pipeline hands to TensorFlow without copying (NumPy's own large buffers start
    16 bytes past a page, so TensorFlow would copy them)."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    raw = np.empty(nbytes + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def _scaled(x: np.ndarray, rows=None) -> np.ndarray:
    """`x[rows]` (all of `x` without `rows`) as float32 in [0, 1], 8-bit pixels divided by 255,
    written a chunk at a time into one aligned array, so a split costs its float32 size once.
    Gathering and then converting peaked at three times that, and the pipeline copied the
    unaligned result once more: the whole 64x64 dSprites grid was killed for memory in 24 GB."""
    rows = np.arange(len(x)) if rows is None else np.asarray(rows)
    out = aligned_empty((len(rows), *x.shape[1:]), np.float32)
    for start in range(0, len(rows), _CHUNK_ROWS):
        chunk = x[rows[start : start + _CHUNK_ROWS]]
        if x.dtype == np.uint8:
            np.divide(chunk, np.float32(255.0), out=out[start : start + _CHUNK_ROWS])
        else:
            out[start : start + _CHUNK_ROWS] = chunk
    return out


def _only_class(y, label) -> np.ndarray:
    """The training rows of one label (one-class anomaly detection)."""
    if not np.any(y == label):
        raise ConfigError(
            f"dataset.normal_class={label} matches no training example; the labels "
            f"present are {sorted(set(np.unique(y).tolist()))}."
        )
    return np.flatnonzero(y == label)


GENERATED = "generated from the seed"
# label -> name, by dataset name (synthetic data by its kind): legends of latent scatters
CLASS_NAMES = {
    "mnist": tuple(str(digit) for digit in range(10)),
    "fashion_mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    "cifar10": (
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ),
    "dsprites": dsprites.SHAPE_NAMES,
    "shapes": ("square", "disc", "horizontal bar", "vertical bar", "plus", "triangle"),
}


def _raw_splits(cfg, seed: int) -> sources.Loaded:
    """The raw splits from the dataset's generator, published files or the user's own files."""
    name = cfg.name.value
    if name == "synthetic" and cfg.kind.value == "shapes":
        *splits, factors_train, factors_test = synthetic.generate_shapes_with_factors(
            cfg.size, seed
        )
        return sources.Loaded(
            *splits,
            [GENERATED],
            factors_train=factors_train,
            factors_test=factors_test,
            factor_names=list(synthetic.SHAPES_FACTOR_NAMES),
        )
    if name == "synthetic":
        return sources.Loaded(*synthetic.generate(cfg.kind.value, cfg.size, seed), [GENERATED])
    if name == "dsprites":
        return _dsprites(cfg, seed)
    if name in tabular.GENERATORS:
        return sources.Loaded(*tabular.generate(name, cfg.size, seed), [GENERATED])
    if name == "image_folder":
        return user_files.read_image_folder(
            cfg.path, cfg.image_size, cfg.color_mode.value, cfg.test_fraction, cfg.split_seed
        )
    if name == "npz":
        return user_files.read_npz(cfg.path, cfg.test_fraction, cfg.split_seed)
    if name == "csv":
        return user_files.read_csv(
            cfg.path,
            cfg.label_column,
            None if cfg.columns is None else list(cfg.columns),
            cfg.test_fraction,
            cfg.split_seed,
        )
    return sources.load(cfg)


def _names_key(cfg) -> str:
    """CLASS_NAMES' key of a dataset: its name, or the kind of synthetic data."""
    return cfg.kind.value if cfg.name.value == "synthetic" else cfg.name.value


def _dsprites(cfg, seed: int) -> sources.Loaded:
    """dSprites: the official file when dataset.data_dir holds it, else the equivalent generator;
    `size` points drawn uniformly from the grid (null: all 737,280), 80% train, labels = shape."""
    if cfg.data_dir is not None:
        path = Path(cfg.data_dir).expanduser() / dsprites.OFFICIAL_FILE
        images, classes, _ = dsprites.read_official_subset(path, cfg.size, seed)
        if cfg.resolution != images.shape[1]:  # area-average down to the asked resolution
            factor = images.shape[1] // cfg.resolution
            images = (
                images.reshape(len(images), cfg.resolution, factor, cfg.resolution, factor)
                .mean(axis=(2, 4))
                .astype(np.float32)
            )
        images, files = images[..., None], [str(path)]
    else:
        images, classes, _ = dsprites.generate(
            cfg.size or dsprites.NUM_IMAGES, seed, cfg.resolution
        )
        files = [GENERATED]
    order = np.random.default_rng([seed, 7]).permutation(len(images))
    images, classes = images[order], classes[order]
    if images.dtype == np.uint8:  # binary 0/1 as 8-bit pixels 0/255, scaled like every image set
        images *= np.uint8(255)
    n_train = int(0.8 * len(images))
    return sources.Loaded(
        images[:n_train],
        classes[:n_train, 0],
        images[n_train:],
        classes[n_train:, 0],
        files,
        class_names=list(dsprites.SHAPE_NAMES),
        factors_train=classes[:n_train],
        factors_test=classes[n_train:],
        factor_names=list(dsprites.FACTOR_NAMES),
    )


def load_arrays(cfg, seed: int) -> Arrays:
    """Train / validation / test splits of the configured dataset.

    Validation is a seeded random `validation_fraction` f of the training split. `limit` then
    caps training at `limit` examples and validation at the matching share
    (round(limit * f / (1 - f)), at least 1); `test_limit` caps the test split apart, so a
    small training run is still measured on the whole test split unless asked otherwise. A
    capped test split is a seeded random subset kept in file order, so it holds every label in
    proportion (the anomalies the tabular sets append at the end included). With `normal_class`,
    training and validation keep that label only; test keeps every label. Pixels are uint8 / 255,
    everything float32.
    """
    footprint.check(cfg, seed)  # before anything big is allocated
    loaded = _raw_splits(cfg, seed)
    x_train, y_train, x_test, y_test = loaded.arrays
    factors_train = loaded.factors_train
    if cfg.normal_class is not None:
        rows = _only_class(y_train, cfg.normal_class)
        x_train, y_train = x_train[rows], y_train[rows]
        factors_train = None if factors_train is None else factors_train[rows]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x_train))
    n_val = max(1, round(len(x_train) * cfg.validation_fraction))
    val_index, train_index = order[:n_val], order[n_val:]
    test_index = np.arange(len(x_test))
    if cfg.limit is not None:
        fraction = cfg.validation_fraction
        train_index = train_index[: cfg.limit]
        val_index = val_index[: max(1, round(cfg.limit * fraction / (1 - fraction)))]
    if cfg.test_limit is not None and cfg.test_limit < len(x_test):
        test_index = np.sort(rng.choice(len(x_test), cfg.test_limit, replace=False))

    def factors(rows, index):
        return None if rows is None else rows[index]

    return Arrays(
        train=Split(
            _scaled(x_train, train_index), y_train[train_index], factors(factors_train, train_index)
        ),
        val=Split(
            _scaled(x_train, val_index), y_train[val_index], factors(factors_train, val_index)
        ),
        test=Split(
            _scaled(x_test, test_index),
            y_test[test_index],
            factors(loaded.factors_test, test_index),
        ),
        files=list(loaded.files),
        class_names=list(loaded.class_names or CLASS_NAMES.get(_names_key(cfg), ())),
        factor_names=list(loaded.factor_names),
    )


def validation_anomalies(cfg, seed: int, count: int) -> np.ndarray | None:
    """Up to `count` anomalies for a labelled validation split (the anomaly command's F1-optimal
    threshold and its search objective), never drawn from the test split: the generated tabular
    sets' own validation anomalies, or, with `normal_class`, training-split examples of the other
    labels, which a one-class run never trains on (a seeded random subset, every label in
    proportion). None when the dataset has neither. float32, scaled like every split."""
    name = cfg.name.value
    if name in tabular.GENERATORS:
        return tabular.validation_anomalies(name, cfg.size, seed, count=count)[0]
    if cfg.normal_class is None:
        return None
    x_train, y_train, *_ = _raw_splits(cfg, seed).arrays
    others = np.flatnonzero(y_train != cfg.normal_class)
    rng = np.random.default_rng([seed, 2026])
    pick = np.sort(rng.choice(others, min(count, len(others)), replace=False))
    return _scaled(x_train, pick)
