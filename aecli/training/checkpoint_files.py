"""The metadata inside a run's checkpoint files (their format: aecli/training/checkpoints.py), read
without TensorFlow, so `aecli resume` checks an extension against it before anything heavy loads."""

import json
from pathlib import Path

import h5py

ATTRIBUTE = "aecli_checkpoint"
FALLBACK_ORDER = ("last", "previous", "best")


def checkpoint_path(folder: Path, name: str) -> Path:
    return Path(folder) / f"{name}.weights.h5"


def legacy_metadata_path(folder: Path, name: str) -> Path:
    """Runs checkpointed by earlier versions kept the metadata beside the weights, in
    `<name>.json`; they still resume."""
    return Path(folder) / f"{name}.json"


def read_metadata(folder: Path, name: str) -> dict | None:
    """The metadata of checkpoint `name` in `folder`, or None when it is missing or unreadable."""
    try:
        with h5py.File(checkpoint_path(folder, name), "r") as stream:
            if ATTRIBUTE in stream.attrs:
                metadata = json.loads(stream.attrs[ATTRIBUTE])
                return metadata if isinstance(metadata, dict) else None
        legacy = legacy_metadata_path(folder, name)
        metadata = json.loads(legacy.read_text()) if legacy.exists() else None
        return metadata if isinstance(metadata, dict) else None
    except (OSError, ValueError):
        return None


def epochs_trained(folder: Path) -> int | None:
    """How many epochs the checkpoints in `folder` say the run trained: one more than the
    highest epoch (0-based) a readable checkpoint completed; None when none is readable."""
    epochs = [
        metadata.get("epoch")
        for metadata in (read_metadata(folder, name) for name in FALLBACK_ORDER)
        if metadata is not None
    ]
    epochs = [epoch for epoch in epochs if isinstance(epoch, int) and not isinstance(epoch, bool)]
    return max(epochs) + 1 if epochs else None
