"""A resumed run logs again the epochs after its checkpoint: the steps it logged before are dropped
first, so no TensorBoard step appears twice."""

import tensorflow as tf
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

from aecli.training.callbacks import forget_steps_from


def scalar_series(log_dir, tag):
    """(step, value) of every record on disk, in file order: TensorBoard's own accumulator would
    hide a duplicated step by purging the older one, so it cannot tell whether one was written."""
    return [
        (event.step, float(tf.make_ndarray(value.tensor)))
        for path in sorted(log_dir.glob("events.out.tfevents.*"))
        for event in EventFileLoader(str(path)).Load()
        for value in event.summary.value
        if value.tag == tag
    ]


def _log(log_dir, steps, value):
    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        for step in steps:
            tf.summary.scalar("epoch_loss", value, step=step)
    writer.close()


def test_forgetting_the_steps_from_the_restart_leaves_each_step_once(tmp_path):
    _log(tmp_path, range(4), 1.0)  # the first process logged epochs 0..3, checkpointed 0..1
    forget_steps_from([tmp_path, tmp_path / "absent"], 2)
    _log(tmp_path, range(2, 5), 2.0)  # the resumed process logs 2..4 again
    series = scalar_series(tmp_path, "epoch_loss")
    assert [step for step, _ in series] == [0, 1, 2, 3, 4]
    assert [value for _, value in series] == [1.0, 1.0, 2.0, 2.0, 2.0]


def test_a_record_torn_by_a_kill_is_dropped_with_the_steps_after_it(tmp_path):
    _log(tmp_path, range(3), 1.0)
    (events,) = tmp_path.glob("events.out.tfevents.*")
    events.write_bytes(events.read_bytes()[:-7])  # the last record cut short
    forget_steps_from([tmp_path], 5)
    assert [step for step, _ in scalar_series(tmp_path, "epoch_loss")] == [0, 1]
