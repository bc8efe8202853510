"""`aecli anomaly [overrides]`: train on normal data only, then detect anomalies in the test split."""

from aecli.commands.hydra_app import hydra_command


def _detect(settings, folder) -> float:
    """Train and detect; the test ROC-AUC is the job's return value, for sweepers that optimise it."""
    from aecli.anomaly import detect  # TensorFlow loads here, after the config is known to be good

    return detect(settings, folder)["test_roc_auc"]


main = hydra_command("anomaly", _detect)
