"""logger=mlflow: a run of aecli as an MLflow run, through MLflow's own client (MlflowClient).

params: every value of the run's config, flattened (`model.beta`, `trainer.learning_rate`, ...),
so any of them can filter or compare runs whether or not it was overridden; metrics: each
epoch's losses at step = the epoch (1 = the first), then the numbers of metrics.json at the last
epoch's step; artifacts: the config, the command line's overrides, metrics.json, provenance.json,
preprocessing.json and history.csv (logger=csv). A sweep's jobs are the runs of one experiment.

RUN/mlflow_run.json names the MLflow run, so `aecli resume` goes on logging to it. MLflow keeps
every value logged: the epochs a resume trains again after its checkpoint
(trainer.checkpoint_every > 1) appear twice in a metric's history, the later one last.
"""

import contextlib
import fcntl
import json
import logging
import os
import time
from pathlib import Path

import keras
import yaml
from omegaconf import OmegaConf

from aecli.config.logger import MLFLOW_INSTALL
from aecli.console import say
from aecli.errors import UserError
from aecli.rundir.atomic import write_json
from aecli.rundir.layout import RunFolder

# MLflow 3 reports its use to its makers unless told not to: a run tracked locally stays local
# (set MLFLOW_DISABLE_TELEMETRY=false to allow it)
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
try:
    from mlflow.entities import Metric, Param
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient
except ImportError as missing:  # the config's check found it; an install broken since says so
    raise UserError(
        f"logger=mlflow needs MLflow, which cannot be imported ({missing}). Install it with "
        f"`{MLFLOW_INSTALL}`, or choose another tracker: `logger=tensorboard` or `logger=csv`."
    ) from None
# its INFO lines (creating a new store's tables) are said once, by aecli, when a run is created
logging.getLogger("mlflow").setLevel(logging.WARNING)

# MLflow's limits on one log_batch call and on a param's value
PARAMS_PER_BATCH = 100
MAX_PARAM_LENGTH = 6000
SQLITE = "sqlite:///"


class MlflowRun(keras.callbacks.Callback):
    """Opens (or, for a resumed run, reopens) the run's MLflow run, logs each completed epoch's
    metrics, and marks the run killed or failed when a signal or a non-finite loss stops fit."""

    def __init__(self, cfg, folder: RunFolder, stop):
        super().__init__()
        self.stop = stop
        self.uri = cfg.logger.mlflow.tracking_uri
        with _tracking(self.uri) as client:
            self.client = client
            self.run_id = _reopened(client, folder, self.uri, params(cfg))
            if self.run_id is None:
                self.run_id = _created(client, cfg, folder)

    def on_epoch_end(self, epoch, logs=None):
        if self.stop.stopped_mid_epoch:
            return  # a partial epoch is trained again on resume
        now = _milliseconds()
        metrics = [Metric(key, float(value), now, epoch + 1) for key, value in (logs or {}).items()]
        with _locked(self.uri):
            self.client.log_batch(self.run_id, metrics=metrics)

    def on_train_end(self, logs=None):
        if self.stop.signum is not None or self.stop.non_finite is not None:
            status = "KILLED" if self.stop.signum is not None else "FAILED"
            with _locked(self.uri):
                self.client.set_terminated(self.run_id, status)


def finish_run(cfg, folder: RunFolder, metrics: dict) -> None:
    """The numbers of metrics.json (but the config values it repeats, e.g. seed, and the values
    the last epoch logged already), the run's key files as artifacts, and the run marked
    finished."""
    saved = json.loads(folder.mlflow_run.read_text())
    flat = params(cfg)
    now, step = _milliseconds(), metrics["epochs_completed"]
    with _tracking(saved["tracking_uri"]) as client:
        latest = client.get_run(saved["run_id"]).data.metrics
        numbers = [
            Metric(key, float(value), now, step)
            for key, value in metrics.items()
            if isinstance(value, (int, float))
            and not isinstance(value, bool)
            and key not in flat
            and latest.get(key) != value  # val_loss: the last epoch's, unless early stopping
        ]
        client.log_batch(saved["run_id"], metrics=numbers)
        for path, under in (
            (folder.config, "hydra"),
            (folder.overrides, "hydra"),
            (folder.metrics, None),
            (folder.provenance, None),
            (folder.preprocessing, None),
            (folder.history_csv, None),
        ):
            if path.exists():
                client.log_artifact(saved["run_id"], str(path), under)
        client.set_terminated(saved["run_id"], "FINISHED")


