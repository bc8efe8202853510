"""`hparams_search=optuna` and `optuna_anomaly`: real Optuna studies over aecli runs, on validation
figures only."""

import json
import math
import os
import signal
import subprocess
import sys
import time

import yaml
from tensorboard.plugins.hparams import metadata
from tensorboard_events import read_events


def test_optuna_study_minimises_the_validation_loss_of_its_runs(aecli, tmp_path):
    result = aecli("train", "hparams_search=optuna", "hydra.sweeper.n_trials=3", "debug=tiny")
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = next((tmp_path / "outputs" / "train-multirun").iterdir())
    trials = _trials(sweep)
    # named by trial number and sampled values, as TensorBoard's run names
    assert [p.name.split("_")[0] for p in trials] == ["0", "1", "2"]
    assert all("trainer.learning_rate=" in p.name and ",beta=" in p.name for p in trials)
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
    assert f"Best value (val_loss, minimize): {results['best_value']}" in result.stdout

    # the summary: full precision and job order in the files, the best run marked
    summary = json.loads((sweep / "summary.json").read_text())
    assert [r["status"] for r in summary] == ["completed"] * 3
    assert [r["beta"] for r in summary] == [m["beta"] for m in metrics]
    assert [r["best"] for r in summary] == [v == min(val_losses) for v in val_losses]
    # the table: the objective a column, best first and marked, sampled values to 4 digits
    table = result.stdout[result.stdout.index("Best value (") :]
    assert "lowest val_loss first" in " ".join(table.split())  # the title, however it wraps
    rows = [
        line.split() for line in table.splitlines() if line.split()[:1] in (["0"], ["1"], ["2"])
    ]
    assert [int(row[0]) for row in rows] == sorted(range(3), key=val_losses.__getitem__)
    assert "val_loss" in table and "completed, best" in " ".join(rows[0])
    # (a trial's name wraps in its column at 80: its values are read off the whole table)
    assert f"beta={best['beta']:.4g}" in table and repr(best["beta"]) not in table
    assert "3 of 3 runs completed" in result.stdout
    # Optuna's figures instead of the grid's sweep_plot.png
    for figure in ("optimization_history.png", "param_importances.png"):
        assert (sweep / figure).read_bytes()[:4] == b"\x89PNG"
    assert not (sweep / "sweep_plot.png").exists()

    # HParams: every value the trial used, overridden or not, and the objective among the metrics
    session = read_events(trials[0] / "tensorboard" / "hparams")
    start = metadata.parse_session_start_info_plugin_data(
        session.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
    )
    hparams = dict(start.hparams)
    assert hparams["beta"].number_value == metrics[0]["beta"]
    assert hparams["trainer.batch_size"].number_value == 32  # the default, never overridden
    assert hparams["seed"].number_value == 0 and hparams["debug"].string_value == "tiny"
    assert {"val/loss", "test/elbo", "config"} <= set(session.Tags()["tensors"])


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
    # the objective named where the search reports it: Hydra's closing line and the table
    assert f"Best value (val_roc_auc, maximize): {results['best_value']}" in result.stdout
    assert "highest val_roc_auc first" in " ".join(result.stdout.split())
    assert set(results["best_params"]) == {
        "trainer.learning_rate",
        "model.latent_dim",
        "beta",
        "anomaly.score",
    }
    configs = [yaml.safe_load((p / ".hydra" / "config.yaml").read_text()) for p in trials]
    assert all(c["model"]["name"] == "vae" for c in configs)
    assert all(c["anomaly"]["objective"] == "val_roc_auc" for c in configs)


# the R1 command of issue 29: with this seed the TPE sampler's random start draws the diverging
# learning rate for some trials and 0.001 for others
_DIVERGING = [
    "hparams_search=optuna",
    "hydra.sweeper.n_trials=3",
    "trainer.learning_rate=choice(0.001,1000000000.0)",
    "hydra.sweeper.sampler.seed=2",
    "dataset=synthetic",
    "dataset.size=600",
    "trainer.epochs=1",
    "model.hidden_units=[32]",
    "trainer.batch_size=32",
]


