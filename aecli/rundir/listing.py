"""Finding runs on disk and reading what each left behind: overrides, status, metrics."""

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

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

    @property
    def first_error_line(self) -> str:
        return (self.error or "").strip().splitlines()[0] if self.error else ""


def read_run(path: Path) -> Run:
    """A run folder as written by `aecli train`; status falls back to 'completed' when only metrics exist."""
    hydra_dir = path / ".hydra"
    overrides = yaml.safe_load((hydra_dir / "overrides.yaml").read_text()) if (hydra_dir / "overrides.yaml").exists() else []
    config = yaml.safe_load((hydra_dir / "config.yaml").read_text()) if (hydra_dir / "config.yaml").exists() else {}
    metrics = json.loads((path / "metrics.json").read_text()) if (path / "metrics.json").exists() else {}
    status = read_status(path) or {}
    state = status.get("status") or ("completed" if metrics else "unknown")
    return Run(path=path, overrides=list(overrides or []), status=state, error=status.get("error"),
               metrics=metrics, config=config or {}, started=status.get("started"), ended=status.get("ended"))


def started_at(run: Run) -> float:
    """When a run started: its status.json says so; older runs fall back to when their config was written
    (not the folder's time, which changes whenever a file is added to it, e.g. by `aecli summarize`)."""
    if run.started:
        return datetime.fromisoformat(run.started).timestamp()
    for name in (".hydra/config.yaml", ".hydra/overrides.yaml"):
        if (run.path / name).exists():
            return (run.path / name).stat().st_mtime
    return run.path.stat().st_mtime


def find_runs(root: Path) -> list[Run]:
    """Every run folder under `root` (a folder holding .hydra/ or status.json), newest first."""
    folders = {p.parent.parent for p in root.rglob(".hydra/config.yaml")} | {p.parent for p in root.rglob("status.json")}
    runs = [read_run(folder) for folder in folders]
    return sorted(runs, key=lambda run: (started_at(run), str(run.path)), reverse=True)