def params(cfg) -> dict[str, str]:
    """The run's config as MLflow params: one per value, keyed by its dotted path."""
    flat = {}

    def walk(node, prefix):
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                text = "null" if value is None else str(value)
                flat[f"{prefix}{key}"] = text[:MAX_PARAM_LENGTH]

    walk(OmegaConf.to_container(OmegaConf.structured(cfg), enum_to_str=True), "")
    return flat


def experiment_name(cfg, folder: RunFolder) -> str:
    """logger.mlflow.experiment_name, or the sweep's folder (relative to paths.log_dir when
    under it) for a sweep's job, or the task (train, anomaly) for a single run."""
    if cfg.logger.mlflow.experiment_name:
        return cfg.logger.mlflow.experiment_name
    try:
        mode = (yaml.safe_load(folder.hydra_config.read_text()) or {}).get("mode")
    except (OSError, yaml.YAMLError):
        mode = None
    if mode != "MULTIRUN":
        return cfg.task_name
    sweep = folder.path.resolve().parent
    with contextlib.suppress(ValueError):
        return str(sweep.relative_to(Path(cfg.paths.log_dir).resolve()))
    return str(sweep)


def _created(client, cfg, folder: RunFolder) -> str:
    settings = cfg.logger.mlflow
    name = experiment_name(cfg, folder)
    experiment = client.get_experiment_by_name(name)
    experiment_id = (
        experiment.experiment_id
        if experiment is not None
        else client.create_experiment(name, artifact_location=settings.artifact_location)
    )
    run = client.create_run(
        experiment_id, run_name=folder.path.name, tags={"aecli.run_folder": str(folder.path)}
    )
    values = [Param(key, value) for key, value in params(cfg).items()]
    for start in range(0, len(values), PARAMS_PER_BATCH):
        client.log_batch(run.info.run_id, params=values[start : start + PARAMS_PER_BATCH])
    write_json(
        folder.mlflow_run,
        {"tracking_uri": settings.tracking_uri, "experiment": name, "run_id": run.info.run_id},
    )
    say(f"MLflow: run {folder.path.name} of experiment {name} in {settings.tracking_uri}")
    return run.info.run_id


def _reopened(client, folder: RunFolder, tracking_uri: str, flat: dict) -> str | None:
    """The MLflow run a resumed run logged to, running again; its params as they were, but those
    a resume added (new ones are logged; changed ones, e.g. trainer.epochs of an extended run,
    are recorded in the tag `aecli.resumed_with`, as MLflow params never change)."""
    if not folder.mlflow_run.exists():
        return None
    saved = json.loads(folder.mlflow_run.read_text())
    if saved.get("tracking_uri") != tracking_uri:
        return None
    run_id = saved["run_id"]
    before = client.get_run(run_id).data.params
    client.update_run(run_id, status="RUNNING")
    added = [Param(key, value) for key, value in flat.items() if key not in before]
    for start in range(0, len(added), PARAMS_PER_BATCH):
        client.log_batch(run_id, params=added[start : start + PARAMS_PER_BATCH])
    changed = [f"{key}={value}" for key, value in flat.items() if before.get(key, value) != value]
    if changed:
        client.set_tag(run_id, "aecli.resumed_with", " ".join(changed))
    return run_id


@contextlib.contextmanager
def _tracking(uri: str):
    """MlflowClient on `uri`, held as `_locked` holds it."""
    with _locked(uri):
        yield MlflowClient(tracking_uri=uri)


@contextlib.contextmanager
def _locked(uri: str):
    """One process at a time on a local SQLite file (the jobs of a parallel sweep would otherwise
    each create a new file's tables, and the sweep's experiment, at once, and meet SQLite's
    `database is locked`); MLflow's errors as one paragraph."""
    with contextlib.ExitStack() as held:
        if uri.startswith(SQLITE):
            database = Path(uri[len(SQLITE) :])
            database.parent.mkdir(parents=True, exist_ok=True)
            lock = held.enter_context(open(database.with_name(f".{database.name}.lock"), "a"))
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        except MlflowException as error:
            raise UserError(
                f"MLflow could not record the run at {uri}: {str(error).splitlines()[0]}. Check "
                "logger.mlflow.tracking_uri (a server must be running and reachable, a "
                "sqlite:/// file writable), or train with another tracker (`logger=tensorboard`)."
            ) from None


def _milliseconds() -> int:
    return int(time.time() * 1000)
