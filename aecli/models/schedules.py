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


def capacity(epoch: int, capacity_max: float, epochs: int) -> float:
    """The target KL C of capacity beta-VAE, rising linearly from 0 to capacity_max over
    `epochs`."""
    return capacity_max * min(1.0, epoch / epochs)


class VAESchedules(keras.callbacks.Callback):
    """Sets the VAE's effective beta and capacity before each epoch and logs each after it where
    a schedule moves it."""

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        self.cfg, self.beta = cfg, cfg.beta

    def on_epoch_begin(self, epoch, logs=None):
        cfg = self.cfg
        self.model.beta.assign(
            self.beta
            * kl_weight(epoch, cfg.kl_schedule, cfg.kl_schedule_epochs, cfg.kl_schedule_ratio)
        )
        self.model.capacity.assign(capacity(epoch, cfg.capacity_max, cfg.capacity_epochs))

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:  # TensorBoard, after this callback, writes them with the other scalars
            return
        # each only where a schedule moves it: a constant beta is in the config, C = 0 means off
        if self.cfg.kl_schedule != KLSchedule.none:
            logs["beta_effective"] = float(self.model.beta.numpy())
        if self.cfg.capacity_max > 0:
            logs["capacity"] = float(self.model.capacity.numpy())
