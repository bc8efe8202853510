"""A resumed run logs again the epochs after its checkpoint: the steps it logged before are dropped
first, so no TensorBoard step appears twice; each tag by its own step unit (epoch, or the
optimizer's step count for Keras' `evaluation_*_vs_iterations`)."""

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


def _log(log_dir, steps, value, tag="epoch_loss"):
    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        for step in steps:
            tf.summary.scalar(tag, value, step=step)
    writer.close()


def test_forgetting_the_steps_from_the_restart_leaves_each_step_once(tmp_path):
    _log(tmp_path, range(4), 1.0)  # the first process logged epochs 0..3, checkpointed 0..1
    forget_steps_from([tmp_path, tmp_path / "absent"], 2, 2 * 10)
    _log(tmp_path, range(2, 5), 2.0)  # the resumed process logs 2..4 again
    series = scalar_series(tmp_path, "epoch_loss")
    assert [step for step, _ in series] == [0, 1, 2, 3, 4]
    assert [value for _, value in series] == [1.0, 1.0, 2.0, 2.0, 2.0]


def test_a_record_torn_by_a_kill_is_dropped_with_the_steps_after_it(tmp_path):
    _log(tmp_path, range(3), 1.0)
    (events,) = tmp_path.glob("events.out.tfevents.*")
    events.write_bytes(events.read_bytes()[:-7])  # the last record cut short
    forget_steps_from([tmp_path], 5, 50)
    assert [step for step, _ in scalar_series(tmp_path, "epoch_loss")] == [0, 1]


ITERATIONS = "evaluation_loss_vs_iterations"


def test_iteration_indexed_points_of_the_epochs_before_the_restart_are_kept(tmp_path):
    # 156 steps an epoch; epochs 0 and 1 logged and checkpointed, the kill came in epoch 2
    _log(tmp_path, range(2), 1.0)
    _log(tmp_path, [156, 312], 1.0, tag=ITERATIONS)
    forget_steps_from([tmp_path], 2, 312)
    _log(tmp_path, range(2, 4), 2.0)
    _log(tmp_path, [468, 624], 2.0, tag=ITERATIONS)
    assert [step for step, _ in scalar_series(tmp_path, ITERATIONS)] == [156, 312, 468, 624]
    assert [step for step, _ in scalar_series(tmp_path, "epoch_loss")] == [0, 1, 2, 3]


def test_a_fallback_to_an_older_checkpoint_forgets_the_iteration_points_after_it(tmp_path):
    _log(tmp_path, range(3), 1.0)
    _log(tmp_path, [156, 312, 468], 1.0, tag=ITERATIONS)
    forget_steps_from([tmp_path], 1, 156)  # `last` was damaged: restored from epoch 0's
    assert [step for step, _ in scalar_series(tmp_path, ITERATIONS)] == [156]
    assert [step for step, _ in scalar_series(tmp_path, "epoch_loss")] == [0]


def test_an_event_holding_tags_of_both_units_keeps_the_values_not_logged_again(tmp_path):
    from tensorboard.compat.proto.event_pb2 import Event

    event = Event(step=3, wall_time=1.0)
    event.summary.value.add(tag=ITERATIONS, simple_value=1.0)
    event.summary.value.add(tag="epoch_loss", simple_value=1.0)
    with tf.io.TFRecordWriter(str(tmp_path / "events.out.tfevents.1.host")) as writer:
        writer.write(event.SerializeToString())
    forget_steps_from([tmp_path], 2, 30)  # epoch 3 is logged again, step 3 of the optimizer not
    (path,) = tmp_path.glob("events.out.tfevents.*")
    (kept,) = list(tf.data.TFRecordDataset(str(path)).as_numpy_iterator())
    assert [value.tag for value in Event.FromString(kept).summary.value] == [ITERATIONS]
