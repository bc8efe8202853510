"""Hydra callbacks of aecli (registered in conf/hydra/default.yaml)."""

import logging
import os
import sys
import textwrap
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException

from aecli.console import report_error
from aecli.errors import UserError
from aecli.rundir.faults import fault_point
from aecli.rundir.layout import RunFolder


def _check_writable(folder: Path) -> None:
    """Refuse, before Hydra tries to create `folder`, when its nearest existing ancestor cannot
    hold it."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        report_error(
            UserError(
                f"Cannot create the run folder {folder}: {existing} is not a writable folder. "
                "Point `paths.log_dir=...` (or `hydra.run.dir=...`) at a folder you can write to."
            )
        )
        sys.exit(2)


def _check_unused_sweep_dir(folder: Path) -> None:
    """Refuse a sweep folder that holds an earlier sweep, before Hydra writes its multirun.yaml
    and before any job starts: re-running into it would rewrite the earlier runs' records."""
    if not folder.is_dir():
        return
    earlier = sorted(
        path.name for path in folder.iterdir() if path.is_dir() and RunFolder(path).holds_run()
    )
    if not earlier and not (folder / "multirun.yaml").exists():
        return
    runs = (
        f" (runs {', '.join(earlier[:8])}{' ...' if len(earlier) > 8 else ''})" if earlier else ""
    )
    report_error(
        UserError(
            f"The sweep folder {folder} already holds an earlier sweep{runs}, and aecli never "
            "overwrites a run's records; nothing was written. Pick a new folder "
            "with `hydra.sweep.dir=...` (or drop that override to get a fresh one); "
            "to finish a run "
            f"of that sweep, use `aecli resume {folder}/<run>`, and `aecli summarize {folder}` "
            "rebuilds its summary."
        )
    )
    sys.exit(2)


class CheckOutputDir(Callback):
    """Before Hydra creates the output folder: a clear message instead of its traceback when the
    folder is not writable, and a refusal of a sweep folder that holds an earlier sweep.

    Hydra sets its HydraConfig only when the job starts, but the folders' paths interpolate it
    (`${hydra:runtime.cwd}`), so it is set here from the config Hydra passes."""

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        HydraConfig.instance().set_config(config)  # as below: hydra.run.dir may use it
        run_dir = _resolved_folder(config, "run")
        if run_dir is not None:
            _check_writable(run_dir)

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        HydraConfig.instance().set_config(config)
        sweep_dir = _resolved_folder(config, "sweep")
        if sweep_dir is not None:
            _check_writable(sweep_dir)
            _check_unused_sweep_dir(sweep_dir)


def _resolved_folder(config: DictConfig, mode: str) -> Path | None:
    """hydra.run.dir or hydra.sweep.dir, absolute; None when it does not resolve (e.g.
    `hydra.run.dir=${oops}`): Hydra resolves it next and that error is reported in one paragraph,
    where one raised in a callback would be printed as a UserWarning first."""
    try:
        return Path(config.hydra[mode].dir).absolute()
    except OmegaConfBaseException:
        return None


class Terminal(Callback):
    """The terminal's share of a job: Python logs at the level `-q` / `-v` chose (the log file
    keeps INFO), and one line naming the run folder and the overrides."""

    def on_job_start(self, config: DictConfig, **kwargs) -> None:
        from aecli.console import QUIET, console, terminal_log_level, verbosity

        level = terminal_log_level()
        for handler in logging.getLogger().handlers:
            if type(handler) is logging.StreamHandler:
                handler.setLevel(level)
        if verbosity() > QUIET:
            hydra_cfg = HydraConfig.get()
            folder = Path(hydra_cfg.runtime.output_dir)
            if folder.is_relative_to(Path.cwd()):
                folder = folder.relative_to(Path.cwd())
            # as typed: `dataset.size=${oops}` is shown, not resolved (validation reports it)
            task = OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False)
            overrides = " ".join(task) or "(no overrides)"
            for line in textwrap.wrap(
                f"run {folder}  {overrides}",
                100,
                subsequent_indent="    ",
                break_long_words=False,
                break_on_hyphens=False,
            ):
                console.print(line, markup=False, soft_wrap=True)


