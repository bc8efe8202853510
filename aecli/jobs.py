"""The body every Hydra job of aecli shares: validate, claim the run folder, work, report errors."""

import math
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from aecli.config.store import CONF_DIR, register
from aecli.config.validate import validate
from aecli.console import report_error
from aecli.errors import UserError
from aecli.run_dir import claim_run_dir, record_overrides
from aecli.status import read_status, write_status

# at import, so launchers that run jobs in other processes (joblib, submitit) have the resolvers too
register()


def run_job(cfg: DictConfig, work) -> float:
    """`work(settings, run_dir)` after validation (no TensorFlow yet) and claiming the folder.

    In a sweep a failing run must not stop the others: its error goes to its status.json and the
    summary written when the sweep ends, and the job returns NaN. A single run exits with the
    error's code and one paragraph, no traceback.
    """
    hydra_cfg = HydraConfig.get()
    try:
        settings = validate(cfg)
        return work(settings, claim_run_dir(cfg, hydra_cfg))
    except Exception as error:
        if hydra_cfg.mode != RunMode.MULTIRUN:
            if not isinstance(error, UserError):
                raise
            report_error(error)
            sys.exit(error.exit_code)
        run_dir = Path(hydra_cfg.runtime.output_dir)
        record_overrides(hydra_cfg)
        if (read_status(run_dir) or {}).get("status") != "failed":
            write_status(run_dir, "failed", error=str(error) or repr(error))
        report_error(error)
        return math.nan


def hydra_command(config_name: str, work):
    """`main(args)` of a subcommand that is a Hydra app over conf/<config_name>.yaml running `work`."""

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=config_name)
    def job(cfg: DictConfig) -> float:
        return run_job(cfg, work)

    def main(args) -> int:
        sys.argv = [f"aecli {config_name}", *args]
        try:
            job()
        except ValueError as error:  # Hydra's own command-line checks, raised before any job runs
            raise UserError(f"{error}. See `aecli {config_name} --help`.") from None
        return 0

    return main
