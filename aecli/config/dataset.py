"""Dataset configs: a base for what every dataset shares, one subclass per kind of source.

Each YAML in conf/dataset/ pulls in the schema of its source, so a dataset accepts exactly its
own keys: `dataset=fashion_mnist dataset.kind=circle` is refused while composing. Each source's
class names itself in `source`, and aecli/data/registry.py maps the class to its reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import List, Optional

from omegaconf import MISSING

from aecli.config.checks import require, require_seed


class DatasetName(str, Enum):
    """The datasets aecli knows; recorded in metrics.json and shown by `aecli runs`."""

    mnist = "mnist"
    fashion_mnist = "fashion_mnist"
    cifar10 = "cifar10"
    synthetic = "synthetic"
    transactions = "transactions"
    network_traffic = "network_traffic"
    dsprites = "dsprites"
    image_folder = "image_folder"
    npz = "npz"
    csv = "csv"


class SyntheticKind(str, Enum):
    """The chapter's toy data: 4-D noisy circle, 20-D binary vectors, 28x28 shapes for conv
    models."""

    circle = "circle"
    binary = "binary"
    shapes = "shapes"


@dataclass
class BaseDatasetConfig:
    """What every dataset shares: its name, how many examples, and how they are split.

    source: which kind of source this config is (each class names its own): recorded in the
            run's config.yaml, so a saved run reloads as its source; not a setting (`dataset=`
            chooses it).
    name: which dataset (the option's name in conf/dataset/).
    limit: cap on training examples (null = all); validation is capped in proportion.
    test_limit: cap on test examples, a seeded random subset kept in file order (null = all);
                every test metric says how many it averaged over (`test_examples`).
    validation_fraction: share of the training split held out for validation.
    normal_class: train and validate on this label only, test on every label (one-class anomaly
                  detection); null = all labels.
    """

    source: str = ""
    name: DatasetName = MISSING
    limit: Optional[int] = None
    test_limit: Optional[int] = None
    validation_fraction: float = 0.1
    normal_class: Optional[int] = None

    def __post_init__(self) -> None:
        own = type(self).__dataclass_fields__["source"].default
        require(
            self.source == own,
            "dataset.source",
            self.source,
            f"{own!r}: it records the source of this dataset config; choose one with `dataset=`",
        )
        if self.limit is not None:
            require(self.limit >= 1, "dataset.limit", self.limit, "null (all) or an integer >= 1")
        if self.test_limit is not None:
            require(
                self.test_limit >= 1,
                "dataset.test_limit",
                self.test_limit,
                "null (all) or an integer >= 1",
            )
        require(
            0 < self.validation_fraction < 1,
            "dataset.validation_fraction",
            self.validation_fraction,
            "in (0, 1)",
        )

    def has_labelled_anomalies(self) -> bool:
        """Whether anomalies may be drawn for a labelled validation split without touching the
        test split: a one-class run's (`normal_class`) other labels never train; a source whose
        labels mark anomalies says so too (whether a CSV or .npz holds any is known once it is
        read: `anomaly.describe_splits`)."""
        return self.normal_class is not None


@dataclass
class FileDatasetConfig(BaseDatasetConfig):
    """A published dataset read from its original files (mnist, fashion_mnist, cifar10).

    data_dir: a folder holding the dataset's files in the Keras formats; when set, the files are
              read from there or the run fails naming the missing ones.
    download: fall back to the Keras download when no local files are found.
    """

    source: str = "published_files"
    data_dir: Optional[str] = None
    download: bool = True


@dataclass
class GeneratedDatasetConfig(BaseDatasetConfig):
    """Data generated in-process from the seed, so any model can run with no files.

    size: examples in all (synthetic: 80% train, the rest test); for the tabular anomaly sets
          (transactions, network_traffic) the normal rows, anomalies being added to the test split.
    """

    size: int = 6000

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.size >= 10, "dataset.size", self.size, "an integer >= 10")


@dataclass
class SyntheticConfig(GeneratedDatasetConfig):
    """The chapter's toy data (aecli/data/synthetic.py).

    kind: circle (4-D noisy circle) | binary (20-D binary vectors) | shapes (28x28 images).
    """

    source: str = "synthetic"
    kind: SyntheticKind = SyntheticKind.shapes


@dataclass
class TabularConfig(GeneratedDatasetConfig):
    """The chapter's tabular anomaly data (transactions, network_traffic; aecli/data/tabular.py):
    normal rows, with anomalies added to the test split and drawn apart for validation."""

    source: str = "tabular"

    def has_labelled_anomalies(self) -> bool:
        return True


class ColorMode(str, Enum):
    auto = "auto"
    grayscale = "grayscale"
    rgb = "rgb"


@dataclass
class UserFileDatasetConfig(BaseDatasetConfig):
    """The user's own file (npz, csv) or folder (image_folder), read without running any of it.

    path: the file or folder.
    test_fraction: share held out for testing (a seeded, stratified draw) when the data has no
                   test split of its own.
    split_seed: seed of that draw, apart from the run's seed, so every seed of a sweep is tested
                on the same examples.
    """

    path: str = MISSING
    test_fraction: float = 0.2
    split_seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            0 < self.test_fraction < 1, "dataset.test_fraction", self.test_fraction, "in (0, 1)"
        )
        require_seed("dataset.split_seed", self.split_seed)


@dataclass
class ImageFolderConfig(UserFileDatasetConfig):
    """One subfolder per class of PNG/JPEG images, decoded by Keras' directory loader.

    image_size: resize to image_size x image_size (null keeps the images' common size).
    color_mode: auto (grayscale when every image has one channel, else rgb), grayscale (1
                channel) or rgb (3).
    """

    source: str = "image_folder"
    image_size: Optional[int] = None
    color_mode: ColorMode = ColorMode.auto

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.image_size is not None:
            require(
                self.image_size >= 4,
                "dataset.image_size",
                self.image_size,
                "null (keep) or an integer >= 4",
            )


@dataclass
class CsvConfig(UserFileDatasetConfig):
    """A table with a header row; features standardised by the training rows.

    label_column: integer labels (nonzero = anomalous for `aecli anomaly`); null = unlabelled.
    columns: the feature columns (null = every column but the label).
    """

    source: str = "csv"
    label_column: Optional[str] = None
    columns: Optional[List[str]] = None

    def has_labelled_anomalies(self) -> bool:
        return self.label_column is not None or super().has_labelled_anomalies()


@dataclass
class NpzConfig(UserFileDatasetConfig):
    """An .npz archive of arrays (x_train; optionally y_train, x_test, y_test), read with
    allow_pickle off."""

    source: str = "npz"

    def has_labelled_anomalies(self) -> bool:
        return True


@dataclass
class DSpritesConfig(BaseDatasetConfig):
    """dSprites (Matthey et al. 2017): 2-D shapes from five known factors, for disentanglement.

    size: points drawn uniformly from the 737,280-image factor grid (null: the whole grid);
          80% train, the rest test.
    resolution: 64 (the original) or 32 (four times fewer pixels, for speed).
    data_dir: a folder holding the official dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz, read
              instead of the generator when set.
    """

    source: str = "dsprites"
    size: Optional[int] = 20000
    resolution: int = 64
    data_dir: Optional[str] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.size is not None:
            require(self.size >= 10, "dataset.size", self.size, "null (all) or an integer >= 10")
        require(self.resolution in (32, 64), "dataset.resolution", self.resolution, "32 or 64")
