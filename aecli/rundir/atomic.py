"""Writes that a crash cannot leave half done: a temporary file beside the target, flushed to disk,
then renamed over it (rename is atomic on POSIX), so a reader sees the old content or the new."""

import json
import os
from pathlib import Path


def write_text(path: Path, text: str) -> None:
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # a full disk must not leave the half-written copy behind


def write_json(path: Path, data) -> None:
    """Every JSON file aecli writes (status, metrics, eval, anomaly, bench, sweep summaries)."""
    write_text(path, json.dumps(data, indent=2, allow_nan=True) + "\n")
