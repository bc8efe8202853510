"""logger=csv: RUN/history.csv holds one row per completed epoch, its columns the same for every
row, across a resume that trains epochs again and whose epochs log other keys."""

import csv

from aecli.training.loggers.csv_history import CsvHistory
from aecli.training.stopping import StopConditions


def _rows(path):
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def test_each_epoch_is_a_row_and_a_key_an_epoch_lacks_is_an_empty_cell(tmp_path):
    path = tmp_path / "history.csv"
    history = CsvHistory(path, StopConditions(), initial_epoch=0)
    history.on_epoch_end(0, {"loss": 3.0, "val_loss": 3.5, "learning_rate": 1e-3})
    history.on_epoch_end(1, {"loss": 2.0, "val_loss": 2.5})
    assert _rows(path) == [
        {"epoch": "1", "learning_rate": "0.001", "loss": "3.0", "val_loss": "3.5"},
        {"epoch": "2", "learning_rate": "", "loss": "2.0", "val_loss": "2.5"},
    ]


def test_a_resume_rewrites_the_epochs_after_its_checkpoint_under_the_same_columns(tmp_path):
    path = tmp_path / "history.csv"
    first = CsvHistory(path, StopConditions(), initial_epoch=0)
    first.on_epoch_end(0, {"learning_rate": 1e-3, "loss": 3.0, "val_loss": 3.5})
    first.on_epoch_end(1, {"loss": 2.0, "val_loss": 2.5})
    first.on_epoch_end(
        2, {"loss": 1.5, "val_loss": 2.2}
    )  # logged, then killed before its checkpoint
    # keras.callbacks.CSVLogger(append=True) writes this epoch again, a second row for epoch 3,
    # under a header whose second column is learning_rate
    resumed = CsvHistory(path, StopConditions(initial_epoch=2), initial_epoch=2)
    resumed.on_epoch_end(2, {"loss": 1.4, "val_loss": 2.1, "kl": 0.5})
    rows = _rows(path)
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    assert rows[2] == {
        "epoch": "3",
        "learning_rate": "",
        "loss": "1.4",
        "val_loss": "2.1",
        "kl": "0.5",
    }
    assert rows[0]["kl"] == "" and rows[0]["learning_rate"] == "0.001"
    assert [path.name for path in tmp_path.iterdir()] == ["history.csv"]  # no temporary left


def test_a_partial_epoch_stopped_by_a_signal_writes_no_row(tmp_path):
    path = tmp_path / "history.csv"
    stop = StopConditions()
    history = CsvHistory(path, stop, initial_epoch=0)
    history.on_epoch_end(0, {"loss": 3.0})
    stop.stopped_mid_epoch = True
    history.on_epoch_end(1, {"loss": 2.0})
    assert [row["epoch"] for row in _rows(path)] == ["1"]
