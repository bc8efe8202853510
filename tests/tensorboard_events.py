"""Read a run's TensorBoard events with TensorBoard's own reader."""

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def read_events(log_dir: Path) -> EventAccumulator:
    """All tensors (scalars and images are both tensor summaries in TF2) of one TensorBoard run
    folder."""
    events = EventAccumulator(str(log_dir), size_guidance={"tensors": 0})
    events.Reload()
    return events


def scalar_series(log_dir: Path, tag: str) -> list[tuple[int, float]]:
    """(step, value) pairs of a scalar tag."""
    return [
        (
            event.step,
            float(
                event.tensor_proto.float_val[0]
                if event.tensor_proto.float_val
                else _decode(event.tensor_proto)
            ),
        )
        for event in read_events(log_dir).Tensors(tag)
    ]


def _decode(proto) -> float:
    import tensorflow as tf

    return float(tf.make_ndarray(proto))
