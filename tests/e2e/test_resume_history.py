"""A resumed run keeps the TensorBoard history of the epochs before its restart, each tag in its own
step unit (Keras logs `evaluation_*_vs_iterations` against the optimizer's step count, the rest by
epoch), and an epoch stopped part-way logs nothing."""

import json
import signal

from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

TINY = ["debug=tiny", "trainer.epochs=3"]
ITERATIONS = "evaluation_loss_vs_iterations"


def logged_steps(log_dir, tag) -> list[int]:
    """Every step of `tag` as written on disk, duplicates included (TensorBoard's accumulator
    would hide a duplicate by purging the older point)."""
    return sorted(
        event.step
        for path in log_dir.glob("events.out.tfevents.*")
        for event in EventFileLoader(str(path)).Load()
        for value in event.summary.value
        if value.tag == tag
    )


def test_a_signal_mid_epoch_logs_no_point_for_it_and_the_resume_keeps_the_earlier_ones(
    aecli, tmp_path
):
    run = tmp_path / "run"
    validation = run / "tensorboard" / "validation"
    # 6 steps an epoch: the 9th step is in the second epoch
    stopped = aecli(
        "train",
        *TINY,
        f"hydra.run.dir={run}",
        env={"AECLI_FAULT_POINT": "batch:9", "AECLI_FAULT_SIGNAL": "SIGINT"},
    )
    assert stopped.returncode == 128 + signal.SIGINT, stopped.stderr[-3000:]
    assert json.loads((run / "status.json").read_text())["epochs_completed"] == 1
    assert logged_steps(validation, "epoch_loss") == [0]
    steps = logged_steps(validation, ITERATIONS)
    assert len(steps) == 1, "the stopped epoch's validation pass was logged"
    steps_per_epoch = steps[0]

    resumed = aecli("resume", str(run))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["optimizer_steps"] == 3 * steps_per_epoch
    assert logged_steps(validation, "epoch_loss") == [0, 1, 2]
    assert logged_steps(validation, ITERATIONS) == [
        steps_per_epoch,
        2 * steps_per_epoch,
        3 * steps_per_epoch,
    ]
