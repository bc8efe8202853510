"""`aecli anomaly [overrides]`: train on normal data only, then detect anomalies in the test split."""

import hydra
from omegaconf import DictConfig

from aecli.config.store import CONF_DIR, register
from aecli.jobs import hydra_main, run_job

register()


def _detect(settings, run_dir) -> float:
    from aecli.anomaly import detect  # TensorFlow loads here

    return detect(settings, run_dir)["test_roc_auc"]


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="anomaly")
def _anomaly_job(cfg: DictConfig) -> float:
    """Returns the test ROC-AUC, for sweepers that optimise it."""
    return run_job(cfg, _detect)


def main(args) -> int:
    return hydra_main(_anomaly_job, args, "anomaly")
