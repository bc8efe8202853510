"""Where a run's per-epoch metrics go: the `logger` group (conf/logger/), one key per tracker.

Each option of the group sets its own key, so `logger=[tensorboard,mlflow]` selects several and
`logger=[]` none; a key left null is a tracker not used. The trackers themselves are
aecli/training/loggers/.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Optional

from omegaconf import MISSING

from aecli.errors import ConfigError

# what `pip install 'aecli[mlflow]'` brings (pyproject.toml's optional dependencies)
MLFLOW_INSTALL = "pip install 'aecli[mlflow]'"


@dataclass
class TensorBoardLoggerConfig:
    """Losses and the learning rate as TensorBoard scalars in RUN/tensorboard/{train,validation}
    (Keras' TensorBoard callback)."""


@dataclass
class CsvLoggerConfig:
    """One row per completed epoch in RUN/history.csv (aecli/training/loggers/csv_history.py)."""


@dataclass
class MlflowLoggerConfig:
    """MLflow tracking (aecli/training/loggers/mlflow_tracking.py).

    tracking_uri: where runs are recorded: a local SQLite file (`sqlite:///PATH`) or a tracking
                  server's URL.
    artifact_location: where an experiment aecli creates keeps its runs' files (null: the
                       tracking server's default); an existing experiment keeps its own.
    experiment_name: null: a sweep's jobs share one experiment named after the sweep's folder, a
                     single run goes to the experiment of its task (`train`, `anomaly`).
    """

    tracking_uri: str = MISSING
    artifact_location: Optional[str] = None
    experiment_name: Optional[str] = None

    def __post_init__(self) -> None:
        # found without importing it (seconds): the refusal comes before anything is written
        if importlib.util.find_spec("mlflow") is None:
            raise ConfigError(
                "logger=mlflow needs MLflow, which is not installed in this Python environment. "
                f"Install it with `{MLFLOW_INSTALL}` (or `pip install 'mlflow>=3.17,<4'`), or "
                "choose another tracker: `logger=tensorboard` or `logger=csv`."
            )


@dataclass
class LoggerConfig:
    """The trackers of a run: each one chosen is set, the others are null."""

    tensorboard: Optional[TensorBoardLoggerConfig] = None
    csv: Optional[CsvLoggerConfig] = None
    mlflow: Optional[MlflowLoggerConfig] = None
