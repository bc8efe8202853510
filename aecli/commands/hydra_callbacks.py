"""Hydra callbacks of aecli (registered in conf/hydra/default.yaml)."""

import logging
import os
import sys
import textwrap
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

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
        _check_writable(Path(config.hydra.run.dir).absolute())

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        HydraConfig.instance().set_config(config)
        sweep_dir = Path(config.hydra.sweep.dir).absolute()
        _check_writable(sweep_dir)
        _check_unused_sweep_dir(sweep_dir)


class Terminal(Callback):
    """The terminal's share of a job: Python logs at the level `-q` / `-v` chose (the log file
    keeps INFO), and one line naming the run folder and the overrides."""

    def on_job_start(self, config: DictConfig, **kwargs) -> None:
        from aecli.console import QUIET, VERBOSE, console, verbosity

        level = {QUIET: logging.ERROR, VERBOSE: logging.INFO}.get(verbosity(), logging.WARNING)
        for handler in logging.getLogger().handlers:
            if type(handler) is logging.StreamHandler:
                handler.setLevel(level)
        if verbosity() > QUIET:
            hydra_cfg = HydraConfig.get()
            folder = Path(hydra_cfg.runtime.output_dir)
            if folder.is_relative_to(Path.cwd()):
                folder = folder.relative_to(Path.cwd())
            overrides = " ".join(hydra_cfg.overrides.task) or "(no overrides)"
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
