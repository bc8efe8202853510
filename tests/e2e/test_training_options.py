"""`trainer.*` options of the optimisation loop, end to end through `aecli train`."""

import json
from pathlib import Path

import pytest
from tensorboard_events import scalar_series

from aecli.training.checkpoints import CheckpointStore

TINY = ["debug=tiny", "model=vanilla"]


def _only_run(root: Path) -> Path:
    runs = [p.parent for p in root.glob("outputs/train/*/metrics.json")]
    assert len(runs) == 1, runs
    return runs[0]


def test_early_stopping_stops_evaluates_the_best_epoch_and_logs_rate_changes(aecli, tmp_path):
    # a rate too small to move the loss by min_delta: patience runs out after epoch 4
    result = aecli(
        "train",
        *TINY,
        "trainer.epochs=8",
        "trainer.learning_rate=1e-6",
        "trainer.early_stopping_patience=3",
        "trainer.early_stopping_min_delta=100",
        "trainer.lr_schedule=step",
        "trainer.lr_step_epochs=2",
        "trainer.lr_step_factor=0.5",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = _only_run(tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["stopped_early"] is True and metrics["epochs_completed"] == 4
    val_losses = [v for _, v in scalar_series(run / "tensorboard" / "validation", "epoch_loss")]
    assert len(val_losses) == 4
    assert metrics["val_loss"] == pytest.approx(min(val_losses), rel=1e-6)
    best = CheckpointStore(run / "checkpoints").metadata("best")
    assert metrics["val_loss"] == pytest.approx(best["val_loss"], rel=1e-6)
    # one point per rate: epoch 0 at 1e-6, epoch 2 at half of it
    rates = scalar_series(run / "tensorboard" / "train", "epoch_learning_rate")
    assert [step for step, _ in rates] == [0, 2]
    assert [rate for _, rate in rates] == pytest.approx([1e-6, 5e-7])


def test_early_stopping_goes_on_counting_after_a_resume(aecli, tmp_path):
    patient = [
        *TINY,
        "trainer.learning_rate=1e-6",
        "trainer.early_stopping_patience=3",
        "trainer.early_stopping_min_delta=100",
    ]
    first = aecli("train", *patient, "trainer.epochs=2")
    assert first.returncode == 0, first.stderr[-3000:]
    run = _only_run(tmp_path)
    resumed = aecli("resume", str(run), "trainer.epochs=8")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    # patience counts from the first epoch, the only improvement by 100 (on nothing): 3 epochs
    # after it, as in an uninterrupted run, not 3 epochs after the resume or the best checkpoint
    assert metrics["stopped_early"] is True
    assert metrics["epochs_completed"] == 4
    val_losses = [v for _, v in scalar_series(run / "tensorboard" / "validation", "epoch_loss")]
    assert metrics["val_loss"] == pytest.approx(min(val_losses), rel=1e-6)


def test_early_stopping_stops_a_killed_and_resumed_run_where_an_uninterrupted_one_stops(
    aecli, tmp_path
):
    # the loss falls every epoch (so the `best` checkpoint is the last one), never by min_delta
    # (an image's summed loss falls by hundreds in an epoch)
    patient = [*TINY, "trainer.epochs=8", "trainer.early_stopping_patience=3"]
    patient.append("trainer.early_stopping_min_delta=1e6")
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert aecli("train", *patient, f"hydra.run.dir={straight}").returncode == 0
    stopped = aecli(
        "train", *patient, f"hydra.run.dir={killed}", env={"AECLI_FAULT_POINT": "epoch-end:2"}
    )
    assert stopped.returncode == -9  # SIGKILL after the second epoch's checkpoint
    resumed = aecli("resume", str(killed))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    ends = [json.loads((run / "metrics.json").read_text()) for run in (straight, killed)]
    assert [(end["stopped_early"], end["epochs_completed"]) for end in ends] == [(True, 4)] * 2


def test_a_bad_trainer_option_is_one_paragraph_before_tensorflow(aecli):
    result = aecli("train", *TINY, "trainer.momentum=0.9")
    assert result.returncode == 2
    assert "trainer.momentum=0.9 applies to trainer.optimizer=sgd only" in result.stderr
    assert "Traceback" not in result.stderr
