"""`aecli train [overrides]`: one Hydra job per run; `-m` turns overrides into a sweep."""

from aecli.commands.hydra_app import hydra_command


def _train(settings, folder, overrides) -> float:
    """Train; the validation loss is the job's return value, for sweepers that optimise it
    (never a test metric: tuning on the test split would make its numbers optimistic)."""
    from aecli.train import train  # TensorFlow loads here, after the config is known to be good

    return train(settings, folder, overrides)["val_loss"]


main = hydra_command("train", _train)
