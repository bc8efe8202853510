"""`aecli train [overrides]`: one Hydra job per run; `-m` turns overrides into a sweep."""

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


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def _train_job(cfg: DictConfig) -> float:
    """Validate (no TensorFlow yet), claim the run folder, then train; returns the test loss for sweepers.

    In a sweep a failing run must not stop the others: its error goes to its status.json and
    the summary written when the sweep ends, and the job returns NaN.
    """
    hydra_cfg = HydraConfig.get()
    try:
        settings = validate(cfg)
        run_dir = claim_run_dir(cfg, hydra_cfg)
        from aecli.training import train  # TensorFlow loads here, after the config is known to be good

        return train(settings, run_dir)["test_loss"]
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


def main(args) -> int:
    sys.argv = ["aecli train", *args]
    try:
        _train_job()
    except ValueError as error:  # Hydra's own command-line checks, raised before any job runs
        raise UserError(f"{error}. See `aecli train --help`.") from None
    return 0
