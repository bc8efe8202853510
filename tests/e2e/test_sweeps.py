"""Sweeps as a user runs them: Hydra multirun, the summary, launchers, `aecli runs`, and the TensorBoard server."""

import csv
import json
import math
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tensorboard_events import read_events

TINY = ["dataset=synthetic", "dataset.size=600", "model.hidden_units=[16]", "model.latent_dim=2",
        "trainer.epochs=1", "trainer.batch_size=32"]


def _sweep_dir(root: Path) -> Path:
    sweeps = list((root / "outputs" / "train-multirun").iterdir())
    assert len(sweeps) == 1, sweeps
    return sweeps[0]


@pytest.fixture(scope="module")
def beta_sweep(tmp_path_factory):
    """A three-run beta sweep on synthetic data, run once for the tests that inspect it."""
    root = tmp_path_factory.mktemp("sweep")
    result = subprocess.run([sys.executable, "-m", "aecli", "train", "-m", *TINY, "beta=0.5,2,8"], cwd=root,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return root, result


def test_beta_sweep_writes_one_run_per_value_and_a_summary(beta_sweep):
    root, result = beta_sweep
    sweep = _sweep_dir(root)
    assert sorted(p.name for p in sweep.iterdir() if (p / "metrics.json").exists()) == ["0", "1", "2"]
    records = json.loads((sweep / "summary.json").read_text())
    assert [r["beta"] for r in records] == [0.5, 2.0, 8.0]
    assert all(r["status"] == "completed" for r in records)
    for key in ("test_recon_mse", "test_kl", "test_elbo", "active_units", "test_psnr_db"):
        assert all(math.isfinite(r[key]) for r in records), key
    with (sweep / "summary.csv").open() as stream:
        assert len(list(csv.DictReader(stream))) == 3
    assert (sweep / "sweep_plot.png").read_bytes()[:4] == b"\x89PNG"
    assert "beta=0.5" in result.stdout and "3 of 3 runs completed" in result.stdout


def test_sweep_records_hparams_that_tensorboard_reads(beta_sweep):
    sweep = _sweep_dir(beta_sweep[0])
    experiment = read_events(sweep / "hparams")
    assert "_hparams_/experiment" in experiment.Tags()["tensors"]
    session = read_events(sweep / "1" / "tensorboard")
    assert {"_hparams_/session_start_info", "test/recon_mse", "test/kl"} <= set(session.Tags()["tensors"])


def test_a_failing_run_does_not_stop_the_sweep(aecli, tmp_path):
    result = aecli("train", "-m", *TINY, "trainer.batch_size=32,4096")
    assert result.returncode == 1
    records = json.loads((_sweep_dir(tmp_path) / "summary.json").read_text())
    assert [r["status"] for r in records] == ["completed", "failed"]
    assert "trainer.batch_size=4096" in records[1]["error"]
    assert "Traceback" not in result.stderr


def test_joblib_launcher_runs_two_jobs_with_divided_threads(aecli, tmp_path):
    result = aecli("train", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *TINY, "seed=1,2")
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = _sweep_dir(tmp_path)
    assert [r["status"] for r in json.loads((sweep / "summary.json").read_text())] == ["completed"] * 2
    config = (sweep / "0" / ".hydra" / "config.yaml").read_text()
    import os

    assert f"intra_op_threads: {max(1, (os.cpu_count() or 1) // 2)}" in config


def test_summarize_rebuilds_and_runs_lists_newest_first(beta_sweep, aecli):
    root, _ = beta_sweep
    sweep = _sweep_dir(root)
    (sweep / "summary.csv").unlink()
    assert aecli("summarize", str(sweep)).returncode == 0
    assert (sweep / "summary.csv").exists()
    listing = aecli("runs", str(root / "outputs"))
    assert listing.returncode == 0 and "3 runs under" in listing.stdout and "completed" in listing.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_tensorboard_server_serves_runs_scalars_images_and_hparams(beta_sweep):
    root, _ = beta_sweep
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "aecli", "tensorboard", str(root / "outputs"), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                runs = _get(f"{base}/data/runs")
                if any(run.endswith("2/tensorboard/train") for run in runs):
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "TensorBoard did not come up"
            time.sleep(0.5)
        scalars = _get(f"{base}/data/plugin/scalars/tags")
        assert {"epoch_loss", "epoch_kl"} <= set(scalars[next(r for r in scalars if r.endswith("0/tensorboard/train"))])
        images = _get(f"{base}/data/plugin/images/tags")
        assert "prior_samples" in images[next(r for r in images if r.endswith("0/tensorboard/images"))]
        request = urllib.request.Request(f"{base}/data/plugin/hparams/experiment", method="POST",
                                         data=json.dumps({"experimentName": ""}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            experiment = json.loads(response.read())
        assert [info["name"] for info in experiment["hparamInfos"]] == ["beta"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_submitit_local_launcher_completes_a_sweep(aecli, tmp_path):
    result = aecli("train", "-m", "hydra/launcher=submitit_local", *TINY, "seed=1,2")
    assert result.returncode == 0, result.stderr[-3000:]
    records = json.loads((_sweep_dir(tmp_path) / "summary.json").read_text())
    assert [r["status"] for r in records] == ["completed", "completed"]
