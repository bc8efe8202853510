"""TensorBoard HParams records: one session per run, hyperparameters = every value it used (its
config's groups and its composed config's scalars, flattened: `model=vae`, `model.beta`,
`dataset.limit`, `seed`, ...), metrics = its validation objective and final test metrics, and how
it ended; beside them, in the TEXT tab, the config itself as YAML.

Every value, not only the overrides: a value set once for a whole sweep, or left at its default,
still filters and colours TensorBoard's parallel-coordinates view. TensorBoard lists the
hyperparameters that differ between sessions first, so the constant ones do not crowd it.
"""

import os
import reprlib
import shutil
from datetime import datetime
from pathlib import Path

from aecli.rundir.layout import RunFolder
from aecli.rundir.listing import Run, read_run
from aecli.sweeps.aggregate import is_number
from aecli.sweeps.discover import hydra_config


def _tag(metric: str) -> str:
    """`test_kl` -> `test/kl`, `val_loss` -> `val/loss`."""
    split, _, name = metric.partition("_")
    return f"{split}/{name}" if split in ("test", "val") and name else metric


def final_metrics(metrics: dict) -> dict:
    """The numbers a run ends with: on its validation split (every `val_*` key: the objective a
    search optimises) and its test split (every `test_*` key), and the active units."""
    return {
        key: value
        for key, value in metrics.items()
        if (key.startswith(("test_", "val_")) or key == "active_units") and is_number(value)
    }


# a real config has under 100 values; a hand-edited one whose YAML aliases share sections could
# flatten into billions
_MOST_VALUES = 1000


def _flat(config: dict, prefix: str = "", within: tuple = (), values: dict | None = None) -> dict:
    """`{"model": {"beta": 4}}` -> `{"model.beta": 4}`, up to _MOST_VALUES values; a section
    that holds itself (a YAML alias in a hand-edited file) is not entered again."""
    values = {} if values is None else values
    within = (*within, id(config))
    for key, value in config.items():
        if len(values) >= _MOST_VALUES:
            break
        if not isinstance(value, dict):
            values[f"{prefix}{key}"] = value
        elif id(value) not in within:
            _flat(value, f"{prefix}{key}.", within, values)
    return values


def used_values(run: Run) -> dict:
    """Every value a run used: the option of each config group (`model=vae`, `debug=smoke`, from
    Hydra's record of the run; not Hydra's own groups) and each value of its composed config (as
    `aecli resume` last wrote it), flattened to dotted keys."""
    runtime = hydra_config(run.path).get("runtime")
    choices = runtime.get("choices") if isinstance(runtime, dict) else None
    groups = {
        str(group): choice
        for group, choice in (choices.items() if isinstance(choices, dict) else ())
        if not str(group).startswith("hydra") and choice is not None
    }
    return {**groups, **_flat(run.config)}


def _config_text(folder: Path) -> str | None:
    try:
        return RunFolder(folder).config.read_text()
    except (OSError, ValueError):
        return None


def _seconds(timestamp: str | None) -> float | None:
    return datetime.fromisoformat(timestamp).timestamp() if timestamp else None


# a list's text as TensorBoard shows it: `[16, 32]`, its first items where long or nested deep
# (whose whole text a YAML alias could make exponentially long)
_TEXT = reprlib.Repr()  # keyword arguments only from Python 3.12
_TEXT.maxlevel, _TEXT.maxlist, _TEXT.maxstring, _TEXT.maxother = 3, 20, 200, 200


def _hparam(value):
    """TensorBoard takes numbers, strings and bools; anything else (a list) as its text."""
    return value if isinstance(value, (int, float, str, bool)) else _TEXT.repr(value)


def write_session(
    folder: Path,
    hparams: dict,
    trial_id: str,
    metrics: dict,
    status: str,
    started: str | None = None,
    ended: str | None = None,
    config_text: str | None = None,
) -> None:
    """One HParams session in RUN/tensorboard/hparams, with `config_text` (the run's config.yaml)
    in the TEXT tab, replacing any earlier one: written into a folder beside it, which then takes
    its place, so a disk that refuses the write (full, read-only) leaves the earlier session as it
    was."""
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
            if config_text is not None:
                # TensorBoard renders text as Markdown: a fenced block keeps the YAML as written
                tf.summary.text("config", f"```\n{config_text.rstrip()}\n```", step=0)
        writer.close()
        if target.exists():
            os.replace(target, stale)
        os.replace(fresh, target)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(stale, ignore_errors=True)


def write_hparams(sweep_dir: Path, runs: list[Run], swept: dict[str, list]) -> None:
    """One session per run of a sweep: every value it used (the swept ones as its overrides say,
    for a run whose config is missing) and its config as text.

    No experiment summary is written: TensorBoard shows only one of those (the first it finds), so
    with several sweeps under one log folder the others' hyperparameters would vanish from the
    dashboard; without one it collects the hyperparameters and metrics of every session. The trial
    id names the sweep too, because TensorBoard averages sessions that share one.
    """
    for index, run in enumerate(runs):
        swept_here = {key: values[index] for key, values in swept.items()}
        write_session(
            run.path,
            {**used_values(run), **{k: v for k, v in swept_here.items() if v is not None}},
            f"{Path(sweep_dir).name}/{run.path.name}",
            run.metrics,
            run.status,
            run.started,
            run.ended,
            _config_text(run.path),
        )


def write_run_hparams(folder: Path, metrics: dict, status: str) -> None:
    """The HParams session of a single run (`aecli train` without -m): every value it used, its
    final metrics, its config as text. The trial id is the run folder's path below the log
    folder's task folder (e.g. `train/2026-05-01_12-00-00_ab12cd`), unique per run."""
    folder = Path(folder)
    write_session(
        folder,
        used_values(read_run(folder)),
        f"{folder.parent.name}/{folder.name}",
        metrics,
        status,
        config_text=_config_text(folder),
    )
