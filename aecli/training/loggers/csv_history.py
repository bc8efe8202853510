"""logger=csv: one row per completed epoch in RUN/history.csv, for pandas or a spreadsheet.

Not keras.callbacks.CSVLogger: it fixes its columns from the first epoch a process trains, so
after a resume whose first epoch lacks a key the first process logged (`learning_rate` is logged
only when it changes: aecli.training.optimization.LearningRateLog), its rows are appended under
the wrong header; and it appends the epochs a resume trains again after the last checkpoint a
second time. Here the whole file is rewritten atomically after each epoch (a kill leaves the old
file or the new, never a torn row), its columns the union of every epoch's keys.
"""

import csv
import io
from pathlib import Path

import keras

from aecli.rundir.atomic import write_text

EPOCH = "epoch"


class CsvHistory(keras.callbacks.Callback):
    """`epoch` (1 = the first, as status.json and the progress bar count), then each key of the
    epoch's logs; a key an epoch lacks is an empty cell. A resumed run keeps the rows of the
    epochs its checkpoint holds (`initial_epoch` of them) and writes the later ones anew."""

    def __init__(self, path: Path, stop, initial_epoch: int):
        super().__init__()
        self.path, self.stop = Path(path), stop
        self.columns, self.rows = [EPOCH], []
        if initial_epoch and self.path.exists():
            with open(self.path, newline="") as stream:
                reader = csv.DictReader(stream)
                self.columns = list(reader.fieldnames or [EPOCH])
                self.rows = [row for row in reader if _epoch(row) <= initial_epoch]

    def on_epoch_end(self, epoch, logs=None):
        if self.stop.stopped_mid_epoch:
            return  # a partial epoch is trained again on resume
        logs = logs or {}
        self.columns += sorted(key for key in logs if key not in self.columns)
        self.rows.append({EPOCH: epoch + 1, **{key: float(value) for key, value in logs.items()}})
        text = io.StringIO()
        writer = csv.DictWriter(
            text, self.columns, restval="", extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(self.rows)
        write_text(self.path, text.getvalue())


def _epoch(row: dict) -> float:
    """A row's epoch; a row damaged by hand sorts after every epoch, so a resume drops it."""
    try:
        return int(row[EPOCH])
    except (TypeError, ValueError):
        return float("inf")
