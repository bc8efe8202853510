"""Checkpoints of the whole training state, written atomically, with a fallback when one is corrupt.

A checkpoint is `<name>.weights.h5` (model weights, optimizer state and metric trackers, as
Keras saves them) plus `<name>.json` (the epoch it completed, its validation loss, and the
VAE's sampling seed state, which Keras does not save). `last` is rotated to `previous` before
being replaced, so a checkpoint damaged mid-write or on disk still leaves one to resume from;
`best` holds the lowest validation loss so far.
"""

import json
import math
import os
from pathlib import Path

import keras
import numpy as np

from aecli.rundir.atomic import write_json
from aecli.errors import UserError


class CheckpointError(UserError):
    """No checkpoint of a run could be loaded into the model its config builds."""


class CheckpointStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _paths(self, name):
        return self.folder / f"{name}.weights.h5", self.folder / f"{name}.json"

    def save(self, model, name: str, epoch: int, val_loss: float | None) -> None:
        """Write `name` atomically: weights to a temporary file, renamed, then its metadata likewise."""
        self.folder.mkdir(parents=True, exist_ok=True)
        weights, meta = self._paths(name)
        if name == "last" and weights.exists() and meta.exists():
            previous_weights, previous_meta = self._paths("previous")
            os.replace(weights, previous_weights)
            os.replace(meta, previous_meta)
        temporary = self.folder / f".{name}.{os.getpid()}.tmp.weights.h5"
        model.save_weights(temporary)
        os.replace(temporary, weights)
        seed = getattr(model, "seed_generator", None)
        write_json(meta, {"epoch": epoch, "val_loss": val_loss,
                          "seed_state": None if seed is None else np.asarray(seed.state).tolist()})

    def metadata(self, name: str) -> dict | None:
        meta = self._paths(name)[1]
        return json.loads(meta.read_text()) if meta.exists() else None

    def restore(self, model) -> dict:
        """Load `last`, else `previous`, into a compiled model; returns the loaded checkpoint's metadata."""
        model.optimizer.build(model.trainable_variables)
        problems = []
        for name in ("last", "previous"):
            weights, meta = self._paths(name)
            if not (weights.exists() and meta.exists()):
                continue
            try:
                model.load_weights(weights)
                metadata = json.loads(meta.read_text())
            except Exception as error:  # corrupt file or a config that no longer fits: try the next one
                problems.append(f"{weights.name}: {str(error).splitlines()[0][:300]}")
                continue
            if metadata.get("seed_state") is not None:
                state = model.seed_generator.state
                state.assign(np.asarray(metadata["seed_state"], dtype=state.dtype))
            return {**metadata, "name": name}
        detail = "; ".join(problems) or "no checkpoint files"
        raise CheckpointError(
            f"No checkpoint in {self.folder} could be loaded ({detail}). If the run's .hydra/config.yaml "
            "was edited since, restore it; otherwise the checkpoints are damaged and the run must be started anew."
        )


class Checkpoints(keras.callbacks.Callback):
    """Every `every` epochs save `last`; whenever validation loss improves save `best`. Non-finite epochs are skipped."""

    def __init__(self, store: CheckpointStore, stop, every: int = 1, best_val_loss: float = math.inf):
        super().__init__()
        self.store, self.stop, self.every, self.best = store, stop, every, best_val_loss

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.stop.stopped_mid_epoch:
            return
        val_loss = float(logs.get("val_loss", logs.get("loss", math.nan)))
        if not math.isfinite(val_loss) or not math.isfinite(float(logs.get("loss", math.nan))):
            return
        if self.every and (epoch + 1) % self.every == 0:
            self.store.save(self.model, "last", epoch, val_loss)
        if val_loss < self.best:
            self.best = val_loss
            self.store.save(self.model, "best", epoch, val_loss)
