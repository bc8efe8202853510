"""Fault injection: a run is stopped at every point of its life, resumed each time, and ends exactly
as an uninterrupted run would: all epochs completed, each trained once (the optimizer's update
count), no TensorBoard step logged twice, no temporary file left.

The stops are real signals, but sent by the process to itself at a named point
(AECLI_FAULT_POINT, aecli/rundir/faults.py): a timer from outside cannot land between two renames.
Each chain runs one run through every point in turn (11 processes), to keep the file fast.
"""

import json
import signal
from collections import Counter
from pathlib import Path

import pytest

from aecli.config.validate import load_run_config
from aecli.rundir.listing import read_run

TINY = ["debug=tiny", "trainer.epochs=4"]
EPOCHS = 4

# (point[:hit], status epochs_completed after a SIGKILL there); 6 steps an epoch, so batch:9 is
# mid-way through the second epoch. `damage` corrupts last.weights.h5 before the next resume,
# which must fall back to `previous` without logging any step twice.
KILL_CHAIN = [
    ("startup", 0),
    ("data-loading", 0),
    ("checkpoint-write:1", 0),
    ("batch:9", 1),
    ("checkpoint-rotate:1", 1),
    ("epoch-end:1", 2),
    ("damage", None),
    ("batch:3", 1),
    ("evaluation:1", 4),
    ("saving:1", 4),
    ("metrics-written:1", 4),
]
# inside fit a signal stops the run after the step, so an epoch whose end is under way completes
SIGNAL_CHAIN = [
    ("startup", "SIGINT", 0),
    ("data-loading", "SIGTERM", 0),
    ("checkpoint-write:1", "SIGINT", 1),
    ("batch:3", "SIGTERM", 1),
    ("checkpoint-rotate:1", "SIGINT", 2),
    ("epoch-end:1", "SIGTERM", 3),
    ("batch:2", "SIGINT", 3),
    ("evaluation:1", "SIGTERM", 4),
    ("saving:1", "SIGINT", 4),
    ("metrics-written:1", "SIGTERM", 4),
]


def _faulty(aecli, *args, fault=None, signal_name="SIGKILL"):
    """The `aecli` fixture's run with the fault point armed (or none: disarmed)."""
    return aecli(
        *args,
        timeout=300,
        env={"AECLI_FAULT_POINT": fault, "AECLI_FAULT_SIGNAL": signal_name},
    )


def _status(run_dir: Path) -> dict:
    return json.loads((run_dir / "status.json").read_text())


def _temporaries(run_dir: Path) -> list[Path]:
    return [p for p in run_dir.rglob(".*tmp*") if p.is_file()]


