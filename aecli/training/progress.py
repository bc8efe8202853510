"""The terminal's view of training: a live rich bar on a terminal (epoch, steps, samples/s,
elapsed and remaining time), one line per epoch with the same terms each time, as many as fit the
terminal (100 columns at most). `-q` shows none of it (aecli/evaluation/progress.py has the bar
over the final evaluation)."""

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

# the widest an epoch line gets (log files, CI); a narrower terminal gets its own width
LINE_WIDTH = 100
# the terms a reader looks at first; the rest follow while the line has room (TensorBoard has all)
_FIRST = (
    *("loss", "val_loss", "recon", "val_recon", "kl", "tc"),
    *("learning_rate", "beta_effective", "capacity"),  # logged only while a schedule moves them
    *("val_kl", "val_tc"),
)
_SHORT = {"learning_rate": "lr", "beta_effective": "β", "capacity": "C"}
# the room kept for a value (`.4g` of a loss, e.g. -250.9 or 3.185): terms are chosen to fit
# at that width, so the same terms fit every epoch; a wider value (1.234e-05) drops the last
# terms of its own line rather than overflow it
_VALUE_WIDTH = 6


def _render(head: str, names: list[str], value) -> str:
    """`head  train terms  | val terms  extras`, each term `name value(name)`."""
    train = [
        f"{_SHORT.get(n, n)} {value(n)}"
        for n in names
        if not n.startswith("val_") and n not in _SHORT
    ]
    val = [f"{n[4:]} {value(n)}" for n in names if n.startswith("val_")]
    extra = [f"{_SHORT[n]} {value(n)}" for n in names if n in _SHORT]
    parts = [head, " ".join(train)]
    if val:
        parts.append("| val " + " ".join(val))
    if extra:
        parts.append(" ".join(extra))
    return "  ".join(p for p in parts if p)


def epoch_terms(names: list[str], epochs: int, width: int = LINE_WIDTH) -> list[str]:
    """The logged terms an epoch line shows, chosen once: the first terms (loss, recon, kl, tc,
    a scheduled lr, β or C, then the validation twins), then the others in their order, each
    while the line still fits `width` with every value `_VALUE_WIDTH` wide."""

    def rank(name):
        if name in _FIRST:
            return _FIRST.index(name), 0
        return len(_FIRST) + name.startswith("val_"), names.index(name)

    head = f"epoch {epochs}/{epochs} 99.9s"
    shown: list[str] = []
    for name in sorted(names, key=rank):
        trial = [n for n in names if n in shown or n == name]
        if len(_render(head, trial, lambda _: "x" * _VALUE_WIDTH)) <= width:
            shown.append(name)
    return shown


def epoch_line(
    epoch: int, epochs: int, logs: dict, seconds: float, terms: list[str], width: int = LINE_WIDTH
) -> str:
    """`epoch 3/10 2.1s  loss 4.12 recon 3.1 kl 1.02  | val loss 3.98 recon 3.1 kl 0.88  lr 0.001`:
    the chosen `terms`, training ones first, then the validation ones grouped, within `width`."""
    head = f"epoch {epoch + 1}/{epochs} {seconds:.1f}s"
    shown = [n for n in terms if n in logs]
    line = _render(head, shown, lambda n: f"{float(logs[n]):.4g}")
    while len(line) > width and shown:
        shown.pop()
        line = _render(head, shown, lambda n: f"{float(logs[n]):.4g}")
    return line


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
        self.terms = None

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
        logs = logs or {}
        width = min(console.width, LINE_WIDTH)
        if self.terms is None:  # the same terms every epoch, chosen for this terminal's width
            self.terms = epoch_terms(list(logs), self.epochs, width)
        seconds = time.perf_counter() - self.epoch_start
        line = epoch_line(epoch, self.epochs, logs, seconds, self.terms, width)
        if self.live:
            self.progress.console.print(line, markup=False)
        else:
            console.print(line, soft_wrap=True, markup=False)

    def on_train_end(self, logs=None):
        if self.live:
            self.progress.stop()
