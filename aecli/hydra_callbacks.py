"""Hydra callbacks of aecli (registered in conf/hydra/default.yaml)."""

import os
import sys
from pathlib import Path

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
        _check_writable(Path(config.hydra.run.dir).absolute())

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        _check_writable(Path(config.hydra.sweep.dir).absolute())
