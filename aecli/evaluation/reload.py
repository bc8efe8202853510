"""A run in memory: its typed config, its data, and its model with the trained networks."""

import os
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from aecli.config.run import AnomalyConfig, TrainConfig  # noqa: E402
from aecli.config.validate import load_run_config  # noqa: E402
from aecli.data import Arrays, load_arrays  # noqa: E402
from aecli.errors import UserError  # noqa: E402
from aecli.models import Autoencoder, build_model  # noqa: E402
from aecli.rundir.layout import RunFolder  # noqa: E402


@dataclass
class TrainedRun:
    """A run's folder, config, data splits and trained model: what `aecli train` holds at its end
    and what eval, sample, encode and the sweep plots load back."""

    folder: RunFolder
    cfg: TrainConfig
    arrays: Arrays
    model: Autoencoder


def load_run(run_dir: Path, limit: int | None = None) -> TrainedRun:
    """Rebuild the run's model from its saved config and load encoder.keras / decoder.keras
    (safe_mode on)."""
    folder = RunFolder(Path(run_dir))
    cfg = load_run_config(folder.path)
    if not all(path.exists() for path in folder.networks):
        raise UserError(
            f"{folder.path} has no trained networks (encoder.keras, decoder.keras): the "
            f"run did not finish. Finish it with `aecli resume {folder.path}`."
        )
    # `aecli eval|sample|encode dataset.limit=N`: every split small, the test split included
    dataset = cfg.dataset if limit is None else replace(cfg.dataset, limit=limit, test_limit=limit)
    keras.utils.set_random_seed(cfg.seed)
    arrays = load_arrays(dataset, cfg.seed, anomaly=isinstance(cfg, AnomalyConfig))
    model = build_model(
        cfg.model, arrays.input_shape, seed=cfg.seed, dataset_size=len(arrays.train.x)
    )
    for network, path in zip((model.encoder, model.decoder), folder.networks, strict=True):
        try:
            # safe mode refuses code inside the file (a Lambda layer's Python function)
            saved = keras.saving.load_model(path, safe_mode=True, compile=False)
            network.set_weights(saved.get_weights())
        except (OSError, ValueError, TypeError, KeyError, zipfile.BadZipFile) as error:
            # the first sentence only: Keras' own advice to turn safe mode off is not given here
            reason = str(error).split(". ", 1)[0].splitlines()[0][:300] if str(error) else ""
            if path.is_file() and not zipfile.is_zipfile(path):  # Keras says "File not found"
                reason = "not a .keras archive: it is not a zip file"
            raise UserError(
                f"{path} cannot be loaded as the run's {network.name} "
                f"({reason or type(error).__name__}). aecli loads only networks it wrote itself, "
                "with Keras' safe mode on, which runs no code from the file; restore the file "
                "from a copy, or train the run again into a new folder."
            ) from None
    return TrainedRun(folder=folder, cfg=cfg, arrays=arrays, model=model)
