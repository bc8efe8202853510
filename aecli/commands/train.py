"""`aecli train [overrides]`: one Hydra job per run; `-m` turns overrides into a sweep."""

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from aecli.config.store import CONF_DIR, register
from aecli.config.validate import validate
from aecli.console import report_error
from aecli.errors import UserError
from aecli.run_dir import claim_run_dir


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def _train_job(cfg: DictConfig) -> float:
    """Validate (no TensorFlow yet), claim the run folder, then train; returns the test loss for sweepers."""
    try:
        settings = validate(cfg)
        run_dir = claim_run_dir(cfg, HydraConfig.get())
        from aecli.training import train  # TensorFlow loads here, after the config is known to be good

        return train(settings, run_dir)["test_loss"]
    except UserError as error:
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise  # Hydra records the job as failed and the sweep goes on
        report_error(error)
        sys.exit(error.exit_code)


def main(args) -> int:
    register()
    sys.argv = ["aecli train", *args]
    _train_job()
    return 0
