"""An anomaly run's splits: normal examples train, labelled anomalies never do."""

import csv

import numpy as np
import pytest

from aecli.config.dataset import (
    CsvConfig,
    DatasetName,
    SyntheticConfig,
    SyntheticKind,
    TabularConfig,
)
from aecli.data import load_arrays, synthetic, tabular
from aecli.data.arrays import _scaled
from aecli.errors import ConfigError


def _sensors(path, normal=400, anomalies=40, labels=(1,)):
    """`row` = the row number (traceable), `s` a reading: normal ~ N(0, 1), anomalies ~ N(8, 1);
    every 11th row is an anomaly until `anomalies` are written, cycling through `labels`."""
    rng = np.random.default_rng(0)
    rows, written = [], 0
    for i in range(normal + anomalies):
        anomalous = written < anomalies and i % 11 == 0
        label = labels[written % len(labels)] if anomalous else 0
        written += anomalous
        rows.append([i, rng.normal() + 8 * anomalous, label])
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["row", "s", "label"])
        writer.writerows(rows)
    return path


def _csv_cfg(path, **keys):
    return CsvConfig(name=DatasetName.csv, path=str(path), label_column="label", **keys)


def _rows(split_x, arrays):
    """The row numbers of a split's examples (column `row`, standardised back)."""
    mean, std = arrays.preprocessing["mean"][0], arrays.preprocessing["std"][0]
    return set(np.rint(split_x[:, 0] * std + mean).astype(int).tolist())


