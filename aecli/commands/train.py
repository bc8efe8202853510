"""`aecli train [overrides]`: one Hydra job per run; `-m` turns overrides into a sweep."""

import hydra
from omegaconf import DictConfig

from aecli.config.store import CONF_DIR, register
from aecli.jobs import hydra_main, run_job

# at import, so launchers that run jobs in other processes (joblib, submitit) have the resolvers too
register()


def _train(settings, run_dir) -> float:
    from aecli.training import train  # TensorFlow loads here, after the config is known to be good

    return train(settings, run_dir)["test_loss"]


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def _train_job(cfg: DictConfig) -> float:
    """Returns the test loss, for sweepers that optimise it."""
    return run_job(cfg, _train)


def main(args) -> int:
    return hydra_main(_train_job, args, "train")
