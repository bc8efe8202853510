"""`aecli anomaly`: the chapter's fraud detector and the one-class image protocol."""

import json

import numpy as np
import pytest

from aecli.config.dataset import DatasetName, SyntheticConfig, SyntheticKind
from aecli.data import load_arrays


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


def test_normal_class_keeps_one_label_for_training_and_all_for_test():
    cfg = SyntheticConfig(
        name=DatasetName.synthetic, kind=SyntheticKind.shapes, size=1200, normal_class=3
    )
    arrays = load_arrays(cfg, seed=0)
    assert set(arrays.train.y.tolist()) == {3} and set(arrays.val.y.tolist()) == {3}
    assert set(arrays.test.y.tolist()) == set(range(6))


def test_neg_elbo_score_for_a_plain_autoencoder_is_refused(aecli, tmp_path):
    result = aecli("anomaly", "dataset.size=1000", "trainer.epochs=1", "anomaly.score=neg_elbo")
    assert result.returncode == 2 and "anomaly.score=neg_elbo needs a VAE" in result.stderr
