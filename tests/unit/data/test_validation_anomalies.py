"""Anomalies for a labelled validation split, drawn apart from the test split."""

import numpy as np

from aecli.config.dataset import DatasetName, SyntheticConfig, SyntheticKind
from aecli.data import synthetic
from aecli.data.arrays import _scaled, validation_anomalies


def test_validation_anomalies_of_a_one_class_run_come_from_the_training_split():
    """Drawn from the other labels of the training split: no normal example, no test example."""

    cfg = SyntheticConfig(name=DatasetName.synthetic, kind=SyntheticKind.shapes, size=1500)
    cfg.normal_class = 2
    x_train, y_train, x_test, _ = synthetic.generate_shapes_with_factors(1500, 0)[:4]
    anomalies = validation_anomalies(cfg, seed=0, count=200)
    assert anomalies.shape == (200, *x_train.shape[1:]) and anomalies.dtype == np.float32
    labels_of = {row.tobytes(): y for row, y in zip(_scaled(x_train), y_train, strict=True)}
    # every one is a training image of another class (2 = the normal class, or not found)
    assert all(labels_of.get(row.tobytes(), 2) != 2 for row in anomalies)
    # seeded: the same draw for the run's seed, another for another seed
    assert np.array_equal(anomalies, validation_anomalies(cfg, seed=0, count=200))
    assert not np.array_equal(anomalies, validation_anomalies(cfg, seed=1, count=200))
    # more than the pool holds: all of it
    assert len(validation_anomalies(cfg, seed=0, count=10**6)) == int((y_train != 2).sum())
    cfg.normal_class = None
    assert validation_anomalies(cfg, seed=0, count=10) is None
