"""A dataset as NumPy splits: float32 in [0, 1], images with a channel axis, int64 labels."""

import math
from dataclasses import dataclass, field

import numpy as np

from aecli.data.datasource import Loaded
from aecli.data.registry import source_of
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
    # how a raw example becomes the model's input (see `preprocessing`), saved with the run
    preprocessing: dict = field(default_factory=dict)
    # an anomaly run's normal label (None: unlabelled data, every row trains), the labelled
    # validation anomalies (scaled like every split; None where there are none), and how many
    # anomalies of the training split were left out of both training and validation
    normal_label: int | None = None
    val_anomalies: np.ndarray | None = None
    anomalies_left_out: int = 0

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example, which sizes the model's input."""
        return tuple(self.train.x.shape[1:])

    def split_counts(self) -> dict:
        """How many examples of each kind went where in an anomaly run (metrics.json)."""
        test_anomalous = (
            0 if self.normal_label is None else int((self.test.y != self.normal_label).sum())
        )
        return {
            "labelled": self.normal_label is not None,
            "train_normal": len(self.train.x),
            "val_normal": len(self.val.x),
            "val_anomalous": 0 if self.val_anomalies is None else len(self.val_anomalies),
            "test_normal": len(self.test.x) - test_anomalous,
            "test_anomalous": test_anomalous,
            "anomalies_left_out": self.anomalies_left_out,
        }


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


def _scaled(x: np.ndarray, rows=None, standardisation=None) -> np.ndarray:
    """`x[rows]` (all of `x` without `rows`) as float32: a table's columns standardised by
    `standardisation` (mean, std), else 8-bit pixels divided by 255 and other numbers as they
    are; written a chunk at a time into one aligned array, so a split costs its float32 size
    once. Gathering and then converting peaks at three times that (a float64 table standardised
    whole, at three float64 copies), and the pipeline would copy an unaligned result once more
    (docs/speed.md, Memory)."""
    rows = np.arange(len(x)) if rows is None else np.asarray(rows)
    out = aligned_empty((len(rows), *x.shape[1:]), np.float32)
    for start in range(0, len(rows), _CHUNK_ROWS):
        chunk, target = x[rows[start : start + _CHUNK_ROWS]], out[start : start + _CHUNK_ROWS]
        if standardisation is not None:
            mean, std = standardisation
            # computed in the chunk's and the statistics' precision, rounded to float32 once
            np.divide(chunk - mean, std, out=target)
        elif x.dtype == np.uint8:
            np.divide(chunk, np.float32(255.0), out=target)
        else:
            target[...] = chunk
    return out


def _only_class(y, label) -> np.ndarray:
    """The training rows of one label (one-class anomaly detection)."""
    if not np.any(y == label):
        raise ConfigError(
            f"dataset.normal_class={label} matches no training example; the labels "
            f"present are {sorted(set(np.unique(y).tolist()))}."
        )
    return np.flatnonzero(y == label)


def load_arrays(cfg, seed: int, anomaly: bool = False) -> Arrays:
    """Train / validation / test splits of the configured dataset.

    Validation is a seeded random `validation_fraction` f of the training split. `limit` then
    caps training at `limit` examples and validation at the matching share
    (round(limit * f / (1 - f)), at least 1); `test_limit` caps the test split apart, so a
    small training run is still measured on the whole test split unless asked otherwise. A
    capped test split is a seeded random subset kept in file order, so it holds every label in
    proportion (the anomalies the tabular sets append at the end included). With a normal label
    (`normal_class`, or for an `anomaly` run the one `normal_label` reads from the labels),
    training and validation keep that label only; test keeps every label, and an anomaly run's
    training-split anomalies are its labelled validation anomalies (a seeded draw at the test
    split's share of anomalies; the tabular generators draw fresh ones) or are left out: a
    detector never trains on them. Pixels are uint8 / 255, tables are
    standardised by the mean and std of the rows that train (their normal rows), everything
    float32.
    """
    source = source_of(cfg)
    source.check_memory(cfg, seed)  # before anything big is allocated
    loaded = source.read(cfg, seed)
    x_train, y_train, x_test, y_test = loaded.arrays
    normal = normal_label(cfg, loaded) if anomaly else cfg.normal_class
    factors_train = loaded.factors_train
    trained = np.arange(len(x_train)) if normal is None else _only_class(y_train, normal)
    # a table's statistics, applied as each split is written (_scaled)
    standardisation = _standardisation(x_train[trained]) if loaded.feature_names else None
    anomalous_rows = np.setdiff1d(np.arange(len(x_train)), trained)
    rng = np.random.default_rng(seed)
    order = trained[rng.permutation(len(trained))]
    n_val = max(1, round(len(trained) * cfg.validation_fraction))
    val_index, train_index = order[:n_val], order[n_val:]
    test_index = np.arange(len(x_test))
    if cfg.limit is not None:
        fraction = cfg.validation_fraction
        train_index = train_index[: cfg.limit]
        val_index = val_index[: max(1, round(cfg.limit * fraction / (1 - fraction)))]
    if cfg.test_limit is not None and cfg.test_limit < len(x_test):
        test_index = np.sort(rng.choice(len(x_test), cfg.test_limit, replace=False))

    val_anomalies, left_out = None, 0
    if anomaly and normal is not None:
        wanted = _anomalies_wanted(len(val_index), np.mean(y_test[test_index] != normal))
        drawn = source.validation_anomalies(cfg, seed, wanted)
        if drawn is not None:
            val_anomalies = _scaled(drawn, standardisation=standardisation)
        elif len(anomalous_rows):
            pick = np.sort(
                np.random.default_rng([seed, 2026]).choice(
                    anomalous_rows, min(wanted, len(anomalous_rows)), replace=False
                )
            )
            val_anomalies = _scaled(x_train, pick, standardisation)
            left_out = len(anomalous_rows) - len(pick)

    def factors(rows, index):
        return None if rows is None else rows[index]

    class_names = list(loaded.class_names or source.class_names(cfg))
    return Arrays(
        train=Split(
            _scaled(x_train, train_index, standardisation),
            y_train[train_index],
            factors(factors_train, train_index),
        ),
        val=Split(
            _scaled(x_train, val_index, standardisation),
            y_train[val_index],
            factors(factors_train, val_index),
        ),
        test=Split(
            _scaled(x_test, test_index, standardisation),
            y_test[test_index],
            factors(loaded.factors_test, test_index),
        ),
        files=list(loaded.files),
        class_names=class_names,
        factor_names=list(loaded.factor_names),
        preprocessing=preprocessing(cfg, x_train, loaded.feature_names, standardisation),
        normal_label=normal if anomaly else None,
        val_anomalies=val_anomalies,
        anomalies_left_out=left_out,
    )


