"""What a sweep folder holds: its job folders in order, the keys it was asked to vary, and each
run's flat record. Built from files alone (each run's .hydra/overrides.yaml, status.json and
metrics.json, and the sweep's multirun.yaml), so it is the same whichever launcher ran the jobs.
Optuna's sweeper writes no multirun.yaml: its trials' own .hydra/hydra.yaml say they belong to a
sweep and which keys it searched."""

import re
from pathlib import Path

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException

from aecli.rundir.layout import RunFolder
from aecli.rundir.listing import Run, read_run

_JOB_NUMBER = re.compile(r"(\d+)")


def _job_order(folder: Path) -> tuple:
    """Job folders are named `NUM` or `NUM_key=value,...`: the job number orders them."""
    number = _JOB_NUMBER.match(folder.name)
    return (0, int(number.group(1)), folder.name) if number else (1, 0, folder.name)


def sweep_runs(sweep_dir: Path) -> list[Run]:
    """The job folders of a sweep, in job order."""
    jobs = [
        p
        for p in Path(sweep_dir).iterdir()
        if p.is_dir() and (RunFolder(p).config_dir.is_dir() or RunFolder(p).status.exists())
    ]
    return [read_run(p) for p in sorted(jobs, key=_job_order)]


def hydra_config(job: Path) -> dict:
    """A job folder's .hydra/hydra.yaml (empty when missing or damaged)."""
    try:
        loaded = yaml.safe_load((job / ".hydra" / "hydra.yaml").read_text())
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def is_sweep_dir(folder: Path) -> bool:
    """Whether `folder` was made by a sweep: Hydra's basic sweeper writes multirun.yaml into it,
    Optuna's sweeper its optimization_results.yaml once the study ends, and the job folders of
    either (of a study stopped early too) record that Hydra ran them as a multirun."""
    folder = Path(folder)
    if (folder / "multirun.yaml").is_file() or (folder / "optimization_results.yaml").is_file():
        return True
    return folder.is_dir() and any(
        hydra_config(job).get("mode") == "MULTIRUN"
        for job in folder.iterdir()
        if job.is_dir() and RunFolder(job).config_dir.is_dir()
    )


def _value(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def declared_sweep_keys(sweep_dir: Path) -> list[str]:
    """The keys the sweep was asked to vary (`beta=0.5,1,2` on the command line or an experiment's
    `hydra.sweeper.params`), read from the multirun.yaml Hydra writes, parsed by Hydra's own
    parser. Without one (an Optuna search), the search space in its first trial's hydra.yaml."""
    path = Path(sweep_dir) / "multirun.yaml"
    if not path.exists():
        jobs = sorted(
            (p for p in Path(sweep_dir).iterdir() if RunFolder(p).config_dir.is_dir()),
            key=_job_order,
        )
        params = hydra_config(jobs[0]).get("sweeper", {}).get("params") if jobs else None
        return sweep_keys([], params) if isinstance(params, dict) else []
    hydra_cfg = (yaml.safe_load(path.read_text()) or {}).get("hydra", {})
    return sweep_keys(
        list(hydra_cfg.get("overrides", {}).get("task") or []),
        hydra_cfg.get("sweeper", {}).get("params") or {},
    )


def sweep_keys(task_overrides: list[str], sweeper_params: dict) -> list[str]:
    """The keys that take several values among command-line overrides and sweeper params."""
    requested = [*task_overrides, *(f"{key}={value}" for key, value in sweeper_params.items())]
    try:
        overrides = OverridesParser.create().parse_overrides(requested)
    except OverrideParseException:  # written by another Hydra version: the varying keys still tell
        return []
    return list(
        dict.fromkeys(
            override.get_key_element() for override in overrides if override.is_sweep_override()
        )
    )


def swept_values(runs: list[Run], declared: list[str] = ()) -> dict[str, list]:
    """The declared sweep keys and any other override whose value differs between runs, with each
    run's value (None where absent)."""
    per_run = [dict(item.split("=", 1) for item in run.overrides if "=" in item) for run in runs]
    keys = sorted({key for overrides in per_run for key in overrides})
    varying = [key for key in keys if len({overrides.get(key) for overrides in per_run}) > 1]
    return {
        key: [_value(overrides[key]) if key in overrides else None for overrides in per_run]
        for key in dict.fromkeys([*declared, *varying])
    }


def rows(runs: list[Run], swept: dict[str, list]) -> list[dict]:
    """Flat records: run folder, overrides, status, first error line, the swept values (kept for
    runs that failed before writing metrics), then every metric."""
    records = []
    for index, run in enumerate(runs):
        values = {key: column[index] for key, column in swept.items()}
        # the swept values win over the settings train.py echoes into metrics.json, and keep
        # their place
        records.append(
            {
                "run": run.path.name,
                "overrides": " ".join(run.overrides),
                "status": run.status,
                "error": run.first_error_line,
                **values,
                **run.metrics,
                **values,
            }
        )
    return records