def _trials(sweep):
    """A search's trial folders (`NUM_key=value,...`) in trial order."""
    return sorted(
        (p for p in sweep.iterdir() if (p / "status.json").exists()),
        key=lambda p: int(p.name.split("_")[0]),
    )


def test_a_diverging_trial_fails_alone_and_the_search_goes_on_to_its_summary(aecli, tmp_path):
    result = aecli("train", *_DIVERGING)
    # the search ran every trial, then exits 1 as any sweep with failed runs, naming them
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Values were told" not in result.stderr and "Traceback" not in result.stderr
    assert "float-castable" not in result.stdout + result.stderr
    sweep = next((tmp_path / "outputs" / "train-multirun").iterdir())
    trials = _trials(sweep)
    assert [p.name.split("_")[0] for p in trials] == ["0", "1", "2"]
    statuses = {}
    for trial in trials:
        status = json.loads((trial / "status.json").read_text())
        overrides = yaml.safe_load((trial / ".hydra" / "overrides.yaml").read_text())
        diverging = "trainer.learning_rate=1000000000.0" in overrides
        assert status["status"] == ("failed" if diverging else "completed"), status
        if diverging:
            assert status["error"].startswith("Training diverged")
        statuses[trial.name] = status["status"]
    failed = [name for name, status in statuses.items() if status == "failed"]
    assert failed and len(failed) < 3, statuses
    assert f"{len(failed)} of 3 runs did not complete" in result.stderr
    summary = json.loads((sweep / "summary.json").read_text())
    assert {r["run"]: r["status"] for r in summary} == statuses
    assert all(r["error"].startswith("Training diverged") for r in summary if r["run"] in failed)
    # Optuna's study kept the completed trials: its best is one of them, named in the summary
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["best_params"]["trainer.learning_rate"] == 0.001
    assert "Optuna's best trial: run " in result.stdout

    # `aecli summarize` rebuilds the summary of an Optuna sweep, which has no multirun.yaml
    assert not (sweep / "multirun.yaml").exists()
    (sweep / "summary.json").unlink()
    rebuilt = aecli("summarize", str(sweep))
    assert rebuilt.returncode == 1, rebuilt.stdout[-2000:] + rebuilt.stderr[-2000:]
    assert json.loads((sweep / "summary.json").read_text()) == summary
    assert "Optuna's best trial: run " in rebuilt.stdout
    assert f"{3 - len(failed)} of 3 runs completed" in rebuilt.stdout