def _anomalies_wanted(n_val_normal: int, test_share: float) -> int:
    """Validation anomalies at the test split's share of anomalies (at least one: F1's optimum
    moves with that share)."""
    if test_share >= 1:
        return n_val_normal
    return max(1, round(n_val_normal * test_share / (1 - test_share)))


def _standardisation(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each feature's mean and std over the rows that train (sklearn's StandardScaler); a
    constant column gets std 1, so it stays constant (zero) instead of dividing by zero."""
    mean, std = rows.mean(axis=0), rows.std(axis=0)
    std[std == 0] = 1.0
    return mean, std


def normal_label(cfg, loaded: Loaded) -> int | None:
    """The label of the normal examples of an anomaly run: `dataset.normal_class` when given;
    0 for the generated tabular sets (their training rows are all normal) and for a CSV or .npz
    whose labels are 0 and 1 (0 = normal, as in the credit-card data); None when every label is 0
    (unlabelled data: every row trains). Anything else is ambiguous and refused."""
    if cfg.normal_class is not None:
        return cfg.normal_class
    labels = np.union1d(loaded.y_train, loaded.y_test).tolist()
    if labels == [0]:
        return None
    source = source_of(cfg)
    if source.labels_mark_anomalies(labels):
        return 0
    names = list(loaded.class_names or source.class_names(cfg))
    shown = ", ".join(
        f"{label} = {names[label]}" if 0 <= label < len(names) else str(label)
        for label in labels[:12]
    ) + (", ..." if len(labels) > 12 else "")
    raise ConfigError(
        f"Which label is normal is ambiguous: {source.labels_named(cfg)} holds {len(labels)} "
        f"labels ({shown}), and an anomaly detector trains on normal examples only. Name the "
        "normal label with "
        f"`dataset.normal_class=N` (e.g. dataset.normal_class={labels[0]}); examples of every "
        "other label are anomalies, never trained on (a labelled validation set is drawn from "
        "those outside the test split)."
    )


def preprocessing(cfg, x_train: np.ndarray, feature_names, standardisation) -> dict:
    """How one raw example becomes the model's input, everything `aecli predict` and `aecli
    export` need and nothing they would have to re-read the training data for: a table's feature
    columns in order and the mean and std that standardise them; an image's or array's shape, its
    stored type and the factor that scales it (8-bit values / 255, other numbers as they are)."""
    name = cfg.name.value
    if feature_names:
        mean, std = standardisation
        return {
            "input": "table",
            "dataset": name,
            "columns": list(feature_names),
            "label_column": getattr(cfg, "label_column", None),
            "mean": mean.tolist(),
            "std": std.tolist(),
        }
    shape = list(x_train.shape[1:])
    record = {
        "input": "image" if len(shape) == 3 else "array",
        "dataset": name,
        "shape": shape,
        "dtype": "uint8" if x_train.dtype == np.uint8 else "float32",
        "scale": 1 / 255 if x_train.dtype == np.uint8 else 1.0,
    }
    return record | source_of(cfg).preprocessing(cfg, shape)
