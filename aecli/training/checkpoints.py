"""Checkpoints of the whole training state, each ONE file written atomically, with fallbacks.

A checkpoint is `<name>.weights.h5`: model weights, optimizer state and metric trackers as Keras
saves them, plus an HDF5 attribute `aecli_checkpoint` on its root holding the epoch it completed,
its validation loss, the cumulative training seconds and the VAE's sampling seed state (which
Keras does not save). Weights and metadata thus appear together in one rename: no kill can pair
the weights of one epoch with the epoch number of another.

Writing `last`: the new file is written beside it under a temporary name, flushed to disk,
then renamed over `last`; just before, the current `last` (when it is a readable checkpoint) is
hard-linked to `previous`, so `last` never goes missing and a damaged `last` never replaces a good
`previous`. `best` holds the lowest validation loss so far. Restoring tries last, previous, best.
"""

import json
import math
import os
from pathlib import Path

import h5py
import keras
import numpy as np

from aecli.errors import DiskFull, UserError, disk_full
from aecli.rundir.atomic import MemoryFile, write_synced
from aecli.rundir.faults import fault_point
from aecli.training.checkpoint_files import (
    ATTRIBUTE,
    FALLBACK_ORDER,
    checkpoint_path,
    legacy_metadata_path,
    read_metadata,
)


class CheckpointError(UserError):
    """No checkpoint of a run could be loaded into the model its config builds."""


def disk_full_error(path: Path) -> DiskFull:
    return DiskFull(
        f"No space left on the device holding {path}: the run stopped there, its earlier "
        "checkpoints are intact and no half-written file is left. Free space and continue with "
        f"`aecli resume {path}`, or choose another `hydra.run.dir` on a disk with room."
    )


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _checkpoint_bytes(model, metadata: dict) -> bytes:
    """The checkpoint file, built in memory (see MemoryFile: HDF5 never writes to the disk)."""
    buffer = MemoryFile("checkpoint.weights.h5")
    model.save_weights(buffer)
    with h5py.File(buffer, "a") as stream:
        stream.attrs[ATTRIBUTE] = json.dumps(metadata, allow_nan=True)
    data = buffer.getvalue()
    if not data:  # a Keras that writes to str(path) instead of the buffer (before 3.10)
        raise RuntimeError("Keras wrote no checkpoint into memory: aecli needs keras>=3.10")
    return data


class CheckpointStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, name: str) -> Path:
        return checkpoint_path(self.folder, name)

    def _legacy_metadata(self, name: str) -> Path:
        return legacy_metadata_path(self.folder, name)

    def save(
        self,
        model,
        name: str,
        epoch: int,
        val_loss: float | None,
        train_seconds: float = 0.0,
        steering: dict | None = None,
    ) -> None:
        """Write checkpoint `name` as one atomic unit (see the module's docstring); `steering`:
        the counts of early stopping and the plateau schedule after `epoch`, to go on from."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(name)
        temporary = self.folder / f".{name}.{os.getpid()}.tmp.weights.h5"
        link = self.folder / f".previous.{os.getpid()}.tmp.weights.h5"
        seed = getattr(model, "seed_generator", None)
        metadata = {
            "epoch": epoch,
            "val_loss": val_loss,
            "train_seconds": train_seconds,
            "seed_state": None if seed is None else np.asarray(seed.state).tolist(),
            "steering": steering or {},
        }
        data = _checkpoint_bytes(model, metadata)
        try:
            write_synced(temporary, data)
            fault_point("checkpoint-write")
            if name == "last" and self.metadata("last") is not None:
                try:
                    os.link(target, link)
                    os.replace(link, self.path("previous"))
                except OSError as error:  # no hard links here (e.g. FAT): rename instead
                    if disk_full(error):
                        raise
                    os.replace(target, self.path("previous"))
                if self._legacy_metadata("last").exists():  # an older run's: goes along
                    os.replace(self._legacy_metadata("last"), self._legacy_metadata("previous"))
                else:
                    self._legacy_metadata("previous").unlink(missing_ok=True)
                fault_point("checkpoint-rotate")
            os.replace(temporary, target)
            self._legacy_metadata(name).unlink(missing_ok=True)
            _fsync(self.folder)
        except OSError as error:
            if disk_full(error):
                raise disk_full_error(self.folder.parent) from None
            raise
        finally:
            temporary.unlink(missing_ok=True)
            link.unlink(missing_ok=True)

    def metadata(self, name: str) -> dict | None:
        """The metadata of checkpoint `name`, or None when it is missing or unreadable."""
        return read_metadata(self.folder, name)

    def model_weights(self, name: str, model) -> list | None:
        """The model weights of checkpoint `name` (loaded through `model`, whose state it
        overwrites: restore the state wanted afterwards), or None when it cannot be loaded."""
        if self.metadata(name) is None:
            return None
        model.build_optimizers()
        try:
            model.load_weights(self.path(name))
        except Exception:  # noqa: BLE001 -- restore() reports damaged checkpoints
            return None
        return model.get_weights()

    def any(self) -> bool:
        """Whether any checkpoint file exists (readable or not)."""
        return any(self.path(name).exists() for name in FALLBACK_ORDER)

    def restore(self, model) -> dict:
        """Load last, else previous, else best into a compiled model; returns the loaded
        checkpoint's metadata with its `name`."""
        model.build_optimizers()
        problems = []
        for name in FALLBACK_ORDER:
            if not self.path(name).exists():
                continue
            metadata = self.metadata(name)
            if metadata is None:
                problems.append(f"{self.path(name).name}: damaged or not a checkpoint")
                continue
            try:
                model.load_weights(self.path(name))
            except Exception as error:  # noqa: BLE001 -- a config that no longer fits: try the next
                problems.append(f"{self.path(name).name}: {str(error).splitlines()[0][:300]}")
                continue
            if metadata.get("seed_state") is not None:
                state = model.seed_generator.state
                state.assign(np.asarray(metadata["seed_state"], dtype=state.dtype))
            return {**metadata, "name": name}
        detail = "; ".join(problems) or "no checkpoint files"
        raise CheckpointError(
            f"No checkpoint in {self.folder} could be loaded ({detail}). If the run's "
            ".hydra/config.yaml was edited since, restore it; otherwise the checkpoints are "
            "damaged and the run must be started anew."
        )


class Checkpoints(keras.callbacks.Callback):
    """Every `every` epochs save `last`; whenever validation loss improves save `best`.
    Partial and non-finite epochs are skipped. `steering()` gives the counts of early stopping
    and the plateau schedule saved with each (list those callbacks before this one, so the counts
    include the epoch)."""

    def __init__(
        self,
        store: CheckpointStore,
        stop,
        every: int = 1,
        best_val_loss: float = math.inf,
        steering=dict,
    ):
        super().__init__()
        self.store, self.stop, self.every, self.best = store, stop, every, best_val_loss
        self.steering = steering
        self.last_saved_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.stop.stopped_mid_epoch:
            return
        val_loss = float(logs.get("val_loss", logs.get("loss", math.nan)))
        if not math.isfinite(val_loss) or not math.isfinite(float(logs.get("loss", math.nan))):
            return
        if self.every and (epoch + 1) % self.every == 0:
            self.store.save(
                self.model, "last", epoch, val_loss, self.stop.train_seconds, self.steering()
            )
            self.last_saved_epoch = epoch
        if val_loss < self.best:
            self.best = val_loss
            self.store.save(
                self.model, "best", epoch, val_loss, self.stop.train_seconds, self.steering()
            )
