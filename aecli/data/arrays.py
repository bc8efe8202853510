"""A dataset as NumPy splits: float32 in [0, 1], images with a channel axis, int64 labels."""

from dataclasses import dataclass, field

import numpy as np

from aecli.data import sources, synthetic, tabular, user_files
from aecli.errors import ConfigError


@dataclass(frozen=True)
class Split:
    """One split: x float32 of shape (n, *input_shape), y int64 labels of shape (n,)."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Arrays:
    """The three splits a run trains, early-stops and reports on."""

    train: Split
    val: Split
    test: Split
    files: list[str] = field(default_factory=list)  # what was read (or how it was generated)
    class_names: list[str] = field(default_factory=list)  # label names, index = label

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example, which sizes the model's input."""
        return tuple(self.train.x.shape[1:])


def _scaled(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) / 255.0) if x.dtype == np.uint8 else x.astype(np.float32)


def _only_class(x, y, label):
    if not np.any(y == label):
        raise ConfigError(f"dataset.normal_class={label} matches no training example; the labels present are "
                          f"{sorted(set(np.unique(y).tolist()))}.")
    return x[y == label], y[y == label]


GENERATED = "generated from the seed"


def _raw_splits(cfg, seed: int) -> sources.Loaded:
    """The raw splits from the dataset's generator, published files or the user's own files."""
    name = cfg.name.value
    if name == "synthetic":
        return sources.Loaded(*synthetic.generate(cfg.kind.value, cfg.size, seed), [GENERATED])
    if name in tabular.GENERATORS:
        return sources.Loaded(*tabular.generate(name, cfg.size, seed), [GENERATED])
    if name == "image_folder":
        return user_files.read_image_folder(cfg.path, cfg.image_size, cfg.color_mode.value,
                                            cfg.test_fraction, cfg.split_seed)
    if name == "npz":
        return user_files.read_npz(cfg.path, cfg.test_fraction, cfg.split_seed)
    if name == "csv":
        return user_files.read_csv(cfg.path, cfg.label_column,
                                   None if cfg.columns is None else list(cfg.columns),
                                   cfg.test_fraction, cfg.split_seed)
    return sources.load(cfg)


def load_arrays(cfg, seed: int) -> Arrays:
    """Train / validation / test splits of the configured dataset.

    Validation is a seeded random `validation_fraction` f of the training split. `limit` then
    caps training at `limit` examples, validation at the matching share
    (round(limit * f / (1 - f)), at least 1) and test at `limit`, so a small run (and
    `aecli eval dataset.limit=N`) is small throughout. A capped test split is a seeded random
    subset kept in file order, so it holds every label in proportion (the anomalies the tabular
    sets append at the end included). With `normal_class`, training and validation keep that
    label only; test keeps every label. Pixels are uint8 / 255, everything float32.
    """
    loaded = _raw_splits(cfg, seed)
    x_train, y_train, x_test, y_test = loaded.arrays
    if cfg.normal_class is not None:
        x_train, y_train = _only_class(x_train, y_train, cfg.normal_class)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x_train))
    n_val = max(1, round(len(x_train) * cfg.validation_fraction))
    val_index, train_index = order[:n_val], order[n_val:]
    test_index = np.arange(len(x_test))
    if cfg.limit is not None:
        fraction = cfg.validation_fraction
        train_index = train_index[: cfg.limit]
        val_index = val_index[: max(1, round(cfg.limit * fraction / (1 - fraction)))]
        if cfg.limit < len(x_test):
            test_index = np.sort(rng.choice(len(x_test), cfg.limit, replace=False))
    return Arrays(
        train=Split(_scaled(x_train[train_index]), y_train[train_index]),
        val=Split(_scaled(x_train[val_index]), y_train[val_index]),
        test=Split(_scaled(x_test[test_index]), y_test[test_index]),
        files=list(loaded.files),
        class_names=list(loaded.class_names),
    )
