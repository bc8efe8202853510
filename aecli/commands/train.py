"""`aecli train [overrides]`: one Hydra job per run; `-m` turns overrides into a sweep."""

from aecli.commands.hydra_app import hydra_command
from aecli.training import startup


def _train(settings, folder) -> float:
    """Train; the validation loss is the job's return value, for sweepers that optimise it
    (never a test metric: tuning on the test split would make its numbers optimistic)."""
    # TensorFlow loads here, after the config is known to be good
    training = startup.import_with_tensorflow("aecli.train")
    return training.train(settings, folder)["val_loss"]


main = hydra_command("train", _train)
