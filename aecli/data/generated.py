"""The sources generated from the seed: the chapter's toy data (synthetic), its tabular anomaly
sets, and dSprites (also read from its official file)."""

from pathlib import Path

import numpy as np

from aecli.data import dsprites, footprint, synthetic, tabular
from aecli.data.datasource import DataSource, Loaded

GENERATED = "generated from the seed"
SHAPE_NAMES = ("square", "disc", "horizontal bar", "vertical bar", "plus", "triangle")


class Synthetic(DataSource):
    """kind=shapes carries its generating factors (shape, size, row, column)."""

    @classmethod
    def read(cls, cfg, seed: int) -> Loaded:
        if cfg.kind.value != "shapes":
            return Loaded(*synthetic.generate(cfg.kind.value, cfg.size, seed), [GENERATED])
        *splits, factors_train, factors_test = synthetic.generate_shapes_with_factors(
            cfg.size, seed
        )
        return Loaded(
            *splits,
            [GENERATED],
            factors_train=factors_train,
            factors_test=factors_test,
            factor_names=list(synthetic.SHAPES_FACTOR_NAMES),
        )

    @classmethod
    def check_memory(cls, cfg, seed: int, available: int | None = None) -> None:
        footprint.check_generated(
            cfg,
            cfg.size,
            synthetic.generate(cfg.kind.value, footprint.PROBE, seed),
            "Lower dataset.size (every example is generated before dataset.limit picks some).",
            available,
        )

    @classmethod
    def class_names(cls, cfg) -> tuple[str, ...]:
        return SHAPE_NAMES if cfg.kind.value == "shapes" else ()


class Tabular(DataSource):
    """Normal rows to train on (label 0); the test split's anomalies and the validation ones are
    drawn apart, so an anomaly run always has labelled validation anomalies."""

    @classmethod
    def read(cls, cfg, seed: int) -> Loaded:
        name = cfg.name.value
        return Loaded(
            *tabular.generate(name, cfg.size, seed),
            [GENERATED],
            feature_names=tabular.column_names(name),
        )

    @classmethod
    def check_memory(cls, cfg, seed: int, available: int | None = None) -> None:
        probe = tabular.generate(cfg.name.value, footprint.PROBE, seed)
        footprint.check_generated(cfg, cfg.size, probe, "Lower dataset.size.", available)

    @classmethod
    def labels_mark_anomalies(cls, labels: list[int]) -> bool:
        return True

    @classmethod
    def validation_anomalies(cls, cfg, seed: int, count: int) -> np.ndarray:
        return tabular.validation_anomalies(cfg.name.value, cfg.size, seed, count=count)[0]


class DSprites(DataSource):
    """The official file when dataset.data_dir holds it, else the equivalent generator; `size`
    points drawn uniformly from the grid (null: all 737,280), 80% train, labels = shape."""

    @classmethod
    def read(cls, cfg, seed: int) -> Loaded:
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
        if images.dtype == np.uint8:  # binary 0/1 as 8-bit pixels 0/255, scaled like every set
            images *= np.uint8(255)
        n_train = int(0.8 * len(images))
        return Loaded(
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

    @classmethod
    def check_memory(cls, cfg, seed: int, available: int | None = None) -> None:
        footprint.check_generated(
            cfg,
            cfg.size or dsprites.NUM_IMAGES,
            dsprites.generate(footprint.PROBE, seed, cfg.resolution),
            f"Lower dataset.size (null is the whole grid of {dsprites.NUM_IMAGES:,} images), or "
            "use dataset.resolution=32 (a quarter of the pixels).",
            available,
        )

    @classmethod
    def class_names(cls, cfg) -> tuple[str, ...]:
        return dsprites.SHAPE_NAMES
