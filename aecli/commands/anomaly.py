"""`aecli anomaly [overrides]`: train on normal data only, then detect anomalies in the test
split."""

from aecli.commands.hydra_app import hydra_command


def _detect(settings, folder, overrides) -> float:
    """Train and detect; `anomaly.objective` (the validation loss, or the validation ROC-AUC or
    PR-AUC on labelled validation anomalies) is the job's return value, for sweepers that
    optimise it (never a test metric such as the test ROC-AUC: that would tune on the test
    split)."""
    from aecli.anomaly import detect  # TensorFlow loads here, after the config is known to be good

    return detect(settings, folder, overrides)[settings.anomaly.objective.value]


main = hydra_command("anomaly", _detect)