def test_a_search_whose_every_trial_fails_ends_in_its_summary_not_a_usage_error(aecli, tmp_path):
    result = aecli(
        "train",
        *[arg for arg in _DIVERGING if "learning_rate" not in arg and "n_trials" not in arg],
        "hydra.sweeper.n_trials=2",
        "trainer.learning_rate=1000000000.0",
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "2 of 2 runs did not complete" in result.stderr
    # Optuna's "No trials are completed yet" is not blamed on the command line
    assert "--help" not in result.stderr and "Traceback" not in result.stderr
    sweep = next((tmp_path / "outputs" / "train-multirun").iterdir())
    summary = json.loads((sweep / "summary.json").read_text())
    assert [r["status"] for r in summary] == ["failed", "failed"]
    assert not (sweep / "optimization_results.yaml").exists()


_SMALL_SEARCH = [
    "hparams_search=optuna",
    "dataset=synthetic",
    "dataset.size=600",
    "trainer.epochs=1",
    "model.hidden_units=[32]",
    "trainer.batch_size=32",
]


def _kill_9_during_trial_1(cwd, *args):
    """Start `aecli train ARGS` and kill -9 it once its second trial has claimed its folder."""
    search = subprocess.Popen(
        [sys.executable, "-m", "aecli", "train", *args],
        cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not list(cwd.glob("outputs/train-multirun/*/1_*/status.json")):
        assert search.poll() is None, search.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the second trial never started"
        time.sleep(0.05)
    search.send_signal(signal.SIGKILL)
    search.wait()
    return next((cwd / "outputs" / "train-multirun").iterdir())


def _summarize_rebuilds_the_killed_search(aecli, sweep):
    """`aecli summarize` of an Optuna search killed during its second trial: the first
    completed, the second interrupted; and a folder no sweep made is refused, untouched."""
    assert not (sweep / "multirun.yaml").exists()
    assert not (sweep / "optimization_results.yaml").exists()
    result = aecli("summarize", str(sweep))
    # the killed trial did not complete: exit 1, as for any sweep with unfinished runs
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    summary = json.loads((sweep / "summary.json").read_text())
    assert [r["run"].split("_")[0] for r in summary] == ["0", "1"]
    assert [r["status"] for r in summary] == ["completed", "interrupted"]
    # the search space's keys are the swept columns, as multirun.yaml names them for a grid
    assert {"trainer.learning_rate", "model.latent_dim", "beta"} <= set(summary[0])
    assert "1 of 2 runs completed" in result.stdout

    # a folder no sweep made is still refused, and nothing is written into it
    run = sweep.parents[2] / "not-a-sweep"
    run.mkdir()
    refused = aecli("summarize", str(run))
    assert refused.returncode == 2 and "is not a sweep folder" in refused.stderr
    assert list(run.iterdir()) == []


def test_a_study_kept_in_sqlite_continues_after_kill_9_and_runs_no_trial_twice(aecli, tmp_path):
    """`hydra.sweeper.storage=sqlite:///...` works (SQLAlchemy below 2 with Optuna 2.10), and
    the same command continues the study with new trials: a seeded sampler would otherwise draw
    the killed search's trials again. Before it continues, `aecli summarize` rebuilds the killed
    search's summary."""
    import optuna

    search = [*_SMALL_SEARCH, "hydra.sweeper.storage=sqlite:///study.db"]
    killed = _kill_9_during_trial_1(tmp_path, *search, "hydra.sweeper.n_trials=3")
    _summarize_rebuilds_the_killed_search(aecli, killed)
    result = aecli("train", *search, "hydra.sweeper.n_trials=2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "continuing the Optuna study train of sqlite:///study.db: 2 earlier trials" in (
        result.stdout
    )
    (continued,) = set((tmp_path / "outputs" / "train-multirun").iterdir()) - {killed}

    study = optuna.load_study(study_name="train", storage=f"sqlite:///{tmp_path}/study.db")
    states = [trial.state for trial in study.trials]
    assert states[0] == optuna.trial.TrialState.COMPLETE
    assert states[1] == optuna.trial.TrialState.RUNNING  # the killed one: Optuna never heard
    assert states[2:] == [optuna.trial.TrialState.COMPLETE] * 2
    drawn = [tuple(sorted(trial.params.items())) for trial in study.trials]
    assert len(set(drawn)) == len(drawn), drawn

    # each new trial ran in the continued search's folder, with the parameters the study holds
    def params(trial):
        overrides = yaml.safe_load((trial / ".hydra" / "overrides.yaml").read_text())
        return {item.split("=")[0]: item.split("=")[1] for item in overrides}

    for folder, trial in zip(_trials(continued), study.trials[2:], strict=True):
        assert json.loads((folder / "status.json").read_text())["status"] == "completed"
        assert {key: str(value) for key, value in trial.params.items()}.items() <= params(
            folder
        ).items()
    assert params(_trials(killed)[0]) != params(_trials(continued)[0])
    # the trials' records name the seed the sampler used: 1234 moved on by the 2 earlier trials
    hydra = yaml.safe_load((_trials(continued)[0] / ".hydra" / "hydra.yaml").read_text())
    assert hydra["sweeper"]["sampler"]["seed"] == 1236
