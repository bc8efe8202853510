"""A finished run back in memory: its typed config, its data, and its model with the trained networks."""

import os
from dataclasses import dataclass, replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from aecli.config.schema import TrainConfig  # noqa: E402
from aecli.config.validate import load_run_config  # noqa: E402
from aecli.data import Arrays, load_arrays  # noqa: E402
from aecli.errors import UserError  # noqa: E402
from aecli.models import Autoencoder, build_model  # noqa: E402


@dataclass
class TrainedRun:
    path: Path
    cfg: TrainConfig
    arrays: Arrays
    model: Autoencoder


def load_run(run_dir: Path, limit: int | None = None) -> TrainedRun:
    """Rebuild the run's model from its saved config and load encoder.keras / decoder.keras (safe_mode on)."""
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    files = [run_dir / "encoder.keras", run_dir / "decoder.keras"]
    if not all(path.exists() for path in files):
        raise UserError(f"{run_dir} has no trained networks (encoder.keras, decoder.keras): the run did not finish. "
                        f"Finish it with `aecli resume {run_dir}`.")
    dataset = cfg.dataset if limit is None else replace(cfg.dataset, limit=limit)
    keras.utils.set_random_seed(cfg.seed)
    arrays = load_arrays(dataset, cfg.seed)
    model = build_model(cfg.model, arrays.input_shape, beta=cfg.beta, seed=cfg.seed)
    for network, path in zip((model.encoder, model.decoder), files):
        network.set_weights(keras.saving.load_model(path, safe_mode=True, compile=False).get_weights())
    return TrainedRun(path=run_dir, cfg=cfg, arrays=arrays, model=model)
