"""Sweeps through a real Slurm cluster (tests/cluster/conftest.py) with submitit_slurm."""

import json
import subprocess
import sys
import time
from pathlib import Path

from tensorboard_events import read_events

TINY = [
    "dataset=synthetic",
    "dataset.kind=circle",
    "dataset.size=600",
    "trainer.epochs=2",
    "model.hidden_units=[16]",
    "model.latent_dim=2",
]
SLURM = [
    "hydra/launcher=submitit_slurm",
    "hydra.launcher.partition=debug",
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.timeout_min=10",
]


def _sweep_dir(root: Path) -> Path:
    (sweep,) = (root / "outputs" / "train-multirun").iterdir()
    return sweep


def test_beta_sweep_runs_as_slurm_jobs_and_is_summarized(aecli, slurm, tmp_path):
    result = aecli("train", "-m", *SLURM, "model=vae", "beta=1,4", *TINY, env=slurm)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = _sweep_dir(tmp_path)
    records = json.loads((sweep / "summary.json").read_text())
    assert [(r["beta"], r["status"]) for r in records] == [(1.0, "completed"), (4.0, "completed")]
    assert (sweep / "summary.csv").exists()
    for job in ("0_beta=1", "1_beta=4"):  # job folders are named by their swept values
        run = sweep / job
        # written by the submitting process once the job had ended
        assert (sweep / "summary.json").stat().st_mtime >= (run / "status.json").stat().st_mtime
        hparams = read_events(run / "tensorboard" / "hparams").Tags()["tensors"]
        assert "_hparams_/session_start_info" in hparams
        # cpus_per_task=1 became TensorFlow's thread counts
        assert "intra_op_threads: 1\n" in (run / ".hydra" / "config.yaml").read_text()
    # the jobs ran under Slurm, not in the submitting process
    assert list((sweep / ".submitit").glob("*/*_0_log.out"))
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "sacct" not in output


def _wait_for(predicate, process: subprocess.Popen, what: str, limit_s=300):
    deadline = time.monotonic() + limit_s  # a guard against hanging, not a timing assertion
    while not predicate():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{what} did not happen"
        time.sleep(0.2)


def test_scancel_interrupts_a_job_that_resume_completes(aecli, slurm, tmp_path):
    # long enough that the job is still training when scancel's SIGTERM arrives
    longer = [*TINY, "dataset.size=20000", "trainer.batch_size=32", "trainer.epochs=25"]
    sweep_process = subprocess.Popen(
        [sys.executable, "-m", "aecli", "train", "-m", *SLURM, "model=vae", "seed=1", *longer],
        cwd=tmp_path,
        env={**slurm, "TF_CPP_MIN_LOG_LEVEL": "2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    root = tmp_path / "outputs" / "train-multirun"
    _wait_for(
        lambda: list(root.glob("*/0*/checkpoints/last.weights.h5")), sweep_process, "a first epoch"
    )
    # one job, nothing swept: its folder is the job number alone
    run = next(_sweep_dir(tmp_path).glob("0*"))
    assert json.loads((run / "status.json").read_text())["status"] == "running"

    jobs = subprocess.run(
        ["squeue", "--noheader", "--format=%i"],
        env=slurm,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(jobs) == 1, jobs
    # plain scancel: SIGCONT and SIGTERM to the job's processes, SIGKILL after KillWait
    subprocess.run(["scancel", jobs[0]], env=slurm, check=True)
    stdout, stderr = sweep_process.communicate(timeout=300)

    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "interrupted", status
    assert "Stopped by SIGTERM" in status["error"]
    # the submitting process learned the job's end and summarized it; one run did not complete
    assert sweep_process.returncode == 1, stderr[-3000:]
    records = json.loads((run.parent / "summary.json").read_text())
    assert [r["status"] for r in records] == ["interrupted"]
    assert "Traceback" not in stdout + stderr

    resumed = aecli("resume", str(run), env=slurm)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((run / "status.json").read_text())["status"] == "completed"
    assert json.loads((run / "metrics.json").read_text())["epochs_completed"] == 25
