"""DATASETS maps every dataset option's config class to its source, and each source answers for
itself (its class names, whether its labels mark anomalies)."""

from pathlib import Path

import pytest

from aecli.config import dataset
from aecli.config.store import CONF_DIR
from aecli.config.validate import validate
from aecli.data.registry import DATASETS, source_of
from aecli.models import MODELS

OPTIONS = sorted(path.stem for path in (Path(CONF_DIR) / "dataset").glob("*.yaml"))


@pytest.mark.parametrize("option", OPTIONS)
def test_every_dataset_option_has_a_source(compose_train, option):
    path = ["dataset.path=/data/x"] if option in ("csv", "npz", "image_folder") else []
    cfg = validate(compose_train(f"dataset={option}", *path)).dataset
    assert type(cfg) in DATASETS


def test_each_config_class_records_a_source_and_each_model_a_family_of_its_own():
    sources = [kind.__dataclass_fields__["source"].default for kind in DATASETS]
    families = [kind.__dataclass_fields__["family"].default for kind in MODELS]
    assert "" not in sources and len(set(sources)) == len(sources)
    assert "" not in families and len(set(families)) == len(families)


def test_published_dsprites_and_synthetic_shapes_have_class_names():
    def names(cfg):
        return source_of(cfg).class_names(cfg)

    assert names(dataset.FileDatasetConfig(name=dataset.DatasetName.fashion_mnist))[9] == (
        "Ankle boot"
    )
    assert names(dataset.DSpritesConfig(name=dataset.DatasetName.dsprites)) == (
        "square",
        "ellipse",
        "heart",
    )
    shapes = dataset.SyntheticConfig(name=dataset.DatasetName.synthetic)
    assert names(shapes)[1] == "disc"
    circle = dataset.SyntheticConfig(
        name=dataset.DatasetName.synthetic, kind=dataset.SyntheticKind.circle
    )
    assert names(circle) == ()


def test_only_the_tabular_sets_and_the_users_0_1_labels_mark_anomalies_unasked():
    tabular = dataset.TabularConfig(name=dataset.DatasetName.transactions)
    csv = dataset.CsvConfig(name=dataset.DatasetName.csv, path="x.csv")
    mnist = dataset.FileDatasetConfig(name=dataset.DatasetName.mnist)
    assert source_of(tabular).labels_mark_anomalies([0, 1, 2])
    assert source_of(csv).labels_mark_anomalies([0, 1])
    assert not source_of(csv).labels_mark_anomalies([0, 1, 2])
    assert not source_of(mnist).labels_mark_anomalies([0, 1])
