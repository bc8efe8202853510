"""`aecli train [overrides]`: one Hydra job per run; `-m` turns overrides into a sweep."""

from aecli.commands.hydra_app import hydra_command


def _train(settings, folder) -> float:
    """Train; the test loss is the job's return value, for sweepers that optimise it."""
    from aecli.train import train  # TensorFlow loads here, after the config is known to be good

    return train(settings, folder)["test_loss"]


main = hydra_command("train", _train)
