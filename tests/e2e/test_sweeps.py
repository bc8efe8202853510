"""Sweeps as a user runs them: Hydra multirun, the summary, launchers, `aecli runs`, and the
TensorBoard server."""

import csv
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aecli_process
import numpy as np
import pytest
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard_events import read_events

_SMALL = ["debug=tiny", "dataset.size=600"]
TINY = [*_SMALL, "model.latent_dim=3"]
# 2-D codes add the sweep's latent scatter (and its cost: each run is reloaded), so only where it
# is checked
TINY_2D = [*_SMALL, "model.latent_dim=2"]


def _sweep_dir(root: Path) -> Path:
    sweeps = list((root / "outputs" / "train-multirun").iterdir())
    assert len(sweeps) == 1, sweeps
    return sweeps[0]


@pytest.fixture(scope="module")
def beta_sweep(tmp_path_factory):
    """A three-run beta sweep on synthetic data, run once for the tests that inspect it."""
    root = tmp_path_factory.mktemp("sweep")
    result = aecli_process.run("train", "-m", *TINY_2D, "beta=0.5,2,8", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root, result


def test_beta_sweep_writes_one_run_per_value_and_a_summary(beta_sweep):
    root, result = beta_sweep
    sweep = _sweep_dir(root)
    assert sorted(p.name for p in sweep.iterdir() if (p / "metrics.json").exists()) == [
        "0_beta=0.5",
        "1_beta=2",
        "2_beta=8",
    ]  # number, swept values: TensorBoard's run names
    records = json.loads((sweep / "summary.json").read_text())
    assert [r["beta"] for r in records] == [0.5, 2.0, 8.0]
    assert all(r["status"] == "completed" for r in records)
    for key in ("test_recon_mse", "test_kl", "test_elbo", "active_units", "test_psnr_db"):
        assert all(math.isfinite(r[key]) for r in records), key
    with (sweep / "summary.csv").open() as stream:
        assert len(list(csv.DictReader(stream))) == 3
    assert (sweep / "sweep_plot.png").read_bytes()[:4] == b"\x89PNG"
    assert (sweep / "latent_scatter.png").read_bytes()[
        :4
    ] == b"\x89PNG"  # 2-D codes: one panel per beta
    assert "beta=0.5" in result.stdout and "3 of 3 runs completed" in result.stdout


def test_a_sweep_over_seeds_reports_the_mean_and_std_of_each_beta(aecli, tmp_path):
    result = aecli("train", "-m", *TINY, "beta=1,4", "seed=0,1")
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = _sweep_dir(tmp_path)
    records = json.loads((sweep / "summary.json").read_text())
    metrics = {
        r["run"]: json.loads((sweep / r["run"] / "metrics.json").read_text()) for r in records
    }
    with (sweep / "aggregate.csv").open() as stream:
        groups = list(csv.DictReader(stream))
    assert [(float(g["beta"]), int(g["n"])) for g in groups] == [(1.0, 2), (4.0, 2)]
    assert "seed" not in groups[0]
    for group in groups:
        runs = [metrics[r["run"]] for r in records if r["beta"] == float(group["beta"])]
        for metric in ("test_recon_mse", "test_kl", "test_elbo"):
            values = [run[metric] for run in runs]
            assert float(group[f"{metric}_mean"]) == pytest.approx(np.mean(values)), metric
            assert float(group[f"{metric}_std"]) == pytest.approx(np.std(values, ddof=1)), metric
    assert not (sweep / "means.json").exists()
    assert "mean ± std (ddof=1) over seed" in result.stdout


def test_sweep_records_hparams_that_tensorboard_reads(beta_sweep):
    sweep = _sweep_dir(beta_sweep[0])
    session = read_events(sweep / "1_beta=2" / "tensorboard" / "hparams")
    tags = set(session.Tags()["tensors"])
    assert {
        "_hparams_/session_start_info",
        "_hparams_/session_end_info",
        "test/recon_mse",
        "test/kl",
    } <= tags
    start = hparams_metadata.parse_session_start_info_plugin_data(
        session.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
    )
    hparams = dict(start.hparams)
    assert hparams["beta"].number_value == 2.0
    # values the sweep did not vary: set once for all its runs, or never overridden
    assert hparams["model.latent_dim"].number_value == 2 and hparams["seed"].number_value == 0
    assert hparams["model"].string_value == "vae" and "val/loss" in tags
    # unique across sweeps: TensorBoard averages a shared group
    assert start.group_name == f"{sweep.name}/1_beta=2"


def test_a_failing_run_does_not_stop_the_sweep(aecli, tmp_path):
    result = aecli("train", "-m", *TINY, "trainer.batch_size=32,4096,16")
    assert result.returncode == 1
    sweep = _sweep_dir(tmp_path)
    records = json.loads((sweep / "summary.json").read_text())
    assert [r["status"] for r in records] == ["completed", "failed", "completed"]
    assert records[1]["error"].startswith("trainer.batch_size=4096 is larger than the training set")
    assert (
        records[1]["trainer.batch_size"] == 4096
    )  # the swept value is kept though the run wrote no metrics
    status = json.loads((sweep / "1_trainer.batch_size=4096" / "status.json").read_text())
    assert status["status"] == "failed"
    assert "1 of 3 runs did not complete" in result.stderr and "Traceback" not in result.stderr


def test_ctrl_c_stops_the_whole_sweep_and_summarizes_what_ran(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    sweep = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aecli",
            "train",
            "-m",
            *TINY,
            "dataset.size=4000",
            "trainer.epochs=30",
            "seed=1,2",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("outputs/train-multirun/*/0_seed=1/checkpoints/last.weights.h5")):
        assert sweep.poll() is None, sweep.communicate()
        assert time.monotonic() < deadline, "the first job never saved a checkpoint"
        time.sleep(0.05)
    sweep.send_signal(signal.SIGINT)
    _, stderr = sweep.communicate(timeout=120)
    assert sweep.returncode == 130
    folder = _sweep_dir(tmp_path)
    assert not list(folder.glob("1_*")), "the job after the stopped one ran"
    assert [r["status"] for r in json.loads((folder / "summary.json").read_text())] == [
        "interrupted"
    ]
    assert f"aecli resume {folder / '0_seed=1'}" in stderr and "Traceback" not in stderr


def test_joblib_launcher_runs_two_jobs_with_divided_threads(aecli, tmp_path):
    result = aecli(
        "train", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *TINY, "seed=1,2"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = _sweep_dir(tmp_path)
    assert [r["status"] for r in json.loads((sweep / "summary.json").read_text())] == [
        "completed"
    ] * 2
    config = (sweep / "0_seed=1" / ".hydra" / "config.yaml").read_text()
    assert f"intra_op_threads: {max(1, (os.cpu_count() or 1) // 2)}" in config


def test_summarize_rebuilds_and_runs_lists_newest_first(beta_sweep, aecli):
    root, _ = beta_sweep
    sweep = _sweep_dir(root)
    (sweep / "summary.csv").unlink()
    # a relative folder, as a user types it from inside the sweep's parent
    summary = aecli("summarize", sweep.name, cwd=sweep.parent)
    assert summary.returncode == 0 and f"3 runs in {sweep.name}/" in summary.stdout
    assert (sweep / "summary.csv").exists()
    # replaced, not appended to
    assert len(list((sweep / "0_beta=0.5" / "tensorboard" / "hparams").iterdir())) == 1
    listing = aecli("runs", str(root / "outputs"))
    assert (
        listing.returncode == 0
        and "3 runs under" in listing.stdout
        and "completed" in listing.stdout
    )
    # newest first (the folder column folds long paths, so look for the job folders' own names)
    assert listing.stdout.index("2_beta=") < listing.stdout.index("0_beta=")


def _finished_sweep(folder: Path, key: str, values: list[float]) -> None:
    """A sweep's files as its runs leave them, without training (for what only reads them)."""
    for job, value in enumerate(values):
        run = folder / str(job)
        (run / ".hydra").mkdir(parents=True)
        (run / ".hydra" / "overrides.yaml").write_text(f"- {key}={value}\n")
        (run / "metrics.json").write_text(
            json.dumps({"test_recon_mse": 0.1 * value, "test_kl": value})
        )
    from aecli.sweeps.summary import summarize

    summarize(folder)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _post(url: str, body: dict):
    request = urllib.request.Request(
        url,
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_tensorboard_server_serves_runs_scalars_images_and_hparams(beta_sweep, tmp_path):
    beta = _sweep_dir(beta_sweep[0])
    shutil.copytree(beta, tmp_path / "outputs" / "train-multirun" / beta.name)
    _finished_sweep(tmp_path / "outputs" / "train-multirun" / "seeds", "seed", [1, 2])
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aecli",
            "tensorboard",
            str(tmp_path / "outputs"),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    groups_query = {
        "experimentName": "",
        "startIndex": 0,
        "sliceSize": 100,
        "colParams": [],
        "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
    }
    try:
        deadline = time.monotonic() + 90
        while True:  # the server loads the folder in the background: ask until everything is there
            try:
                runs = _get(f"{base}/data/runs")
                groups = _post(f"{base}/data/plugin/hparams/session_groups", groups_query)[
                    "sessionGroups"
                ]
                sessions = sum(len(group["sessions"]) for group in groups)
                last = f"train-multirun/{beta.name}/2_beta=8/tensorboard/train"
                if last in runs and sessions == 5:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (
                "TensorBoard did not come up"
            )
            time.sleep(0.5)
        scalars = _get(f"{base}/data/plugin/scalars/tags")
        first = next(r for r in scalars if r.endswith("0_beta=0.5/tensorboard/train"))
        assert {"epoch_loss", "epoch_kl"} <= set(scalars[first])
        images = _get(f"{base}/data/plugin/images/tags")
        grids = next(r for r in images if r.endswith("0_beta=0.5/tensorboard/images"))
        assert "prior_samples" in images[grids]
        # both sweeps' hyperparameters, and one session group per run, not one per job number
        experiment = _post(f"{base}/data/plugin/hparams/experiment", {"experimentName": ""})
        names = {info["name"] for info in experiment["hparamInfos"]}
        assert {"beta", "seed", "model.beta", "model.latent_dim", "trainer.learning_rate"} <= names
        by_name = {group["name"]: group for group in groups}
        used = by_name[f"{beta.name}/1_beta=2"]["hparams"]
        assert used["model.latent_dim"] == 2 and used["seed"] == 0  # neither swept
        # the run's config as YAML in the TEXT tab
        texts = _get(f"{base}/data/plugin/text/tags")
        hparams_run = next(r for r in texts if r.endswith("1_beta=2/tensorboard/hparams"))
        assert "config" in texts[hparams_run]
        assert {"test/recon_mse", "test/kl"} <= {
            info["name"]["tag"] for info in experiment["metricInfos"]
        }
        assert sorted(group["name"] for group in groups) == [
            f"{beta.name}/0_beta=0.5",
            f"{beta.name}/1_beta=2",
            f"{beta.name}/2_beta=8",
            "seeds/0",
            "seeds/1",
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_submitit_local_launcher_completes_a_sweep(aecli, tmp_path):
    result = aecli(
        "train",
        "-m",
        "hydra/launcher=submitit_local",
        "hydra.launcher.cpus_per_task=1",
        *TINY,
        "seed=1,2",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = _sweep_dir(tmp_path)
    records = json.loads((sweep / "summary.json").read_text())
    assert [r["status"] for r in records] == ["completed", "completed"]
    assert "intra_op_threads: 1" in (sweep / "0_seed=1" / ".hydra" / "config.yaml").read_text()
