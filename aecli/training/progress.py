"""The terminal's view of training: a live rich bar on a terminal (epoch, steps, samples/s,
elapsed and remaining time), one line per epoch that fits 100 columns, and a bar for the final
evaluation. `-q` shows none of it."""

import contextlib
import time

import keras
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from aecli.console import QUIET, console, verbosity

LINE_WIDTH = 100
# the terms a reader looks at first; the rest follow while the line has room (TensorBoard has all)
_FIRST = ("loss", "val_loss", "recon", "val_recon", "kl", "val_kl")
_SHORT = {"learning_rate": "lr", "beta_effective": "β", "capacity": "C"}


def _term(name: str, value) -> str:
    return f"{_SHORT.get(name, name)} {float(value):.4g}"


def epoch_line(epoch: int, epochs: int, logs: dict, seconds: float, width: int = LINE_WIDTH) -> str:
    """`epoch 3/10 2.1s  loss 4.12 recon 3.1 kl 1.02 | val loss 3.98 recon 3.1 kl 0.88  lr 0.001`:
    training terms, then the validation ones grouped, with as many terms as fit in `width`."""
    head = f"epoch {epoch + 1}/{epochs} {seconds:.1f}s"
    names = list(logs)

    def rank(name):
        if name in _FIRST:
            return _FIRST.index(name), 0
        return len(_FIRST) + (2 if name in _SHORT else name.startswith("val_")), names.index(name)

    order = sorted(names, key=rank)
    names = [n for n in order if n in _FIRST] + [n for n in names if n not in _FIRST]

    def render(shown: set) -> str:
        train = [
            _term(n, logs[n])
            for n in names
            if n in shown and not n.startswith("val_") and n not in _SHORT
        ]
        val = [_term(n[4:], logs[n]) for n in names if n in shown and n.startswith("val_")]
        extra = [_term(n, logs[n]) for n in names if n in shown and n in _SHORT]
        parts = [head, " ".join(train)]
        if val:
            parts.append("| val " + " ".join(val))
        if extra:
            parts.append(" ".join(extra))
        return "  ".join(p for p in parts if p)

    shown: set = set()
    for name in order:
        if len(render(shown | {name})) <= width:
            shown.add(name)
    return render(shown)


class _SamplesPerSecond(ProgressColumn):
    def __init__(self, batch_size: int):
        super().__init__()
        self.batch_size = batch_size

    def render(self, task) -> Text:
        speed = task.speed
        return Text("" if speed is None else f"{speed * self.batch_size:,.0f} samples/s")


class RichProgress(keras.callbacks.Callback):
    """A live bar on a terminal and a line per completed epoch; the plain lines alone otherwise
    (CI, log files). The bar is transient: when training ends only the epoch lines remain."""

    def __init__(self, epochs, steps_per_epoch, initial_epoch=0, batch_size=1):
        super().__init__()
        self.epochs, self.steps, self.initial_epoch = epochs, steps_per_epoch, initial_epoch
        self.shown = verbosity() > QUIET
        self.live = self.shown and console.is_terminal
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("steps"),
            _SamplesPerSecond(batch_size),
            TimeElapsedColumn(),
            TextColumn("<"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[loss]}"),
            console=console,
            transient=True,
        )
        self.epoch_index = initial_epoch

    def on_train_begin(self, logs=None):
        if self.live:
            self.progress.start()
            self.task = self.progress.add_task(
                "train",
                total=self.epochs * self.steps,
                completed=self.initial_epoch * self.steps,
                epoch=self.initial_epoch + 1,
                epochs=self.epochs,
                loss="",
            )

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.perf_counter()
        self.epoch_index = epoch
        if self.live:
            self.progress.update(self.task, epoch=epoch + 1)

    def on_train_batch_end(self, batch, logs=None):
        if self.live:
            loss = (logs or {}).get("loss")
            self.progress.update(
                self.task,
                completed=self.epoch_index * self.steps + batch + 1,
                loss="" if loss is None else f"loss {float(loss):.4g}",
            )

    def on_epoch_end(self, epoch, logs=None):
        if not self.shown:
            return
        line = epoch_line(epoch, self.epochs, logs or {}, time.perf_counter() - self.epoch_start)
        if self.live:
            self.progress.console.print(line, markup=False)
        else:
            console.print(line, soft_wrap=True, markup=False)

    def on_train_end(self, logs=None):
        if self.live:
            self.progress.stop()


class _Advance(keras.callbacks.Callback):
    def __init__(self, advance):
        super().__init__()
        self.advance = advance

    def on_test_batch_end(self, batch, logs=None):
        self.advance()


@contextlib.contextmanager
def evaluation_progress(total: int | None, description: str = "evaluating"):
    """A transient bar over `total` batches on a terminal; yields `advance(n=1)` and a Keras
    callback that advances it per `model.evaluate` batch."""
    if not (console.is_terminal and verbosity() > QUIET):
        yield (lambda n=1: None), _Advance(lambda: None)
        return
    with Progress(
        TextColumn(description),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TextColumn("batches"),
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
