"""`anomaly.threshold=f1_optimal`: tuned on labelled validation anomalies, never on test: the
tabular generators' own, or a one-class run's other training classes."""

import json

import numpy as np

from aecli.data import tabular
from aecli.evaluation.detection import f1_optimal_threshold
from aecli.evaluation.reload import load_run


def test_f1_optimal_threshold_is_tuned_on_labelled_validation_and_applied_to_test(aecli, tmp_path):
    run = tmp_path / "run"
    result = aecli(
        "anomaly",
        "dataset=network_traffic",
        "dataset.size=2000",
        "trainer.epochs=3",
        "anomaly.threshold=f1_optimal",
        f"hydra.run.dir={run}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((run / "anomaly.json").read_text())
    assert report["threshold_rule"] == "f1_optimal" and report["percentile"] is None
    # the validation split has the test split's share of anomalies
    test_share = report["test_anomalous"] / (report["test_anomalous"] + report["test_normal"])
    val_share = report["validation_anomalous"] / (
        report["validation_anomalous"] + report["validation_normal"]
    )
    assert abs(val_share - test_share) < 0.01
    assert report["recon"]["validation_f1"] > 0.9 and report["recon"]["f1"] > 0.9

    # the threshold is the one the labelled validation split gives, recomputed from the saved model
    reloaded = load_run(run)
    normal = reloaded.arrays.val.x
    raw, kinds = tabular.validation_anomalies(
        "network_traffic", 2000, seed=0, count=report["validation_anomalous"]
    )
    assert set(kinds) == {1, 2}  # DDoS and port scans both
    record = json.loads((run / "preprocessing.json").read_text())
    anomalies = ((raw - np.array(record["mean"])) / np.array(record["std"])).astype(np.float32)
    x = np.concatenate([normal, anomalies])
    labels = np.r_[np.zeros(len(normal), bool), np.ones(len(anomalies), bool)]
    threshold, _ = f1_optimal_threshold(labels, reloaded.model.anomaly_scores(x, 1)["recon"])
    assert np.isclose(report["recon"]["threshold"], threshold, rtol=1e-4)


def test_one_class_f1_optimal_tunes_on_the_training_splits_other_classes(aecli, tmp_path):
    """One-class images: the labelled validation anomalies are training-split examples of the
    other classes (never trained on, never test), at the test split's share of anomalies."""
    run = tmp_path / "run"
    result = aecli(
        "anomaly",
        "dataset=synthetic",
        "dataset.kind=shapes",
        "dataset.size=1500",
        "dataset.normal_class=1",
        "model.hidden_units=[32]",
        "trainer.epochs=2",
        "anomaly.threshold=f1_optimal",
        f"hydra.run.dir={run}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((run / "anomaly.json").read_text())
    assert report["normal_label"] == 1 and report["threshold_rule"] == "f1_optimal"
    test_share = report["test_anomalous"] / (report["test_anomalous"] + report["test_normal"])
    val_share = report["validation_anomalous"] / (
        report["validation_anomalous"] + report["validation_normal"]
    )
    assert abs(val_share - test_share) < 0.02

    reloaded = load_run(run)
    anomalies = reloaded.arrays.val_anomalies
    assert len(anomalies) == report["validation_anomalous"]
    x = np.concatenate([reloaded.arrays.val.x, anomalies])
    labels = np.r_[np.zeros(len(reloaded.arrays.val.x), bool), np.ones(len(anomalies), bool)]
    scores = reloaded.model.anomaly_scores(x, 1)["recon"]
    threshold, f1 = f1_optimal_threshold(labels, scores)
    assert np.isclose(report["recon"]["threshold"], threshold, rtol=1e-4)
    assert np.isclose(report["recon"]["validation_f1"], f1)
    metrics = json.loads((run / "metrics.json").read_text())
    assert np.isclose(metrics["val_roc_auc"], report["recon"]["validation_roc_auc"])


def test_labelled_validation_figures_on_a_set_without_anomalies_are_refused(aecli):
    for option in ("anomaly.threshold=f1_optimal", "anomaly.objective=val_roc_auc"):
        result = aecli("anomaly", "dataset=fashion_mnist", option)
        assert result.returncode == 2, option
        assert "has none: its validation split holds normal examples only" in result.stderr
        assert "dataset.normal_class=N" in result.stderr
        assert "Traceback" not in result.stderr
