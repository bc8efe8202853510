"""The terminal's view of training: a live rich bar on a terminal, one line per epoch otherwise."""

import time

import keras
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from aecli.console import console


def _format(logs) -> str:
    return "  ".join(f"{name} {value:.4g}" for name, value in logs.items())


class RichProgress(keras.callbacks.Callback):
    """A live bar with the loss terms on a terminal; one plain line per epoch otherwise (CI, log files)."""

    def __init__(self, epochs, steps_per_epoch, initial_epoch=0):
        super().__init__()
        self.epochs, self.steps, self.initial_epoch = epochs, steps_per_epoch, initial_epoch
        self.live = console.is_terminal
        self.progress = Progress(TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"), BarColumn(),
                                 TextColumn("{task.fields[terms]}"), TimeElapsedColumn(), console=console)

    def on_train_begin(self, logs=None):
        if self.live:
            self.progress.start()
            self.task = self.progress.add_task("train", total=self.epochs * self.steps,
                                               completed=self.initial_epoch * self.steps, epoch=self.initial_epoch + 1,
                                               epochs=self.epochs, terms="")

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.perf_counter()
        if self.live:
            self.progress.update(self.task, epoch=epoch + 1)

    def on_train_batch_end(self, batch, logs=None):
        if self.live:
            self.progress.update(self.task, completed=self.epoch_index * self.steps + batch + 1,
                                 terms=_format(logs or {}))

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.epoch_start
        line = f"epoch {epoch + 1}/{self.epochs}  {_format(logs or {})}  ({seconds:.1f}s)"
        if self.live:
            self.progress.console.print(line)
        else:
            console.print(line, soft_wrap=True)

    def on_train_end(self, logs=None):
        if self.live:
            self.progress.stop()

    @property
    def epoch_index(self):
        return self.progress.tasks[0].fields["epoch"] - 1
