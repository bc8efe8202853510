"""Choosing an anomaly threshold: the F1-optimal one, and the labelled validation it is tuned on."""

import numpy as np
import pytest

from aecli.data import tabular
from aecli.evaluation.detection import detection_metrics, f1_optimal_threshold


def _f1(anomalous, score, threshold):
    return detection_metrics(anomalous, score, threshold)["f1"]


def test_f1_optimal_threshold_matches_the_best_of_every_cut_and_flags_the_same_way():
    rng = np.random.default_rng(0)
    anomalous = np.r_[np.zeros(200, bool), np.ones(20, bool)]
    score = np.r_[rng.normal(0, 1, 200), rng.normal(2.5, 1, 20)]
    threshold, f1 = f1_optimal_threshold(anomalous, score)
    # brute force over every cut between consecutive distinct scores, flagging `score > cut`
    cuts = np.sort(np.unique(score))
    best = max(_f1(anomalous, score, cut) for cut in np.r_[cuts[0] - 1, cuts])
    assert f1 == pytest.approx(best)
    assert _f1(anomalous, score, threshold) == pytest.approx(best)


def test_f1_optimal_threshold_separates_separable_scores_perfectly():
    anomalous = np.array([False, False, False, True, True])
    score = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    threshold, f1 = f1_optimal_threshold(anomalous, score)
    assert f1 == 1.0 and 0.3 < threshold < 0.8


@pytest.mark.parametrize("kind", list(tabular.GENERATORS))
def test_validation_anomalies_are_fresh_draws_like_the_test_anomalies(kind):
    x_train, _, x_test, y_test = tabular.generate(kind, 20000, seed=0)
    x_val, y_val = tabular.validation_anomalies(kind, 20000, seed=0)
    test_anomalies = x_test[y_test != 0]
    assert len(x_val) == len(test_anomalies) and set(y_val) == set(y_test[y_test != 0])
    # no row is shared with the test split
    assert not (x_val[:, None, :] == test_anomalies[None, :, :]).all(axis=2).any()
    # the same distribution: each feature's median agrees within half the anomalies' spread,
    # and sits far from the normal training rows' median (in their own standard deviations)
    spread = test_anomalies.std(axis=0)
    assert (np.abs(np.median(x_val, axis=0) - np.median(test_anomalies, axis=0)) < spread / 2).all()
    distance = (np.median(x_val, axis=0) - np.median(x_train, axis=0)) / x_train.std(axis=0)
    assert np.abs(distance).mean() > 1.0