class SweepSummary(Callback):
    """At the end of a multirun: the summary table and files; a non-zero exit when any run
    failed."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        from aecli.sweeps.summary import summarize, unfinished_runs_error

        fault_point("sweep-summary")
        try:
            error = unfinished_runs_error(summarize(Path(config.hydra.sweep.dir)))
        except UserError as unwritable:  # Hydra would only warn, and exit 0
            error = unwritable
        if error is not None:
            report_error(error)
            sys.exit(error.exit_code)


def _major(version: str) -> int:
    return int(version.split(".")[0])


_SEED_OVERRIDE = "hydra.sweeper.sampler.seed="


def _refuse(message: str) -> None:
    report_error(UserError(message))
    sys.exit(2)


_OPTUNA_LOG = "hydra_plugins.hydra_optuna_sweeper._impl"


class _NamedObjective(logging.Filter):
    """Names the metric in the Optuna sweeper's closing `Best value: 367.957`, which says only
    the number: `Best value (val_loss, minimize): 367.957`."""

    def __init__(self, objective: str, direction):
        super().__init__()
        direction = getattr(direction, "name", direction)
        self.named = f"Best value ({objective}{f', {direction}' if direction else ''}): "

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Best value: "):
            record.msg, record.args = self.named + message.removeprefix("Best value: "), ()
        return True


class OptunaStudy(Callback):
    """An Optuna search, before the sweeper starts it: the metric its jobs return named in the
    sweeper's closing `Best value` line. When the study is kept in a database
    (`hydra.sweeper.storage`): a refusal, with the reason, where the installed SQLAlchemy is one
    the installed Optuna cannot use or the database cannot be opened; and, when the study already
    holds trials (a search continued after it ended or was killed), the sampler's seed moved on
    by their count. A seeded sampler draws the same random trials in every process, so a
    continued study would otherwise run its first trials again."""

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        sweeper = config.hydra.sweeper
        if "optuna" not in str(sweeper.get("_target_")):
            return
        from aecli.sweeps.study import objective_name

        log = logging.getLogger(_OPTUNA_LOG)
        for earlier in [f for f in log.filters if isinstance(f, _NamedObjective)]:
            log.removeFilter(earlier)
        log.addFilter(_NamedObjective(objective_name(config), sweeper.get("direction")))
        storage = sweeper.get("storage")
        if not isinstance(storage, str) or not storage:
            return
        from importlib.metadata import version

        import optuna

        sqlalchemy = version("sqlalchemy")
        if _major(optuna.__version__) < 3 and _major(sqlalchemy) >= 2:
            _refuse(
                f"hydra.sweeper.storage={storage} cannot be used: Optuna {optuna.__version__} (the "
                "newest Hydra's Optuna sweeper allows) fails on the installed SQLAlchemy "
                f"{sqlalchemy}. Install what aecli pins (`pip install -e .` brings "
                "'sqlalchemy>=1.4,<2'), or drop hydra.sweeper.storage to keep the study in memory; "
                "nothing was run."
            )
        try:
            earlier = optuna.load_study(study_name=sweeper.study_name, storage=storage).trials
        except KeyError:  # no such study yet: the sweeper creates it
            earlier = []
        except Exception as error:  # SQLAlchemy's, for a URL or a file it cannot open
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            _refuse(
                f"hydra.sweeper.storage={storage} cannot be opened ({reason}). Give a database "
                "URL Optuna can open, e.g. sqlite:///optuna.db for a file in the current folder; "
                "nothing was run."
            )
        sampler = sweeper.get("sampler")
        seed = sampler.get("seed") if sampler is not None else None
        if not earlier or not isinstance(seed, int):
            return
        with read_write(config.hydra), open_dict(config.hydra):
            sampler.seed = seed + len(earlier)
            # each trial's config is composed again from these overrides: its hydra.yaml then
            # records the seed the sampler used
            config.hydra.overrides.hydra = [
                *(o for o in config.hydra.overrides.hydra if not o.startswith(_SEED_OVERRIDE)),
                f"{_SEED_OVERRIDE}{sampler.seed}",
            ]
        from aecli.console import say

        completed = sum(trial.state == optuna.trial.TrialState.COMPLETE for trial in earlier)
        trials = f"{len(earlier)} earlier trial{'s' * (len(earlier) != 1)}"
        say(
            f"continuing the Optuna study {sweeper.study_name} of {storage}: {trials} "
            f"({completed} completed); the sampler's seed is {seed} + "
            f"{len(earlier)}, so its random trials are new ones"
        )
