"""`trainer.init_from=RUN_DIR`: start from another run's encoder and decoder weights (fine-tuning,
or more epochs on top of a finished run), with this run's own optimiser, schedule and data."""

import zipfile
from pathlib import Path

import keras

from aecli.errors import ConfigError
from aecli.rundir.layout import RunFolder


def _shapes(network) -> list[tuple]:
    return [tuple(w.shape) for w in network.weights]


def init_from(model, run_dir: str | None) -> None:
    """Load the encoder.keras and decoder.keras of `run_dir` into `model`'s networks; a folder
    without them, or networks of another shape, is refused in one paragraph."""
    if run_dir is None:
        return
    folder = RunFolder(Path(run_dir).expanduser().resolve())
    missing = [path.name for path in folder.networks if not path.exists()]
    if missing:
        raise ConfigError(
            f"trainer.init_from={run_dir}: {folder.path} holds no {' or '.join(missing)}, so there "
            "are no trained weights to start from. Point it at the folder of a completed run "
            "(`aecli runs` lists them), or drop trainer.init_from to start from fresh weights."
        )
    for network, path in zip((model.encoder, model.decoder), folder.networks, strict=True):
        try:
            trained = keras.saving.load_model(path, compile=False, safe_mode=True)
        except (OSError, ValueError, TypeError, zipfile.BadZipFile) as error:  # damaged or foreign
            raise ConfigError(
                f"trainer.init_from={run_dir}: {path} could not be loaded "
                f"({str(error).splitlines()[0][:200]})."
            ) from None
        if _shapes(trained) != _shapes(network):
            raise ConfigError(
                f"trainer.init_from={run_dir}: its {network.name} has weights of shapes "
                f"{_shapes(trained)}, this run's {network.name} needs {_shapes(network)}. "
                "Start from a run of the same model family and architecture (model.hidden_units, "
                "model.latent_dim, model.conv_filters) on data of the same shape."
            )
        network.set_weights(trained.get_weights())
