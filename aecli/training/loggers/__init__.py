"""The trackers a run's `logger` group chose (conf/logger/, aecli/config/logger.py): their Keras
callbacks, and what each records once the run's metrics are written.

Only the per-epoch metrics and the run's record go through here; the image grids, latent
statistics and HParams stay TensorBoard's, whichever trackers are chosen.
"""

from aecli.config.run import Strategy
from aecli.rundir.layout import RunFolder
from aecli.training import multi_worker
from aecli.training.callbacks import TensorBoard
from aecli.training.loggers.csv_history import CsvHistory


def callbacks(cfg, folder: RunFolder, stop, initial_epoch: int) -> list:
    """One callback per chosen tracker; `initial_epoch`: the epochs a resumed run's checkpoint
    holds (its trackers keep those and log the later ones anew)."""
    chosen = cfg.logger
    found = []
    if chosen.tensorboard is not None:
        found.append(TensorBoard(folder.tensorboard, stop))
    if chosen.csv is not None:
        found.append(CsvHistory(folder.history_csv, stop, initial_epoch))
    if chosen.mlflow is not None and _writes_the_run(cfg):
        # MLflow takes seconds to import: only runs that log to it pay for it
        from aecli.training.loggers.mlflow_tracking import MlflowRun

        found.append(MlflowRun(cfg, folder, stop))
    return found


def finish(cfg, folder: RunFolder, metrics: dict) -> None:
    """After metrics.json is written: the trackers that keep a run's end record it."""
    if cfg.logger.mlflow is not None and _writes_the_run(cfg):
        from aecli.training.loggers.mlflow_tracking import finish_run

        finish_run(cfg, folder, metrics)


def _writes_the_run(cfg) -> bool:
    """Whether this process's run is the one a tracker outside the run folder records: of a
    multi-worker run only the chief's (the others train into a temporary folder)."""
    return cfg.hardware.strategy != Strategy.multi_worker or multi_worker.is_chief(
        multi_worker.cluster_config()
    )
