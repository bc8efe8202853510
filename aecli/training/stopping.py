"""Stopping a run cleanly: after the current step on SIGINT/SIGTERM, at once on a non-finite loss
term; and knowing, at every moment, which epochs completed."""

import math
import signal
import time
from pathlib import Path

import keras

from aecli.config.model import Likelihood
from aecli.config.run import Precision, TrainConfig
from aecli.console import console
from aecli.errors import UserError
from aecli.rundir.faults import fault_point
from aecli.rundir.signals import EXIT_CODES, Stopped

SIGNAL_EXIT_CODES = EXIT_CODES


class Interrupted(UserError):
    """The run was stopped by a signal; its exit code is the shell's 128 + signal number."""

    def __init__(self, message: str, signum: int, epoch: int | None):
        super().__init__(message)
        self.exit_code = SIGNAL_EXIT_CODES.get(signum, 130)
        self.epoch = epoch

    @classmethod
    def during(cls, stopped: Stopped, stage: str, done: int, epochs: int, run_dir) -> "Interrupted":
        """`stopped` arrived during `stage` (what the run was doing), after `done` of its `epochs`
        completed."""
        # only a stop inside fit leaves an epoch begun and not completed
        partial = " (a partial epoch is trained again)" if stage == "training" else ""
        return cls(
            f"Stopped by {stopped.name} during {stage}, after {done} of {epochs} epochs "
            f"completed{partial}. Continue with `aecli resume {run_dir}`.",
            stopped.signum,
            epoch=done,
        )


class Diverged(UserError):
    """A loss term became NaN or infinite."""

    exit_code = 3

    def __init__(self, message: str, epoch: int):
        super().__init__(message)
        self.epoch = epoch

    @classmethod
    def in_training(
        cls, stop: "StopConditions", checkpoints: Path, cfg: TrainConfig, per_call: int
    ) -> "Diverged":
        """The error of the non-finite term `stop` saw: where, what is kept in `checkpoints`, the
        likely cause and the setting to change (`per_call`: the steps per compiled call, over
        which a term is reported once)."""
        epoch, first, last, term = stop.non_finite
        kept = (
            f"the last good checkpoint (epoch {stop.last_completed_epoch + 1}) is kept in "
            f"{checkpoints}"
            if stop.last_completed_epoch >= 0
            else "no epoch had completed, so no checkpoint exists"
        )
        where = (
            f"at step {last + 1}"
            if first == last
            else f"between steps {first + 1} and {last + 1} (the loss is reported once per "
            f"{per_call} steps, trainer.steps_per_execution={cfg.trainer.steps_per_execution})"
        )
        return cls(
            f"Training diverged: the loss term `{term}` became non-finite in epoch {epoch + 1} "
            f"{where}; {kept}. {_divergence_cause(term, cfg)}",
            epoch=stop.last_completed_epoch + 1,
        )


def _divergence_cause(term: str, cfg: TrainConfig) -> str:
    """The likely cause of a non-finite loss term, and the setting to change."""
    lr = cfg.trainer.learning_rate
    lower = (
        f"lower the learning rate (trainer.learning_rate={lr:g}, try "
        f"`trainer.learning_rate={min(lr / 10, 1e-3):g}`)"
    )
    if cfg.hardware.precision == Precision.mixed_float16:
        first = (
            "Under mixed precision float16 overflows easily: train in float32 "
            "(`hardware=cpu` or `hardware.precision=float32`), or " + lower + "."
        )
    elif term.startswith("kl"):
        first = (
            "The KL term grows without bound when its weight is too large for the learning "
            f"rate: lower beta (model.beta={getattr(cfg.model, 'beta', None)}) or "
            "model.capacity_max, or " + lower + "."
        )
    elif term == "recon":
        first = (
            f"The reconstruction term (model.likelihood={cfg.model.likelihood.value}) "
            "overflowed: "
            + lower
            + (
                "; with a gaussian likelihood a small "
                f"model.decoder_std={cfg.model.decoder_std:g} magnifies errors"
                if cfg.model.likelihood == Likelihood.gaussian
                else ""
            )
            + "."
        )
    elif term != "loss":
        first = (
            f"The `{term}` penalty overflowed: lower its weight in the model config, or "
            + lower
            + "."
        )
    else:
        first = lower[0].upper() + lower[1:] + "."
    return first


class StopConditions(keras.callbacks.Callback):
    """Watches for a stop request (a signal, passed on by aecli.rundir.signals.guard) and for
    non-finite loss terms; knows which epochs completed and their cumulative training time.

    A partial epoch (stopped mid-way) is not counted as completed: checkpoints and TensorBoard
    skip it, and a resumed run trains it again from its start.
    """

    def __init__(self, initial_epoch: int = 0, train_seconds: float = 0.0):
        super().__init__()
        self.signum = None
        self.non_finite = None  # (epoch, first step, last step, term)
        self.last_completed_epoch = initial_epoch - 1
        self.stopped_mid_epoch = False
        self.train_seconds = train_seconds  # completed epochs only, over every resume
        self._begin_step = 0

    def request_stop(self, signum) -> bool:
        """Called by the signal guard: stop after this step; a second signal aborts at once."""
        if self.signum is not None:
            return False
        self.signum = signum
        console.print(
            f"[yellow]{signal.Signals(signum).name}: stopping after this step "
            "(send it again to abort at once)[/]"
        )
        return True

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._epoch_start = time.perf_counter()

    def on_train_batch_begin(self, batch, logs=None):
        self._begin_step = batch

    def on_train_batch_end(self, batch, logs=None):
        fault_point("batch")
        # Keras reports once per execution of steps_per_execution steps, with the running mean of
        # each term: a NaN is known to have appeared somewhere in that range. The total is listed
        # last so the term that caused it is named.
        bad = sorted(
            (name for name, value in (logs or {}).items() if not math.isfinite(float(value))),
            key=lambda name: name == "loss",
        )
        if bad and self.non_finite is None:
            steps = (self.params or {}).get("steps")
            last = min(batch, steps - 1) if steps else batch
            self.non_finite = (self.epoch, self._begin_step, last, bad[0])
        if bad or self.signum is not None:
            self.model.stop_training = True
            self.stopped_mid_epoch = True

    def on_epoch_end(self, epoch, logs=None):
        if not self.stopped_mid_epoch:
            self.last_completed_epoch = epoch
            self.train_seconds += time.perf_counter() - self._epoch_start
