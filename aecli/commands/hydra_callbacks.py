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


def _check_writable(folder: Path) -> None:
    """Refuse, before Hydra tries to create `folder`, when its nearest existing ancestor cannot hold it."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        report_error(UserError(
            f"Cannot create the run folder {folder}: {existing} is not a writable folder. "
            "Point `paths.log_dir=...` (or `hydra.run.dir=...`) at a folder you can write to."))
        sys.exit(2)


class CheckOutputDir(Callback):
    """A clear message instead of Hydra's traceback when the outputs folder is not writable."""

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        HydraConfig.instance().set_config(config)  # as below: hydra.run.dir may use it
        _check_writable(Path(config.hydra.run.dir).absolute())

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        HydraConfig.instance().set_config(config)  # not set yet at this point; the sweep dir's paths need it
        _check_writable(Path(config.hydra.sweep.dir).absolute())


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
            for line in textwrap.wrap(f"run {folder}  {overrides}", 100, subsequent_indent="    ",
                                      break_long_words=False, break_on_hyphens=False):
                console.print(line, markup=False, soft_wrap=True)


class SweepSummary(Callback):
    """At the end of a multirun: the summary table and files; a non-zero exit when any run failed."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        from aecli.sweeps.summary import summarize, unfinished_runs_error

        error = unfinished_runs_error(summarize(Path(config.hydra.sweep.dir)))
        if error is not None:
            report_error(error)
            sys.exit(error.exit_code)
