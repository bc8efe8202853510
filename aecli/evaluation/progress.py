"""The bar over a final evaluation: transient, on a terminal only, and not under `-q`."""

import contextlib

import keras
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from aecli.console import QUIET, console, verbosity


class _Advance(keras.callbacks.Callback):
    def __init__(self, advance):
        super().__init__()
        self.advance = advance

    def on_test_batch_end(self, batch, logs=None):
        self.advance()


@contextlib.contextmanager
def evaluation_progress(total: int | None, description: str = "evaluating", unit: str = "batches"):
    """A transient bar over `total` `unit`s on a terminal; yields `advance(n=1)` and a Keras
    callback that advances it per `model.evaluate` batch."""
    if not (console.is_terminal and verbosity() > QUIET):
        yield (lambda n=1: None), _Advance(lambda: None)
        return
    with Progress(
        TextColumn(description),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        TextColumn("<"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)

        def advance(n=1):
            progress.advance(task, n)

        yield advance, _Advance(advance)