def test_a_labelled_csv_anomaly_run_never_trains_on_its_anomalies(tmp_path):
    path = _sensors(tmp_path / "sensors.csv")
    arrays = load_arrays(_csv_cfg(path), seed=0, anomaly=True)
    assert arrays.normal_label == 0
    anomalous_rows = {i for i in range(440) if i % 11 == 0 and i // 11 < 40}
    assert not _rows(arrays.train.x, arrays) & anomalous_rows
    assert not _rows(arrays.val.x, arrays) & anomalous_rows
    assert set(arrays.train.y.tolist()) == set(arrays.val.y.tolist()) == {0}
    # the labelled validation anomalies are training-split anomalies, never test rows
    assert _rows(arrays.val_anomalies, arrays) <= anomalous_rows - _rows(arrays.test.x, arrays)
    counts = arrays.split_counts()
    assert counts["test_anomalous"] == 8 and counts["test_normal"] == 80  # 20% of each label
    assert counts["train_normal"] + counts["val_normal"] == 320
    assert counts["val_anomalous"] + counts["anomalies_left_out"] == 32
    # at the test split's share of anomalies: 8 / 88 of the validation split
    share = counts["val_anomalous"] / (counts["val_anomalous"] + counts["val_normal"])
    assert abs(share - 8 / 88) < 0.02
    # standardised by the normal training rows alone: the anomalies' +8 does not move the mean
    train = np.concatenate([arrays.train.x, arrays.val.x])
    np.testing.assert_allclose(train[:, 1].mean(), 0, atol=1e-5)
    assert abs(arrays.preprocessing["mean"][1]) < 0.3  # with the anomalies it would be ~0.7


def test_the_same_csv_in_a_plain_training_run_keeps_every_row(tmp_path):
    path = _sensors(tmp_path / "sensors.csv")
    arrays = load_arrays(_csv_cfg(path), seed=0)
    assert set(np.concatenate([arrays.train.y, arrays.val.y]).tolist()) == {0, 1}
    assert arrays.normal_label is None and arrays.val_anomalies is None


@pytest.mark.parametrize("labels", [(1, 2), (2,)])
def test_ambiguous_labels_are_refused_naming_normal_class(tmp_path, labels):
    path = _sensors(tmp_path / "sensors.csv", labels=labels)
    with pytest.raises(ConfigError) as refused:
        load_arrays(_csv_cfg(path), seed=0, anomaly=True)
    message = str(refused.value)
    assert "ambiguous" in message and "dataset.normal_class=N" in message
    assert "'label'" in message  # the column it read
    # naming the normal label settles it: every other label is an anomaly
    arrays = load_arrays(_csv_cfg(path, normal_class=0), seed=0, anomaly=True)
    assert arrays.normal_label == 0 and arrays.split_counts()["test_anomalous"] == 8


def test_a_many_class_dataset_needs_its_normal_class_named():
    cfg = SyntheticConfig(name=DatasetName.synthetic, kind=SyntheticKind.shapes, size=600)
    with pytest.raises(ConfigError, match=r"holds 6 labels \(0 = square, 1 = disc"):
        load_arrays(cfg, seed=0, anomaly=True)


def test_unlabelled_data_trains_on_every_row(tmp_path):
    path = _sensors(tmp_path / "sensors.csv")
    cfg = CsvConfig(name=DatasetName.csv, path=str(path), columns=["s"])
    arrays = load_arrays(cfg, seed=0, anomaly=True)
    assert arrays.normal_label is None and arrays.val_anomalies is None
    counts = arrays.split_counts()
    assert not counts["labelled"] and counts["test_anomalous"] == 0
    assert counts["train_normal"] + counts["val_normal"] + counts["test_normal"] == 440


def test_validation_anomalies_of_a_one_class_run_come_from_the_training_split():
    """Drawn from the other labels of the training split: no normal example, no test example."""
    cfg = SyntheticConfig(
        name=DatasetName.synthetic, kind=SyntheticKind.shapes, size=1500, normal_class=2
    )
    x_train, y_train, x_test, _ = synthetic.generate_shapes_with_factors(1500, 0)[:4]
    arrays = load_arrays(cfg, seed=0, anomaly=True)
    anomalies = arrays.val_anomalies
    assert anomalies.dtype == np.float32 and anomalies.shape[1:] == x_train.shape[1:]
    labels_of = {row.tobytes(): y for row, y in zip(_scaled(x_train), y_train, strict=True)}
    # every one is a training image of another class (2 = the normal class, or not found)
    assert all(labels_of.get(row.tobytes(), 2) != 2 for row in anomalies)
    # seeded: the same draw for the run's seed, another for another seed
    assert np.array_equal(anomalies, load_arrays(cfg, seed=0, anomaly=True).val_anomalies)
    assert not np.array_equal(anomalies, load_arrays(cfg, seed=1, anomaly=True).val_anomalies)
    counts = arrays.split_counts()
    assert counts["val_anomalous"] + counts["anomalies_left_out"] == int((y_train != 2).sum())
    # a plain training run with normal_class trains on that class and draws no anomalies
    assert load_arrays(cfg, seed=0).val_anomalies is None


@pytest.mark.parametrize("kind", list(tabular.GENERATORS))
def test_generated_tables_are_standardised_by_their_normal_training_rows(kind):
    cfg = TabularConfig(name=DatasetName(kind), size=4000)
    arrays = load_arrays(cfg, seed=0, anomaly=True)
    x_train, _, _, _ = tabular.generate(kind, 4000, seed=0)
    np.testing.assert_allclose(arrays.preprocessing["mean"], x_train.mean(axis=0))
    np.testing.assert_allclose(arrays.preprocessing["std"], x_train.std(axis=0))
    assert arrays.preprocessing["columns"] == tabular.column_names(kind)
    assert len(arrays.preprocessing["columns"]) == arrays.input_shape[0]
    # the validation anomalies are fresh draws, standardised like the test split
    raw, _ = tabular.validation_anomalies(kind, 4000, seed=0, count=len(arrays.val_anomalies))
    mean, std = np.array(arrays.preprocessing["mean"]), np.array(arrays.preprocessing["std"])
    np.testing.assert_allclose(arrays.val_anomalies, (raw - mean) / std, rtol=1e-5, atol=1e-5)
    assert arrays.split_counts()["anomalies_left_out"] == 0


def test_normal_class_keeps_one_label_for_training_and_all_for_test():
    cfg = SyntheticConfig(
        name=DatasetName.synthetic, kind=SyntheticKind.shapes, size=1200, normal_class=3
    )
    arrays = load_arrays(cfg, seed=0)
    assert set(arrays.train.y.tolist()) == {3} and set(arrays.val.y.tolist()) == {3}
    assert set(arrays.test.y.tolist()) == set(range(6))
