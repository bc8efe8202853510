"""The body every Hydra job of aecli shares: validate, claim the run folder, work, report errors."""

import contextlib
import logging
import math
import os
import shutil
import sys
from pathlib import Path

import hydra
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, OverrideParseException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from aecli.config.store import CONF_DIR, register
from aecli.config.validate import omegaconf_reason, validate
from aecli.config.yaml_guard import check_config_dirs
from aecli.console import QUIET, report_error, verbosity
from aecli.errors import ConfigError, DiskFull, UserError, disk_full
from aecli.rundir.claim import claim, record_overrides
from aecli.rundir.faults import fault_point
from aecli.rundir.layout import RunFolder
from aecli.rundir.outputs import report_run
from aecli.rundir.signals import Stopped
from aecli.rundir.status import read_status, write_status
from aecli.sweeps.naming import job_name
from aecli.training.startup import clock

# at import, so launchers that run jobs in other processes (joblib, submitit) have the resolvers too
register()
if not OmegaConf.has_resolver("aecli_job_name"):  # conf/hydra/default.yaml's hydra.sweep.subdir
    OmegaConf.register_new_resolver("aecli_job_name", job_name)


class SweepStopped(KeyboardInterrupt):
    """A signal stopped a sweep's job: the sweep must stop too, so it passes through Hydra's
    launchers, which record an Exception as a failed job and go on to the next one. It travels
    pickled from a joblib worker to the sweep's process, which rebuilds it from its args."""

    def __init__(self, exit_code: int):
        super().__init__(exit_code)
        self.exit_code = exit_code


class FailedJob:
    """What a failed job of a sweep returns. Optuna's Hydra sweeper records a trial as failed and
    goes on with the study when the job's return value does not convert to a float; given a NaN
    it tells Optuna the value along with the failed state, which Optuna refuses with an error that
    ends the whole search. Hydra's other sweepers ignore what a job returns. It travels pickled
    from a joblib or submitit worker to the sweep's process."""

    def __init__(self, reason: str):
        self.reason = reason

    def __float__(self) -> float:
        raise ValueError(str(self))

    def __str__(self) -> str:
        return f"{_FAILED_JOB}{self.reason}"


_FAILED_JOB = "aecli run failed: "


