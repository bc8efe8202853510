"""`hparams_search=optuna` and `optuna_anomaly`: real Optuna studies over aecli runs, on validation
figures only."""

import json
import math

import yaml

TINY = [
    "debug=smoke",
    "dataset=synthetic",
    "dataset.kind=circle",
    "dataset.size=600",
    "model.hidden_units=[16]",
]


def test_optuna_study_minimises_the_validation_loss_of_its_runs(aecli, tmp_path):
    result = aecli("train", "hparams_search=optuna", "hydra.sweeper.n_trials=3", *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = next((tmp_path / "outputs" / "train-multirun").iterdir())
    trials = sorted(p for p in sweep.iterdir() if (p / "metrics.json").exists())
    assert [p.name for p in trials] == ["0", "1", "2"]
    metrics = [json.loads((p / "metrics.json").read_text()) for p in trials]
    val_losses = [m["val_loss"] for m in metrics]
    assert all(math.isfinite(v) for v in val_losses)
    # the objective is validation loss, never a test metric
    assert all(m["val_loss"] != m["test_loss"] for m in metrics)

    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["best_value"] == min(val_losses)
    assert set(results["best_params"]) == {"trainer.learning_rate", "model.latent_dim", "beta"}
    best = metrics[val_losses.index(min(val_losses))]
    assert best["beta"] == results["best_params"]["beta"]

    summary = json.loads((sweep / "summary.json").read_text())
    assert [r["status"] for r in summary] == ["completed"] * 3
    assert "3 of 3 runs completed" in result.stdout


def test_anomaly_search_maximises_the_validation_roc_auc_and_searches_beta(aecli, tmp_path):
    """`aecli anomaly hparams_search=optuna_anomaly`: a VAE, beta and the score searched, the
    objective the ROC-AUC on labelled validation anomalies (never the test split's)."""
    result = aecli(
        "anomaly",
        "hparams_search=optuna_anomaly",
        "hydra.sweeper.n_trials=2",
        "dataset=network_traffic",
        "dataset.size=1500",
        "trainer.epochs=2",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = next((tmp_path / "outputs" / "anomaly-multirun").iterdir())
    trials = sorted(p for p in sweep.iterdir() if (p / "metrics.json").exists())
    metrics = [json.loads((p / "metrics.json").read_text()) for p in trials]
    assert len(metrics) == 2
    objective = [m["val_roc_auc"] for m in metrics]
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["best_value"] == max(objective)
    assert set(results["best_params"]) == {
        "trainer.learning_rate",
        "model.latent_dim",
        "beta",
        "anomaly.score",
    }
    configs = [yaml.safe_load((p / ".hydra" / "config.yaml").read_text()) for p in trials]
    assert all(c["model"]["name"] == "vae" for c in configs)
    assert all(c["anomaly"]["objective"] == "val_roc_auc" for c in configs)
