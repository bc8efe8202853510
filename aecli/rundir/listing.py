"""Finding runs on disk and reading what each left behind: overrides, status, metrics."""

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from aecli.console import printable
from aecli.rundir.claim import dead_owner
from aecli.rundir.layout import RunFolder
from aecli.rundir.status import read_status


@dataclass
class Run:
    path: Path
    overrides: list[str]
    status: str
    error: str | None
    metrics: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    started: str | None = None
    ended: str | None = None
    # what in its records is of the wrong kind (e.g. `model: 5` in config.yaml), read as absent
    damage: str = ""

    @property
    def first_error_line(self) -> str:
        """The first line of why the run did not complete, else what of its record is damaged."""
        lines = (self.error or "").strip().splitlines()
        return lines[0] if lines else self.damage


# libyaml's parser where PyYAML has it: a listing reads hundreds of configs
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml(text: str):
    return yaml.load(text, Loader=_LOADER)  # a safe loader


def _load(path: Path, read, empty):
    """A file's content, or `empty` when it is missing or damaged (the status then says so)."""
    try:
        return (read(path.read_text()) or empty) if path.exists() else empty
    except (OSError, ValueError, yaml.YAMLError):
        return empty


def _clean(value, seen: dict | None = None):
    """A record's content with control characters dropped from every string in it (keys too), so
    no listing sends a record's escape sequence to the terminal. A container met twice (a YAML
    alias) is cleaned once and shared again, so an alias bomb or a self-reference costs no more
    than its file."""
    if isinstance(value, str):
        return printable(value)
    if not isinstance(value, (dict, list)):
        return value
    seen = {} if seen is None else seen
    if id(value) in seen:
        return seen[id(value)]
    if isinstance(value, dict):
        cleaned = seen[id(value)] = {}
        cleaned.update({_clean(key, seen): _clean(item, seen) for key, item in value.items()})
    else:
        cleaned = seen[id(value)] = []
        cleaned.extend(_clean(item, seen) for item in value)
    return cleaned


# the fields of a record that readers use: the kinds each must be, and how they are named
_TEXT = ((str, type(None)), "text")
_STATUS_FIELDS = {"error": _TEXT, "started": _TEXT, "ended": _TEXT}
_CONFIG_FIELDS = {
    "model": (dict, "a section"),
    "dataset": (dict, "a section"),
    "name": ((str, int, float, type(None)), "text"),
    "tags": ((list, type(None)), "a list"),
}


def _damaged_fields(record: dict, kinds: dict, where: str) -> list[str]:
    """Drop from `record` every field not of its kind; one phrase per field dropped."""
    found = []
    for key, (kind, named) in kinds.items():
        if key in record and not isinstance(record[key], kind):
            found.append(f"{where}'s `{key}` is `{str(record.pop(key))[:40]}`, not {named}")
    return found


def read_run(path: Path) -> Run:
    """A run folder as written by `aecli train`; status falls back to 'completed' when only metrics
    exist, and reads `interrupted` when it says `running` but the process that locked the folder
    on this host is gone. Damaged files read as empty, and fields of the wrong kind as absent (the
    run's `damage` names them), so one torn or hand-edited record never breaks a listing."""
    folder = RunFolder(path)
    overrides = _clean(_load(folder.overrides, _yaml, []))
    config = _clean(_load(folder.config, _yaml, {}))
    config = config if isinstance(config, dict) else {}
    metrics = _clean(_load(folder.metrics, json.loads, {}))
    status = _clean(read_status(folder) or {})
    damage = [
        *_damaged_fields(status, _STATUS_FIELDS, folder.status.name),
        *_damaged_fields(config, _CONFIG_FIELDS, folder.config.name),
    ]
    state = status.get("status") or ("completed" if metrics else "unknown")
    error = status.get("error")
    pid = dead_owner(folder) if state == "running" else None
    if pid is not None:  # a killed process records nothing: say what its lock tells
        state = "interrupted"
        error = (
            f"Its process (PID {pid}) ended without recording how (killed, out of memory, or "
            f"the machine went down) after {status.get('epochs_completed', 0)} completed "
            f"epochs. Continue with `aecli resume {path}`."
        )
    return Run(
        path=path,
        overrides=[str(item) for item in overrides] if isinstance(overrides, list) else [],
        status=state,
        error=error,
        metrics=metrics if isinstance(metrics, dict) else {},
        config=config,
        started=status.get("started"),
        ended=status.get("ended"),
        damage=f"damaged record: {'; '.join(damage)}" if damage else "",
    )


def started_at(run: Run) -> float:
    """When a run started: its status.json says so; older runs fall back to when their config was
    written (not the folder's time, which changes whenever a file is added to it, e.g. by
    `aecli summarize`)."""
    if run.started:
        try:
            return datetime.fromisoformat(run.started).timestamp()
        except (TypeError, ValueError):
            pass
    for path in (RunFolder(run.path).config, RunFolder(run.path).overrides):
        if path.exists():
            return path.stat().st_mtime
    return run.path.stat().st_mtime


def find_runs(root: Path) -> list[Run]:
    """Every run folder under `root` (a folder holding .hydra/ or status.json), newest first."""
    marker = RunFolder(Path())  # the layout's relative names
    depth = len(marker.config.parts) - 1
    folders = {p.parents[depth] for p in root.rglob(str(marker.config))} | {
        p.parent for p in root.rglob(marker.status.name)
    }
    runs = [read_run(folder) for folder in folders]
    return sorted(runs, key=lambda run: (started_at(run), str(run.path)), reverse=True)