class _QuietFailedTrials(logging.Filter):
    """Drops the Optuna sweeper's warning about a failed job's return value: the job already
    printed its error, and the sweep's summary names every failed run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return _FAILED_JOB not in record.getMessage()


def _stopped_by_signal(error: Exception) -> bool:
    # aecli.training.stopping imports Keras: it is only loaded once training began, and only then
    # can it have raised
    stopping = sys.modules.get("aecli.training.stopping")
    return stopping is not None and isinstance(error, stopping.Interrupted)


def run_job(cfg: DictConfig, work) -> float | FailedJob:
    """`work(settings, folder)` after validation (no TensorFlow yet) and claiming the folder.

    In a sweep a failing run must not stop the others: its error goes to its status.json and the
    summary written when the sweep ends, and the job returns a `FailedJob` (an Optuna search
    records a failed trial and goes on). A signal (Ctrl-C) stops the whole sweep. A single run
    exits with the error's code and one paragraph, no traceback.
    """
    hydra_cfg = HydraConfig.get()
    folder = RunFolder(Path(hydra_cfg.runtime.output_dir))
    try:
        fault_point("job-start")
        settings = validate(cfg)
        if settings.hardware.strategy.value == "multi_worker":  # only the chief writes the run
            from aecli.training import multi_worker

            value = multi_worker.run(hydra_cfg, settings, work)
        else:
            claimed = claim(folder, settings, hydra_cfg)
            clock.mark("compose")  # Hydra's composition, validation, the run folder claimed
            value = work(settings, claimed)
        if hydra_cfg.mode == RunMode.MULTIRUN and isinstance(value, float) and math.isnan(value):
            # an objective Optuna cannot rank: a failed trial, not the end of the search
            return FailedJob(f"its objective is NaN (see {folder.metrics})")
        report_run(folder, settings.paths.log_dir, sweep_job=hydra_cfg.mode == RunMode.MULTIRUN)
        return value
    except Stopped as stopped:  # before training began (training turns it into Interrupted)
        from aecli.rundir.claim import holds_lock

        message = (
            f"Stopped by {stopped.name} before training began in {folder.path}; "
            "nothing of it needs resuming."
        )
        if holds_lock(folder) and (read_status(folder) or {}).get("status") in (None, "running"):
            message = (
                f"Stopped by {stopped.name} before training began; continue with "
                f"`aecli resume {folder.path}`."
            )
            write_status(folder, "interrupted", error=message)
        if hydra_cfg.mode == RunMode.MULTIRUN:
            raise SweepStopped(stopped.exit_code) from None
        report_error(UserError(message))
        sys.exit(stopped.exit_code)
    except Exception as error:
        if hydra_cfg.mode != RunMode.MULTIRUN:
            if not isinstance(error, UserError):
                raise
            _drop_if_empty(folder)
            report_error(error)
            sys.exit(error.exit_code)
        try:
            record_overrides(folder, hydra_cfg)
            # training records its own end; a folder that holds an earlier run is never written to
            ended = (read_status(folder) or {}).get("status") not in (None, "running")
            if not ended and not _foreign(folder):
                write_status(folder, "failed", error=str(error) or repr(error))
        except OSError as unrecorded:
            if not disk_full(unrecorded):
                raise
            # no room to record it: the sweep goes on, and its summary reports the full disk
        report_error(error)
        if _stopped_by_signal(error) and "SUBMITIT_FOLDER" not in os.environ:
            # a submitit job is a process of its own: no later job here to stop, and its
            # submitter waits for the result it returns (status.json says interrupted)
            raise SweepStopped(error.exit_code) from None
        return FailedJob(_one_line(error) or repr(error))


def _drop_if_empty(folder: RunFolder) -> None:
    """A single run refused before it was claimed (a config error) leaves no folder behind: Hydra
    made it for its job log, and nothing else is in it. A claimed run keeps its folder, marked
    `failed` in its status.json."""
    if folder.path.is_dir() and all(path.suffix == ".log" for path in folder.path.iterdir()):
        shutil.rmtree(folder.path, ignore_errors=True)


def _foreign(folder: RunFolder) -> bool:
    """Whether the folder belongs to another process's or an earlier run (its lock is not ours)."""
    from aecli.rundir.claim import holds_lock

    return folder.holds_run() and not holds_lock(folder)


