"""What differs by data source, asked of the source instead of testing the dataset's name.

A source reads its config (a class of aecli/config/dataset.py) into raw splits and answers the
few questions the splitting, the memory check and an anomaly run have of it; the defaults here
fit a source that has nothing to add. aecli/data/registry.py maps each config class to its
source, as aecli/models maps each model config to its family.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Loaded:
    """A dataset's raw splits and the files they were read from.

    files: the paths read, in order, or [sources.KERAS_DOWNLOAD] when Keras' loader fetched and read
    them; a run logs it and writes it into its metrics, so a result says which data it saw.
    class_names: the label names, index = label, where the source has them (image folders).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    files: list[str]
    class_names: list[str] = field(default_factory=list)
    # integer ground-truth factors per example (n, k), for datasets generated from known factors
    factors_train: np.ndarray | None = None
    factors_test: np.ndarray | None = None
    factor_names: list[str] = field(default_factory=list)  # the columns of factors_*
    # a table's feature columns, in order: its rows are raw and load_arrays standardises them
    feature_names: list[str] = field(default_factory=list)

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(x_train, y_train, x_test, y_test)."""
        return self.x_train, self.y_train, self.x_test, self.y_test


class DataSource:
    @classmethod
    def read(cls, cfg, seed: int) -> Loaded:
        """The raw splits: images uint8 or float with a channel axis, rows of a table, int64
        labels; and what was read (or how it was generated)."""
        raise NotImplementedError

    @classmethod
    def check_memory(cls, cfg, seed: int, available: int | None = None) -> None:
        """Refuse, in one paragraph, data whose loading cannot fit in the memory available
        (aecli/data/footprint.py); nothing to check for data of known, small size."""

    @classmethod
    def class_names(cls, cfg) -> tuple[str, ...]:
        """Label names, index = label, where the source knows them and its files do not say."""
        return ()

    @classmethod
    def labels_mark_anomalies(cls, labels: list[int]) -> bool:
        """Whether these labels (every label present, sorted) are 0 = normal, nonzero =
        anomalous, so an anomaly run knows its normal label unasked."""
        return False

    @classmethod
    def labels_named(cls, cfg) -> str:
        """Where the labels come from, in a message."""
        return f"dataset={cfg.name.value}"

    @classmethod
    def validation_anomalies(cls, cfg, seed: int, count: int) -> np.ndarray | None:
        """`count` raw anomalies drawn apart from the test split's, for a labelled validation
        split; None: they are drawn from the training split's other labels, which never train."""
        return None

    @classmethod
    def preprocessing(cls, cfg, shape: list[int]) -> dict:
        """What `aecli predict` and `aecli export` must redo to a raw example beyond the shape,
        type and scale every source records (preprocessing.json); `shape`: an example's, as
        read."""
        return {}