def duplicated_steps(tensorboard: Path) -> list[tuple]:
    """(run, tag, step) logged more than once, over every event file as written on disk."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    seen = Counter()
    for path in tensorboard.rglob("events.out.tfevents.*"):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                seen[(path.parent.name, value.tag, event.step)] += 1
    return sorted(key for key, count in seen.items() if count > 1)


def logged_steps(tensorboard: Path, run: str, tag: str) -> list[int]:
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    return sorted(
        event.step
        for path in (tensorboard / run).glob("events.out.tfevents.*")
        for event in EventFileLoader(str(path)).Load()
        for value in event.summary.value
        if value.tag == tag
    )


def _assert_finished_as_if_never_stopped(run_dir: Path):
    status, metrics = _status(run_dir), json.loads((run_dir / "metrics.json").read_text())
    assert status["status"] == "completed" and status["epochs_completed"] == EPOCHS
    assert metrics["epochs_completed"] == EPOCHS
    # the batch the run trained with: TINY's, or the one a --train-override sets
    steps_per_epoch = metrics["train_examples"] // load_run_config(run_dir).trainer.batch_size
    assert metrics["optimizer_steps"] == EPOCHS * steps_per_epoch, "an epoch was trained twice"
    assert duplicated_steps(run_dir / "tensorboard") == []
    assert logged_steps(run_dir / "tensorboard", "train", "epoch_loss") == list(range(EPOCHS))
    # Keras' validation points by optimizer step: every epoch's, none of a stopped epoch
    assert logged_steps(run_dir / "tensorboard", "validation", "evaluation_loss_vs_iterations") == [
        steps_per_epoch * (epoch + 1) for epoch in range(EPOCHS)
    ]
    assert logged_steps(run_dir / "tensorboard", "images", "inputs_vs_reconstructions") == list(
        range(EPOCHS)
    )
    assert _temporaries(run_dir) == []


def test_sigkill_at_every_point_then_resume_finishes_the_run_exactly_once(aecli, tmp_path):
    run_dir = tmp_path / "run"
    survived = []
    for index, (point, epochs) in enumerate(KILL_CHAIN):
        if point == "damage":
            (run_dir / "checkpoints" / "last.weights.h5").write_bytes(b"torn by a crash")
            continue
        args = (
            ["train", *TINY, f"hydra.run.dir={run_dir}"] if index == 0 else ["resume", str(run_dir)]
        )
        result = _faulty(aecli, *args, fault=point)
        assert result.returncode == -signal.SIGKILL, (point, result.stderr[-3000:])
        status = _status(run_dir)
        assert status["status"] == "running", point  # a killed process records nothing more
        assert read_run(run_dir).status == "interrupted", point  # its dead lock owner tells
        assert status["epochs_completed"] == epochs, (point, status)
        if point.startswith("checkpoint-write"):
            assert _temporaries(run_dir), "the kill did not land inside the checkpoint write"
        survived.append(point)
    result = _faulty(aecli, "resume", str(run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "status is now `completed`" in result.stdout  # killed after writing its metrics
    _assert_finished_as_if_never_stopped(run_dir)
    assert len(survived) == len(KILL_CHAIN) - 1


def test_sigint_and_sigterm_at_every_point_stop_cleanly_and_resume_finishes_exactly_once(
    aecli, tmp_path
):
    run_dir = tmp_path / "run"
    for index, (point, name, epochs) in enumerate(SIGNAL_CHAIN):
        args = (
            ["train", *TINY, f"hydra.run.dir={run_dir}"] if index == 0 else ["resume", str(run_dir)]
        )
        result = _faulty(aecli, *args, fault=point, signal_name=name)
        expected_code = {"SIGINT": 130, "SIGTERM": 143}[name]
        assert result.returncode == expected_code, (point, name, result.stderr[-3000:])
        assert "Traceback" not in result.stderr, (point, result.stderr[-3000:])
        status = _status(run_dir)
        assert status["status"] == "interrupted", (point, status)
        assert status["epochs_completed"] == epochs, (point, status)
        assert f"aecli resume {run_dir}" in status["error"], status
    result = _faulty(aecli, "resume", str(run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    _assert_finished_as_if_never_stopped(run_dir)


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_signal_between_two_sweep_jobs_stops_the_sweep_with_its_summary(aecli, tmp_path, name):
    sweep_dir = tmp_path / "sweep"
    result = _faulty(
        aecli,
        "train",
        "-m",
        *TINY,
        "trainer.epochs=1",
        "seed=0,1,2",
        f"hydra.sweep.dir={sweep_dir}",
        fault="job-start:2",
        signal_name=name,
    )
    assert result.returncode == {"SIGINT": 130, "SIGTERM": 143}[name], result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "stopped by a signal" in result.stderr and "1 of the" in result.stderr
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert [row["status"] for row in summary[:1]] == ["completed"]
    assert not (sweep_dir / "2").exists(), "a job ran after the signal"


def test_a_signal_in_a_joblib_worker_stops_the_sweep_with_its_summary(aecli, tmp_path):
    # each of the two workers signals itself at its third step: the stop travels back pickled
    sweep_dir = tmp_path / "sweep"
    result = _faulty(
        aecli,
        "train",
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        *TINY,
        "seed=0,1",
        f"hydra.sweep.dir={sweep_dir}",
        fault="batch:3",
        signal_name="SIGTERM",
    )
    assert result.returncode == 143, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "stopped by a signal" in result.stderr and "aecli resume" in result.stderr
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert {row["status"] for row in summary} <= {"interrupted", "running"}, summary
    assert any(row["status"] == "interrupted" for row in summary), summary
