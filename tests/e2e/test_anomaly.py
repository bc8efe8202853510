"""`aecli anomaly`: the chapter's fraud detector and the one-class image protocol."""

import json

import numpy as np
import pytest

from aecli.evaluation.reload import load_run


def test_fraud_detector_separates_fraud_with_the_stated_percentile_threshold(aecli, tmp_path):
    run = tmp_path / "run"
    result = aecli(
        "anomaly",
        "dataset.size=3000",
        "trainer.epochs=5",
        "anomaly.percentile=90",
        f"hydra.run.dir={run}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((run / "anomaly.json").read_text())
    assert report["test_anomalous"] == 15 and report["test_normal"] == 600
    assert report["recon"]["roc_auc"] > 0.9 and report["recon"]["pr_auc"] > 0.5
    assert (run / "anomaly_scores.png").read_bytes()[:4] == b"\x89PNG"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test_roc_auc"] == report["recon"]["roc_auc"]

    # the scores `aecli anomaly` thresholds, from the reloaded networks
    from aecli.evaluation.reload import load_run

    reloaded = load_run(run)
    normal_val = reloaded.model.anomaly_scores(reloaded.arrays.val.x, 1)["recon"]
    assert report["recon"]["threshold"] == pytest.approx(np.percentile(normal_val, 90), rel=1e-4)
    confusion = report["recon"]["confusion"]
    assert confusion["true_positive"] + confusion["false_negative"] == 15


def test_vae_anomaly_reports_the_negative_elbo_score_too(aecli, tmp_path):
    result = aecli(
        "anomaly",
        "dataset=network_traffic",
        "dataset.size=2000",
        "model=vae",
        "trainer.epochs=3",
        "anomaly.score=neg_elbo",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "run" / "anomaly.json").read_text())
    assert (
        report["score"] == "neg_elbo" and report["neg_elbo"]["roc_auc"] > 0.9 and "recon" in report
    )


def test_one_class_sweep_reports_the_mean_roc_auc(aecli, tmp_path):
    result = aecli(
        "anomaly",
        "-m",
        "dataset=synthetic",
        "dataset.kind=shapes",
        "dataset.size=1500",
        "model.likelihood=bernoulli",
        "trainer.epochs=2",
        "dataset.normal_class=0,1",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = next((tmp_path / "outputs" / "anomaly-multirun").iterdir())
    # the classes are replicates: one group
    (group,) = json.loads((sweep / "aggregate.json").read_text())
    records = json.loads((sweep / "summary.json").read_text())
    assert group["n"] == 2
    mean = np.mean([r["test_roc_auc"] for r in records])
    assert group["test_roc_auc_mean"] == pytest.approx(mean)
    assert "mean ROC-AUC over 2 runs" in result.stdout


def test_neg_elbo_score_for_a_plain_autoencoder_is_refused(aecli, tmp_path):
    result = aecli("anomaly", "dataset.size=1000", "trainer.epochs=1", "anomaly.score=neg_elbo")
    assert result.returncode == 2 and "anomaly.score=neg_elbo needs a VAE" in result.stderr


def _sensor_table(path, normal=600, anomalies=30, labelled=True):
    """Readings ~ N(0, 1) per sensor, anomalies ~ N(3, 2^2), shuffled; `is_anomaly` 0/1."""
    rng = np.random.default_rng(1)
    x = np.r_[rng.normal(size=(normal, 6)), rng.normal(size=(anomalies, 6)) * 2 + 3]
    y = np.r_[np.zeros(normal, int), np.ones(anomalies, int)]
    order = rng.permutation(len(x))
    header = [f"s{i}" for i in range(6)] + (["is_anomaly"] if labelled else [])
    lines = [",".join(header)]
    for row, label in zip(x[order], y[order], strict=True):
        lines.append(",".join(f"{v:.5f}" for v in row) + (f",{label}" if labelled else ""))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_labelled_csv_detector_trains_on_normal_rows_only(aecli, tmp_path):
    """The issue's case: a CSV with a 0/1 label column. Training and the threshold's validation
    scores see normal rows only; the run line and metrics.json say where each row went."""
    table = _sensor_table(tmp_path / "sensors.csv")
    run = tmp_path / "run"
    result = aecli(
        "anomaly",
        "dataset=csv",
        f"dataset.path={table}",
        "dataset.label_column=is_anomaly",
        "trainer.epochs=2",
        f"hydra.run.dir={run}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # 20% of each label tested: 120 + 6; the other 480 normal rows split 90/10
    assert "normal label 0: train 432 normal · val 48 normal + 2 anomalies · test 120 + 6" in (
        result.stdout
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["train_examples"] == 432
    assert metrics["split_counts"] == {
        "labelled": True,
        "train_normal": 432,
        "val_normal": 48,
        "val_anomalous": 2,
        "test_normal": 120,
        "test_anomalous": 6,
        "anomalies_left_out": 22,
    }
    # the percentile threshold is of the normal validation rows' scores, recomputed
    reloaded = load_run(run)
    assert set(reloaded.arrays.train.y.tolist()) == set(reloaded.arrays.val.y.tolist()) == {0}
    scores = reloaded.model.anomaly_scores(reloaded.arrays.val.x, 1)["recon"]
    report = json.loads((run / "anomaly.json").read_text())
    assert np.isclose(report["recon"]["threshold"], np.percentile(scores, 95), rtol=1e-5)


def test_unlabelled_rows_flag_at_the_known_contamination(aecli, tmp_path):
    table = _sensor_table(tmp_path / "sensors.csv", labelled=False)
    run = tmp_path / "run"
    result = aecli(
        "anomaly",
        "dataset=csv",
        f"dataset.path={table}",
        "trainer.epochs=2",
        "anomaly.threshold=contamination",
        "anomaly.contamination=0.05",
        f"hydra.run.dir={run}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "unlabelled: train 454 · val 50 · test 126" in result.stdout
    assert "the 0.95 quantile of validation scores (contamination 0.05)" in result.stdout
    report = json.loads((run / "anomaly.json").read_text())
    assert report["normal_label"] is None and report["recon"]["roc_auc"] is None
    reloaded = load_run(run)
    val = reloaded.model.anomaly_scores(reloaded.arrays.val.x, 1)["recon"]
    test = reloaded.model.anomaly_scores(reloaded.arrays.test.x, 1)["recon"]
    assert np.isclose(report["recon"]["threshold"], np.quantile(val, 0.95), rtol=1e-5)
    assert report["recon"]["flagged"] == int((test > report["recon"]["threshold"]).sum())


def test_a_many_class_dataset_without_a_normal_class_is_refused(aecli, tmp_path):
    result = aecli(
        "anomaly", "dataset=synthetic", "dataset.kind=shapes", "dataset.size=600", cwd=tmp_path
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Which label is normal is ambiguous" in result.stderr
    assert "dataset.normal_class=N" in result.stderr
    assert not list(tmp_path.rglob("encoder.keras"))
