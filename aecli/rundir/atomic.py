"""Writes that a crash cannot leave half done: a temporary file beside the target, flushed to disk,
then renamed over it (rename is atomic on POSIX), so a reader sees the old content or the new."""

import contextlib
import io
import json
import os
import shutil
from pathlib import Path


def write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write_synced(temporary, data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # a full disk must not leave the half-written copy behind


def write_synced(path: Path, data: bytes) -> None:
    """Write `data` to `path` and flush it to the disk (a full disk fails here, not later)."""
    with open(path, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode())


def write_json(path: Path, data) -> None:
    """Every JSON file aecli writes (status, metrics, eval, anomaly, bench, sweep summaries)."""
    write_text(path, json.dumps(data, indent=2, allow_nan=True) + "\n")


def save_figure(figure, path: Path, **options) -> None:
    """A matplotlib figure saved as write_bytes saves: the old image or the new, never a torn
    one."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format=Path(path).suffix.lstrip("."), **options)
    write_bytes(path, buffer.getvalue())


class MemoryFile(io.BytesIO):
    """A file in memory that Keras' savers take for a path named `name` (they check the suffix of
    `str(path)`, then hand a BytesIO to h5py or zipfile as it is): HDF5 then never writes to the
    disk, so a full disk fails in aecli's own plain write of the bytes, and no HDF5 handle is left
    open to retry its write from a deallocator (h5py) once the error was reported."""

    def __init__(self, name: str):
        super().__init__()
        self.name_for_keras = name

    def __str__(self) -> str:
        return self.name_for_keras


@contextlib.contextmanager
def published_folder(target: Path, synced: bool = False):
    """A folder built whole, then published: yields `.<name>.<pid>.tmp` beside `target`, renamed
    to `target` when the block ends and removed when it raises (a signal too), so a reader never
    sees half of it. Building folders of processes that are gone (SIGKILL) are cleared first; a
    parent folder made here is removed again on failure. `synced`: flush every file to the disk
    before the rename publishes it."""
    target = Path(target)
    parent_made = not target.parent.exists()
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.*.tmp"):
        pid = stale.name.removeprefix(f".{target.name}.").removesuffix(".tmp")
        # gone, or this very process's PID reused from a killed build
        if pid.isdigit() and (not Path(f"/proc/{pid}").exists() or int(pid) == os.getpid()):
            shutil.rmtree(stale, ignore_errors=True)
    building = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        building.mkdir()
        yield building
        if synced:
            for file in building.rglob("*"):
                if file.is_file():
                    with open(file, "rb") as stream:
                        os.fsync(stream.fileno())
        os.rename(building, target)  # fails, rather than merges, if the target appeared meanwhile
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        if parent_made:
            with contextlib.suppress(OSError):
                target.parent.rmdir()
        raise
