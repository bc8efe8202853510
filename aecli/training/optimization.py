"""The optimiser, its learning-rate schedule, and the callbacks that steer or stop training.

Everything comes from Keras: the optimisers (whose `weight_decay` is decoupled, AdamW-style, for
every one of them), `keras.optimizers.schedules` for schedules known in advance, and
ReduceLROnPlateau / EarlyStopping for the ones that follow the validation loss.
"""

import math
from dataclasses import dataclass

import keras

from aecli.config.run import LRSchedule, OptimizerName, TrainerConfig

# Keras' own default decay of AdamW; Adam and SGD decay nothing unless asked
_DEFAULT_WEIGHT_DECAY = {
    OptimizerName.adam: None,
    OptimizerName.adamw: 0.004,
    OptimizerName.sgd: None,
}


def learning_rate(trainer: TrainerConfig, steps_per_epoch: int):
    """A float (constant, plateau: the callback changes it) or a Keras schedule over steps."""
    lr = trainer.learning_rate
    if trainer.lr_schedule == LRSchedule.cosine:
        total = trainer.epochs * steps_per_epoch
        warmup = trainer.warmup_epochs * steps_per_epoch
        if warmup == 0:
            return keras.optimizers.schedules.CosineDecay(lr, decay_steps=total)
        # warms up linearly from 0 to `lr`, then decays to 0 at the last step
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=total - warmup, warmup_target=lr, warmup_steps=warmup
        )
    if trainer.lr_schedule == LRSchedule.step:
        drops = (trainer.epochs - 1) // trainer.lr_step_epochs
        if drops == 0:
            return lr
        boundaries = [k * trainer.lr_step_epochs * steps_per_epoch for k in range(1, drops + 1)]
        values = [lr * trainer.lr_step_factor**k for k in range(drops + 1)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    return lr


# Keras' default first loss scale, 2**15, suits losses averaged over dimensions; ours are summed
# over them (hundreds of nats per example), so 2**15 overflows float16 gradients and the first ~9
# steps are skipped while the scale halves its way down. Starting lower loses no steps.
INITIAL_LOSS_SCALE = 2.0**8


def build_optimizer(
    trainer: TrainerConfig, steps_per_epoch: int, mixed: bool = False
) -> keras.optimizers.Optimizer:
    """The configured optimiser; wrapped in dynamic loss scaling under mixed_float16."""
    decay = trainer.weight_decay
    if decay is None:
        decay = _DEFAULT_WEIGHT_DECAY[trainer.optimizer]
    common = {
        "learning_rate": learning_rate(trainer, steps_per_epoch),
        "weight_decay": decay,
        "global_clipnorm": trainer.gradient_clip_norm,
    }
    if trainer.optimizer == OptimizerName.sgd:
        optimizer = keras.optimizers.SGD(momentum=trainer.momentum, **common)
    elif trainer.optimizer == OptimizerName.adamw:
        optimizer = keras.optimizers.AdamW(**common)
    else:
        optimizer = keras.optimizers.Adam(**common)
    if mixed:
        return keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=INITIAL_LOSS_SCALE)
    return optimizer


