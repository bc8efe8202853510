"""status.json: what state a run is in (running, completed, failed, interrupted), with timestamps."""

import json
from datetime import datetime, timezone
from pathlib import Path

from aecli.rundir.atomic import write_json

STATUS_FILE = "status.json"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_status(run_dir: Path) -> dict | None:
    path = Path(run_dir) / STATUS_FILE
    return json.loads(path.read_text()) if path.exists() else None


def write_status(run_dir: Path, status: str, epoch: int = 0, error: str | None = None) -> None:
    """Record `status`; `started` is kept from the first record (a resumed run keeps it), `ended` is set
    unless the run is still going."""
    previous = read_status(run_dir) or {}
    write_json(Path(run_dir) / STATUS_FILE, {
        "status": status,
        "started": previous.get("started", _now()),
        "ended": None if status == "running" else _now(),
        "epoch": epoch,
        "error": error,
    })
