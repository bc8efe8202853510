"""`hparams_search=optuna`: a real Optuna study over aecli runs, minimising validation loss."""

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
