"""Stopping a run cleanly: after the current step on SIGINT/SIGTERM, at once on a non-finite loss
term; and knowing, at every moment, which epochs completed."""

import math
import signal
import time

import keras

from aecli.console import console
from aecli.errors import UserError
from aecli.rundir.faults import fault_point
from aecli.rundir.signals import EXIT_CODES

SIGNAL_EXIT_CODES = EXIT_CODES


class Interrupted(UserError):
    """The run was stopped by a signal; its exit code is the shell's 128 + signal number."""

    def __init__(self, message: str, signum: int, epoch: int | None):
        super().__init__(message)
        self.exit_code = SIGNAL_EXIT_CODES.get(signum, 130)
        self.epoch = epoch


class Diverged(UserError):
    """A loss term became NaN or infinite."""

    exit_code = 3

    def __init__(self, message: str, epoch: int):
        super().__init__(message)
        self.epoch = epoch


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
