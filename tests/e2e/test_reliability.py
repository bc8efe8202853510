"""Crashes, signals and divergence: a run never loses more than an epoch, and always says what happened."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras

from tensorboard_events import scalar_series

LONG_RUN = ["train", "dataset=synthetic", "dataset.size=4000", "model.hidden_units=[64]", "model.latent_dim=4",
            "trainer.epochs=25", "trainer.batch_size=64"]


def _start(run_dir: Path, *extra) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, "-m", "aecli", *LONG_RUN, *extra, f"hydra.run.dir={run_dir}"],
                            cwd=run_dir.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, process: subprocess.Popen, timeout=120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def _status(run_dir: Path) -> dict:
    return json.loads((run_dir / "status.json").read_text())


def test_sigkill_mid_run_then_resume_completes_without_duplicated_steps(tmp_path, aecli):
    run_dir = tmp_path / "run"
    process = _start(run_dir)
    _wait_for(run_dir / "checkpoints" / "last.json", process)
    time.sleep(0.3)  # into a later epoch
    process.kill()
    process.wait()
    assert _status(run_dir)["status"] == "running"  # a killed process records nothing more
    saved_epoch = json.loads((run_dir / "checkpoints" / "last.json").read_text())["epoch"]
    assert saved_epoch < 24, "the run finished before it was killed; make LONG_RUN longer"

    result = aecli("resume", str(run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resuming after epoch {saved_epoch + 1}" in result.stdout + result.stderr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 25 and _status(run_dir)["status"] == "completed"
    steps = [step for step, _ in scalar_series(run_dir / "tensorboard" / "train", "epoch_loss")]
    assert len(steps) == len(set(steps)) and max(steps) == 24
    assert keras.saving.load_model(run_dir / "encoder.keras", safe_mode=True) is not None


def test_sigint_stops_after_the_step_saves_a_checkpoint_and_exits_130(tmp_path):
    run_dir = tmp_path / "run"
    process = _start(run_dir)
    _wait_for(run_dir / "checkpoints" / "last.json", process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    status = _status(run_dir)
    assert status["status"] == "interrupted" and "aecli resume" in status["error"]
    assert (run_dir / "checkpoints" / "last.weights.h5").exists()
    assert "Traceback" not in stderr


def test_sigterm_exits_143(tmp_path):
    run_dir = tmp_path / "run"
    process = _start(run_dir)
    _wait_for(run_dir / "checkpoints" / "last.json", process)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=120)
    assert process.returncode == 143 and _status(run_dir)["status"] == "interrupted"


def test_a_diverging_run_stops_failed_naming_the_term(aecli, tmp_path):
    result = aecli("train", "model=vanilla", "model.likelihood=gaussian", "dataset=synthetic", "dataset.size=600",
                   "trainer.learning_rate=1e12", "trainer.epochs=3", f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 3
    status = _status(tmp_path / "run")
    assert status["status"] == "failed" and "`recon` became non-finite" in status["error"]
    assert "trainer.learning_rate" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_resume_of_a_completed_run_is_refused(aecli, tmp_path):
    args = ["train", "dataset=synthetic", "dataset.size=300", "trainer.epochs=1", "trainer.batch_size=32",
            "model.hidden_units=[8]", f"hydra.run.dir={tmp_path / 'run'}"]
    assert aecli(*args).returncode == 0
    result = aecli("resume", str(tmp_path / "run"))
    assert result.returncode == 2 and "already completed" in result.stderr


def test_resume_with_an_edited_config_or_corrupt_checkpoints_says_so(aecli, tmp_path):
    run_dir = tmp_path / "run"
    process = _start(run_dir)
    _wait_for(run_dir / "checkpoints" / "previous.json", process)
    process.kill()
    process.wait()
    config = run_dir / ".hydra" / "config.yaml"
    config.write_text(config.read_text().replace("latent_dim: 4", "latent_dim: 7"))
    result = aecli("resume", str(run_dir))
    assert result.returncode == 2 and "No checkpoint" in result.stderr and "config.yaml" in result.stderr
    assert "Traceback" not in result.stderr

    config.write_text(config.read_text().replace("latent_dim: 7", "latent_dim: 4"))
    (run_dir / "checkpoints" / "last.weights.h5").write_bytes(b"not an h5 file")
    fallback = aecli("resume", str(run_dir))
    assert fallback.returncode == 0, fallback.stderr[-2000:]
    assert "from checkpoint `previous`" in fallback.stdout + fallback.stderr
