"""`aecli anomaly [overrides]`: train on normal data only, then detect anomalies in the test
split."""

from aecli.commands.hydra_app import hydra_command
from aecli.training import startup


def _detect(settings, folder) -> float:
    """Train and detect; `anomaly.objective` (the validation loss, or the validation ROC-AUC or
    PR-AUC on labelled validation anomalies) is the job's return value, for sweepers that
    optimise it (never a test metric such as the test ROC-AUC: that would tune on the test
    split)."""
    # TensorFlow loads here, after the config is known to be good
    anomaly = startup.import_with_tensorflow("aecli.anomaly")
    return anomaly.detect(settings, folder)[settings.anomaly.objective.value]


main = hydra_command("anomaly", _detect)
