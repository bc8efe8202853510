"""status.json: what state a run is in (running, completed, failed, interrupted), with timestamps
and the last epoch it completed."""

import errno
import json
import os
from datetime import datetime, timezone

from aecli.rundir.atomic import write_json
from aecli.rundir.layout import RunFolder

STATES = ("running", "completed", "failed", "interrupted")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_status(folder: RunFolder) -> dict | None:
    """The recorded status; a damaged file reads as {"status": "unknown"} with the reason, so one
    torn record never breaks a listing of many runs."""
    if not folder.status.exists():
        return None
    try:
        status = json.loads(folder.status.read_text())
        if not isinstance(status, dict) or status.get("status") not in STATES:
            raise ValueError("no known status in it")
        return status
    except (OSError, ValueError) as error:
        return {"status": "unknown", "error": f"{folder.status} is unreadable ({error})"}


def write_status(
    folder: RunFolder, status: str, epochs_completed: int | None = None, error: str | None = None
) -> None:
    """Record `status`; `started` is kept from the first record (a resumed run keeps it), `ended`
    is set unless the run is still going, and `epochs_completed` is kept unless given."""
    previous = read_status(folder) or {}
    if previous.get("status") == "unknown":
        previous = {}
    record = {
        "status": status,
        "started": previous.get("started", _now()),
        "ended": None if status == "running" else _now(),
        "epochs_completed": previous.get("epochs_completed", previous.get("epoch", 0))
        if epochs_completed is None
        else epochs_completed,
        "error": error,
    }
    try:
        write_json(folder.status, record)
    except OSError as problem:
        if problem.errno not in (errno.ENOSPC, errno.EDQUOT) or not folder.status.exists():
            raise
        # a full disk has no room for the temporary copy: overwrite the record in place, in the
        # blocks it already holds, so the run still says how it ended
        with open(folder.status, "r+") as stream:
            stream.write(json.dumps(record, indent=2) + "\n")
            stream.truncate()
            stream.flush()
            os.fsync(stream.fileno())
