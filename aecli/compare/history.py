"""A run's validation loss per epoch, read from its TensorBoard events: Keras' TensorBoard
callback logs `epoch_loss` under tensorboard/validation once per epoch (step = the epoch from 0),
and no other record of the run keeps it per epoch. Read with TensorBoard's own event reader."""

from pathlib import Path

from aecli.rundir.layout import RunFolder

TAG = "epoch_loss"


def validation_losses(run: Path) -> list[tuple[int, float]]:
    """(epoch from 1, validation loss) in epoch order; empty when the run logged none. A step
    logged twice (a resume after a kill) keeps its last value."""
    folder = RunFolder(run).tensorboard_run("validation")
    if not folder.is_dir():
        return []
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util.tensor_util import make_ndarray

    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    if TAG not in events.Tags().get("tensors", []):
        return []
    losses = {event.step: float(make_ndarray(event.tensor_proto)) for event in events.Tensors(TAG)}
    return [(step + 1, losses[step]) for step in sorted(losses)]
