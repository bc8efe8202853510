"""What aecli adds to Hydra's sweep launchers: how many jobs run at once (for their thread counts),
and job states from `squeue` on Slurm clusters that keep no accounting."""

import logging
import os
import subprocess

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)

# set by the submitting process, read by its jobs (submitit_local starts them with its environment)
PARALLEL_JOBS_ENV = "AECLI_PARALLEL_JOBS"
_BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def parallel_jobs(config: DictConfig) -> int | None:
    """Jobs of the sweep in `config` that a launcher starts together: the first batch of Hydra's
    basic sweeper (all jobs, unless `hydra.sweeper.max_batch_size` caps it); None for other
    sweepers."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    sweeper = config.hydra.sweeper
    if sweeper.get("_target_") != _BASIC_SWEEPER:
        return None
    # as BasicSweeper.sweep builds them: `hydra.sweeper.params` first, then the command line
    arguments = [f"{key}={value}" for key, value in (sweeper.get("params") or {}).items()]
    arguments += list(config.hydra.overrides.task)
    overrides = OverridesParser.create().parse_overrides(arguments)
    batches = BasicSweeper.split_arguments(overrides, sweeper.get("max_batch_size"))
    return len(batches[0]) if batches and batches[0] else None


def _accounting_disabled() -> bool:
    try:
        shown = subprocess.run(
            ["scontrol", "show", "config"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False  # submitit's own sbatch call will report what is wrong
    return any(
        line.split("=", 1)[0].strip() == "AccountingStorageType"
        and line.split("=", 1)[1].strip() == "accounting_storage/none"
        for line in shown.splitlines()
        if "=" in line
    )


def _squeue_watcher():
    from submitit.slurm.slurm import SlurmInfoWatcher

    class SqueueInfoWatcher(SlurmInfoWatcher):
        """submitit's job states from `squeue` instead of `sacct`.

        Without accounting sacct fails on every poll: submitit logs a warning each time and, for a
        job that ended without writing its result (killed, cancelled while pending), waits forever
        in state UNKNOWN. squeue lists jobs until MinJobAge (300 s) after they end; a job no longer
        listed has ended, whatever its state was.
        """

        def _make_command(self):
            if not self._registered - self._finished:
                return None
            # every job squeue knows, array tasks one per line; not --jobs, which fails on an id
            # squeue has forgotten
            return ["squeue", "--noheader", "--array", "--states=all", "--format=%i|%T|%N"]

        def read_info(self, string):
            text = string.decode() if isinstance(string, bytes) else string
            info = super().read_info("JobID|State|NodeList\n" + text) if text.strip() else {}
            for job_id in self._registered - self._finished - info.keys():
                info[job_id] = {"JobID": job_id, "State": "ENDED", "NodeList": ""}
            return info

    return SqueueInfoWatcher(delay_s=600)  # submitit's own default for Slurm


class LauncherSetup(Callback):
    """In the submitting process of a multirun: tell local jobs how many run at once, and poll
    Slurm with squeue where sacct has nothing to read."""

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        jobs = parallel_jobs(config)
        if jobs:
            os.environ[PARALLEL_JOBS_ENV] = str(jobs)
        if (
            str(config.hydra.launcher.get("_target_", "")).endswith(".SlurmLauncher")
            and _accounting_disabled()
        ):
            from submitit.slurm.slurm import SlurmJob

            log.info(
                "Slurm keeps no accounting here (AccountingStorageType="
                "accounting_storage/none): job states come from squeue"
            )
            SlurmJob.watcher = _squeue_watcher()
