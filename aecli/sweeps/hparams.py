"""TensorBoard HParams records: one session per run, hyperparameters = its swept values (or, for a
single run, its overrides), metrics = its final test metrics, and how it ended."""

import os
import shutil
from datetime import datetime
from pathlib import Path

from aecli.rundir.layout import RunFolder
from aecli.rundir.listing import Run
from aecli.sweeps.aggregate import is_number


def _tag(metric: str) -> str:
    return "test/" + metric.removeprefix("test_")


def final_metrics(metrics: dict) -> dict:
    """The numbers a run ends with on its test split (every `test_*` key, and the active units)."""
    return {
        key: value
        for key, value in metrics.items()
        if (key.startswith("test_") or key == "active_units") and is_number(value)
    }


def _seconds(timestamp: str | None) -> float | None:
    return datetime.fromisoformat(timestamp).timestamp() if timestamp else None


def _hparam(value):
    """TensorBoard takes numbers, strings and bools; anything else (a list) as its text."""
    return value if isinstance(value, (int, float, str, bool)) else str(value)


def write_session(
    folder: Path,
    hparams: dict,
    trial_id: str,
    metrics: dict,
    status: str,
    started: str | None = None,
    ended: str | None = None,
) -> None:
    """One HParams session in RUN/tensorboard/hparams, replacing any earlier one: written into a
    folder beside it, which then takes its place, so a disk that refuses the write (full,
    read-only) leaves the earlier session as it was."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp
    from tensorboard.plugins.hparams import api_pb2
    from tensorboard.plugins.hparams.summary import session_end_pb

    ends = {"completed": api_pb2.STATUS_SUCCESS, "failed": api_pb2.STATUS_FAILURE}
    target = RunFolder(Path(folder)).tensorboard_run("hparams")
    fresh = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    stale = target.with_name(f".{target.name}.{os.getpid()}.old.tmp")
    try:
        shutil.rmtree(fresh, ignore_errors=True)
        writer = tf.summary.create_file_writer(str(fresh))
        with writer.as_default():
            hp.hparams(
                {key: _hparam(value) for key, value in hparams.items() if value is not None},
                trial_id=trial_id,
                start_time_secs=_seconds(started),
            )
            for name, value in final_metrics(metrics).items():
                tf.summary.scalar(_tag(name), value, step=0)
            end = session_end_pb(ends.get(status, api_pb2.STATUS_UNKNOWN), _seconds(ended))
            tf.summary.experimental.write_raw_pb(end.SerializeToString(), step=0)
        writer.close()
        if target.exists():
            os.replace(target, stale)
        os.replace(fresh, target)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(stale, ignore_errors=True)


def write_hparams(sweep_dir: Path, runs: list[Run], swept: dict[str, list]) -> None:
    """One session per run of a sweep: the swept values as hyperparameters.

    No experiment summary is written: TensorBoard shows only one of those (the first it finds), so
    with several sweeps under one log folder the others' hyperparameters would vanish from the
    dashboard; without one it collects the hyperparameters and metrics of every session. The trial
    id names the sweep too, because TensorBoard averages sessions that share one.
    """
    for index, run in enumerate(runs):
        write_session(
            run.path,
            {key: values[index] for key, values in swept.items()},
            f"{Path(sweep_dir).name}/{run.path.name}",
            run.metrics,
            run.status,
            run.started,
            run.ended,
        )


def override_hparams(overrides: list[str]) -> dict:
    """A run's command-line overrides as hyperparameters: `beta=4` -> {"beta": 4.0}; numbers as
    numbers so TensorBoard can sort and plot them, everything else as its text."""
    params = {}
    for item in overrides:
        key, _, value = str(item).partition("=")
        if not _ or key.startswith("hydra"):
            continue
        try:
            params[key.lstrip("+~")] = float(value)
        except ValueError:
            params[key.lstrip("+~")] = value
    return params


def write_run_hparams(folder: Path, overrides: list[str], metrics: dict, status: str) -> None:
    """The HParams session of a single run (`aecli train` without -m): hyperparameters = its
    overrides, metrics = its final test metrics. The trial id is the run folder's path below the
    log folder's task folder (e.g. `train/2026-05-01_12-00-00_ab12cd`), unique per run."""
    folder = Path(folder)
    write_session(
        folder, override_hparams(overrides), f"{folder.parent.name}/{folder.name}", metrics, status
    )