def _sweep_dir() -> Path | None:
    """The folder of the multirun in progress in this process, if any."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    try:
        return Path(HydraConfig.get().sweep.dir)
    except OmegaConfBaseException:  # an unresolvable `hydra.sweep.dir`: the error says so
        return None


def _failed_sweep_error(sweep_dir: Path | None) -> UserError | None:
    """After a sweeper raised once its jobs ran: the summary of the runs, and the paragraph
    naming those that did not complete (None when no job ran or every run completed)."""
    if sweep_dir is None or not sweep_dir.is_dir():
        return None
    from aecli.sweeps.discover import sweep_runs
    from aecli.sweeps.summary import summarize, unfinished_runs_error

    if not sweep_runs(sweep_dir):
        return None
    return unfinished_runs_error(summarize(sweep_dir))


def _sweep_disk_full(sweep_dir: Path) -> DiskFull:
    """A sweep whose own files (Hydra's multirun.yaml) met a full disk: when no job ran, what it
    left is removed, so the folder can be used again once there is room."""
    jobs = [path for path in sweep_dir.iterdir() if path.is_dir()] if sweep_dir.is_dir() else []
    if not jobs:
        (sweep_dir / "multirun.yaml").unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            sweep_dir.rmdir()
        return DiskFull(
            f"No space left on the device holding {sweep_dir}: the sweep did not start, and "
            "nothing of it is left there. Free space, or choose another `hydra.sweep.dir`, and "
            "run it again."
        )
    return DiskFull(
        f"No space left on the device holding {sweep_dir}: the sweep stopped. Each run's "
        "status.json says how it ended; free space, then `aecli resume` a stopped run and "
        f"rebuild the summary with `aecli summarize {sweep_dir}`."
    )


def _one_line(error) -> str:
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


def _unparsable(args) -> str:
    """The first command-line override Hydra's grammar rejects."""
    parser = OverridesParser.create()
    for arg in args:
        if "=" in arg and not arg.startswith("-"):
            try:
                parser.parse_overrides([arg])
            except OverrideParseException:
                return arg
    return " ".join(args)


def hydra_command(config_name: str, work):
    """`main(args)` of a subcommand that is a Hydra app over conf/<config_name>.yaml running
    `work`."""

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=config_name)
    def job(cfg: DictConfig) -> float | FailedJob:
        return run_job(cfg, work)

    def main(args) -> int:
        clock.mark("import aecli, Hydra")
        if verbosity() <= QUIET and not {"-h", "--help", "--cfg", "-c"} & set(args):
            # the launcher announces each job (`#0 : beta=4`) through Hydra's own log
            args = [*args, "hydra.hydra_logging.root.level=WARNING"]
        sys.argv = [f"aecli {config_name}", *args]
        # Hydra's errors reach us instead of being printed with a traceback and exit 1
        os.environ.setdefault("HYDRA_FULL_ERROR", "1")
        # Optuna imports alembic, which logs each plugin it sets up at INFO, the level of a
        # multirun's own log
        logging.getLogger("alembic").setLevel(logging.WARNING)
        optuna_log = logging.getLogger("hydra_plugins.hydra_optuna_sweeper._impl")
        if not any(isinstance(f, _QuietFailedTrials) for f in optuna_log.filters):
            optuna_log.addFilter(_QuietFailedTrials())
        check_config_dirs(args)  # before Hydra expands a file's aliases
        try:
            job()
        except OverrideParseException as error:
            raise UserError(
                f"The override `{_unparsable(args)}` is not valid Hydra syntax "
                f"({_one_line(error)}). Quote `${{...}}` interpolations for the shell "
                f"(`'key=${{...}}'`) and close every bracket. See `aecli {config_name} "
                "--help`."
            ) from None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"{mark.name}, line {mark.line + 1}" if mark is not None else "a config file"
            raise ConfigError(
                f"{where} is not valid YAML ({getattr(error, 'problem', None) or error})."
                " Fix the file; nothing was run."
            ) from None
        except HydraException as error:
            text = _one_line(str(error).split("\nConfig search path")[0])
            if error.__cause__ is not None:  # e.g. the schema's reason for refusing an override
                # brackets read as console markup: "expected one of [mlp, conv]" would lose its list
                reason = str(error.__cause__).strip().splitlines()[0]
                text += f": {reason.replace('[', '(').replace(']', ')')}."
            raise UserError(f"{text} See `aecli {config_name} --help`.") from None
        except ValueError as error:
            # an Optuna search whose every trial failed has no best trial to report
            failed = _failed_sweep_error(_sweep_dir())
            if failed is not None:
                raise failed from None
            # Hydra's own command-line checks, raised before any job runs
            reason = omegaconf_reason(error) if isinstance(error, OmegaConfBaseException) else error
            raise UserError(f"{reason}. See `aecli {config_name} --help`.") from None
        except OSError as error:
            sweep_dir = _sweep_dir()
            if sweep_dir is None or not disk_full(error):
                raise
            raise _sweep_disk_full(sweep_dir) from None
        except KeyboardInterrupt as stop:
            sweep_dir = _sweep_dir()
            if sweep_dir is None:
                raise
            from aecli.sweeps.summary import stopped_sweep_error

            raise stopped_sweep_error(sweep_dir, getattr(stop, "exit_code", 130)) from None
        return 0

    return main