def current_learning_rate(optimizer) -> float:
    """The rate the next step uses (a schedule is evaluated at the optimiser's step count)."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return float(keras.ops.convert_to_numpy(inner.learning_rate))


class LearningRateLog(keras.callbacks.Callback):
    """Puts `learning_rate` into an epoch's logs only when it differs from the last one logged,
    so TensorBoard (listed after it) draws a point per change rather than a flat line per epoch.

    The rate is read after the epoch's last training step (validation begins then), before
    ReduceLROnPlateau changes it for the next epoch at the epoch's end.
    """

    def __init__(self):
        super().__init__()
        self.logged = None
        self._rate = None

    def on_epoch_begin(self, epoch, logs=None):
        self._rate = None

    def on_test_begin(self, logs=None):
        self._rate = current_learning_rate(self.model.optimizer)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        rate = self._rate if self._rate is not None else current_learning_rate(self.model.optimizer)
        logs.pop("learning_rate", None)  # ReduceLROnPlateau adds it every epoch
        if self.logged is None or not math.isclose(rate, self.logged, rel_tol=1e-6):
            logs["learning_rate"] = rate
            self.logged = rate


@dataclass(frozen=True)
class ResumedBest:
    """The `best` checkpoint of a run being resumed: its epoch (0-based), val_loss and model
    weights, so that early stopping goes on counting from it instead of starting afresh."""

    epoch: int
    val_loss: float
    weights: list


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _reference(value) -> float | None:
    """A saved reference value (None before the first epoch): a number, else unusable."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class EarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' EarlyStopping on val_loss: `min_delta` decides when to stop; at the end the weights
    of the epoch with the lowest val_loss (the `best` checkpoint's rule, improvement by any
    amount) are restored and evaluated. Not when a signal or a non-finite loss stopped the run:
    those keep the weights reached, to be checkpointed and resumed. A partial epoch (stopped
    part-way) is not counted: a resumed run trains it again.

    Its count (the reference value of the last improvement by more than min_delta, its epoch and
    the epochs waited since) is saved with every checkpoint (`checkpoint_state`) and, given back
    as `state` after `aecli resume`, goes on from there: a resumed run stops at the epoch an
    uninterrupted one would. `resumed` (the `best` checkpoint) gives the weights restored unless
    a resumed epoch beats it; for a checkpoint of an earlier version, saved without the count,
    the count goes on from the `best` checkpoint too (with min_delta > 0 the more patient count).
    """

    def __init__(
        self,
        stop,
        patience: int,
        min_delta: float,
        resumed: ResumedBest | None = None,
        initial_epoch: int = 0,
        state: dict | None = None,
    ):
        super().__init__(monitor="val_loss", patience=patience, min_delta=min_delta, mode="min")
        self.stop = stop
        self.resumed, self.initial_epoch, self.state = resumed, initial_epoch, state
        self.lowest, self.lowest_weights = math.inf, None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.resumed is not None:
            self.best, self.best_epoch = self.resumed.val_loss, self.resumed.epoch
            self.wait = max(self.initial_epoch - 1 - self.resumed.epoch, 0)
            self.lowest, self.lowest_weights = self.resumed.val_loss, self.resumed.weights
        state = self.state if isinstance(self.state, dict) else {}
        epoch, wait = _count(state.get("best_epoch")), _count(state.get("wait"))
        if epoch is not None and wait is not None:
            self.best, self.best_epoch, self.wait = _reference(state.get("best")), epoch, wait

    def checkpoint_state(self) -> dict:
        """The count after the last completed epoch, for the checkpoint saved after it."""
        best = None if self.best is None else float(self.best)
        return {"best": best, "best_epoch": int(self.best_epoch), "wait": int(self.wait)}

    @property
    def stopped_early(self) -> bool:
        return self.stopped_epoch > 0

    def on_epoch_end(self, epoch, logs=None):
        if self.stop.stopped_mid_epoch:
            return
        val_loss = float((logs or {}).get("val_loss", math.nan))
        if val_loss < self.lowest:
            self.lowest, self.lowest_weights = val_loss, self.model.get_weights()
        super().on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        if self.stop.signum is None and self.stop.non_finite is None and self.lowest_weights:
            self.model.set_weights(self.lowest_weights)


class ReduceLROnPlateau(keras.callbacks.ReduceLROnPlateau):
    """Keras' ReduceLROnPlateau on val_loss, not counting a partial epoch; its count (reference
    value, epochs waited, cooldown left) is saved with every checkpoint and, given back as
    `state` after `aecli resume`, goes on from there, so a resumed run lowers the rate when an
    uninterrupted one would (the rate itself is in the optimizer's checkpointed state)."""

    def __init__(self, stop, factor: float, patience: int, state: dict | None = None):
        super().__init__(monitor="val_loss", factor=factor, patience=patience, mode="min")
        self.stop, self.state = stop, state

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        state = self.state if isinstance(self.state, dict) else {}
        wait, cooldown = _count(state.get("wait")), _count(state.get("cooldown"))
        if wait is not None and cooldown is not None:
            self.best, self.wait, self.cooldown_counter = (
                _reference(state.get("best")),
                wait,
                cooldown,
            )

    def checkpoint_state(self) -> dict:
        best = None if self.best is None else float(self.best)
        return {"best": best, "wait": int(self.wait), "cooldown": int(self.cooldown_counter)}

    def on_epoch_end(self, epoch, logs=None):
        if not self.stop.stopped_mid_epoch:
            super().on_epoch_end(epoch, logs)


def steering_callbacks(
    trainer: TrainerConfig,
    stop,
    resumed: ResumedBest | None = None,
    initial_epoch: int = 0,
    state: dict | None = None,
) -> list[keras.callbacks.Callback]:
    """ReduceLROnPlateau and EarlyStopping as configured, going on from `state` (what
    `steering_state` saved with the checkpoint a run resumes from); list them before the
    callbacks that checkpoint the epoch (its state goes with it) or write its logs
    (LearningRateLog, TensorBoard)."""
    state = state if isinstance(state, dict) else {}
    callbacks = []
    if trainer.lr_schedule == LRSchedule.plateau:
        callbacks.append(
            ReduceLROnPlateau(
                stop, trainer.lr_plateau_factor, trainer.lr_plateau_patience, state.get("plateau")
            )
        )
    if trainer.early_stopping_patience is not None:
        callbacks.append(
            EarlyStopping(
                stop,
                trainer.early_stopping_patience,
                trainer.early_stopping_min_delta,
                resumed,
                initial_epoch,
                state.get("early_stopping"),
            )
        )
    return callbacks


def steering_state(callbacks) -> dict:
    """The counts of the steering callbacks among `callbacks`, for a checkpoint's metadata."""
    names = {EarlyStopping: "early_stopping", ReduceLROnPlateau: "plateau"}
    return {
        names[type(callback)]: callback.checkpoint_state()
        for callback in callbacks
        if type(callback) in names
    }


def early_stopping(callbacks) -> EarlyStopping | None:
    return next((c for c in callbacks if isinstance(c, EarlyStopping)), None)


def outcome(history, callbacks) -> dict:
    """`val_loss` of the weights that are evaluated (the best epoch's when early stopping
    restored them, else the last epoch's) and whether training stopped early."""
    stopping = early_stopping(callbacks)
    losses = history.history.get("val_loss", []) if history is not None else []
    if stopping is not None and stopping.lowest_weights is not None:
        val_loss = stopping.lowest
    else:
        val_loss = float(losses[-1]) if losses else math.nan
    return {
        "val_loss": val_loss,
        "stopped_early": bool(stopping is not None and stopping.stopped_early),
    }
