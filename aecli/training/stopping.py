"""Stopping a run cleanly: after the current step on SIGINT/SIGTERM, at once on a non-finite loss term."""

import math
import signal

import keras

from aecli.console import console
from aecli.errors import UserError

SIGNAL_EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Interrupted(UserError):
    """The run was stopped by a signal; its exit code is the shell's 128 + signal number."""

    def __init__(self, message: str, signum: int, epoch: int):
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
    """Watches for signals and non-finite loss terms; knows which epochs completed.

    A partial epoch (stopped mid-way) is not counted as completed: checkpoints and TensorBoard
    skip it, and a resumed run trains it again from its start.
    """

    def __init__(self, initial_epoch: int = 0):
        super().__init__()
        self.signum = None
        self.non_finite = None  # (epoch, step, term)
        self.last_completed_epoch = initial_epoch - 1
        self.stopped_mid_epoch = False
        self._previous_handlers = {}

    def _on_signal(self, signum, frame):
        if self.signum is not None:  # a second Ctrl-C aborts without waiting
            raise KeyboardInterrupt
        self.signum = signum
        console.print(f"[yellow]{signal.Signals(signum).name}: stopping after this step and saving a checkpoint "
                      "(send it again to abort at once)[/]")

    def on_train_begin(self, logs=None):
        for signum in SIGNAL_EXIT_CODES:
            self._previous_handlers[signum] = signal.signal(signum, self._on_signal)

    def on_train_end(self, logs=None):
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        # the total is listed last so the term that caused it is named
        bad = sorted((name for name, value in (logs or {}).items() if not math.isfinite(float(value))),
                     key=lambda name: name == "loss")
        if bad and self.non_finite is None:
            self.non_finite = (self.epoch, batch, bad[0])
        if bad or self.signum is not None:
            self.model.stop_training = True
            self.stopped_mid_epoch = True

    def on_epoch_end(self, epoch, logs=None):
        if not self.stopped_mid_epoch:
            self.last_completed_epoch = epoch
