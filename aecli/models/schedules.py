"""Per-epoch schedules of the VAE objective, as pure functions, and the callback that applies
them."""

import keras

from aecli.config.model import KLSchedule, VAEConfig


def kl_weight(epoch: int, schedule: KLSchedule, period: int, ratio: float) -> float:
    """Multiplier on beta at 0-based `epoch`.

    linear: epoch / period, capped at 1 (the first epoch trains the reconstruction alone).
    cyclical (Fu et al. 2019): within each period, rises linearly over the first `ratio` of it,
    then 1.
    """
    if schedule == KLSchedule.linear:
        return min(1.0, epoch / period)
    if schedule == KLSchedule.cyclical:
        position = (epoch % period) / period
        return min(1.0, position / ratio)
    return 1.0


def capacity(elapsed: int, capacity_max: float, span: int) -> float:
    """The target KL C of capacity beta-VAE, rising linearly from 0 to capacity_max over `span`
    epochs or updates, `elapsed` of them done (disentanglement_lib's `anneal`)."""
    return capacity_max * min(1.0, elapsed / span)


class VAESchedules(keras.callbacks.Callback):
    """Sets the VAE's effective beta and capacity before each epoch (capacity before each
    execution of steps_per_execution updates, with capacity_steps) and logs each after the
    epoch where a schedule moves it."""

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        self.cfg, self.beta = cfg, cfg.beta

    def on_epoch_begin(self, epoch, logs=None):
        cfg = self.cfg
        self.model.beta.assign(
            self.beta
            * kl_weight(epoch, cfg.kl_schedule, cfg.kl_schedule_epochs, cfg.kl_schedule_ratio)
        )
        if cfg.capacity_steps is None:
            self.model.capacity.assign(capacity(epoch, cfg.capacity_max, cfg.capacity_epochs))

    def on_train_batch_begin(self, batch, logs=None):
        cfg = self.cfg
        if cfg.capacity_steps is not None and cfg.capacity_max > 0:
            updates = int(self.model.optimizer.iterations.numpy())
            self.model.capacity.assign(capacity(updates, cfg.capacity_max, cfg.capacity_steps))

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:  # TensorBoard, after this callback, writes them with the other scalars
            return
        # each only where a schedule moves it: a constant beta is in the config, C = 0 means off
        if self.cfg.kl_schedule != KLSchedule.none:
            logs["beta_effective"] = float(self.model.beta.numpy())
        if self.cfg.capacity_max > 0:
            logs["capacity"] = float(self.model.capacity.numpy())
