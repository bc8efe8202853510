"""Sweep job folders named by what they vary: `3_beta=4,seed=1` instead of `3`, so TensorBoard's run
list (run names are folder paths) and `ls` tell the jobs apart.

conf/hydra/default.yaml sets `hydra.sweep.subdir: ${aecli_job_name:}`. Hydra's own
`${hydra.job.override_dirname}` was not used: it joins every override of the command line, fixed
ones too (`dataset=synthetic,dataset.size=600,...`), so names grow past the 255 bytes a folder name
may have, and it keeps `/` (a path value, `hydra/launcher=joblib`), which would nest folders.

Here the name holds only the keys the sweep varies (its multirun.yaml, which Hydra's sweeper writes
before any job starts: the command line's `beta=1,4` and an experiment's `hydra.sweeper.params`;
Optuna's sweeper writes none, so for a search its `hydra.sweeper.params`, the search space), a
number drawn by a sampler (`beta=2.2530054232869765`) is shortened to 4 significant digits
(`beta=2.253`; overrides.yaml keeps the full value), characters outside [A-Za-z0-9._=,+-] become
`_`, and the part after the job number is cut to MAX_CHARS. The job number leads, so names stay
unique and `sweep_runs` orders jobs by it.
"""

import re
from pathlib import Path

import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException
from omegaconf import OmegaConf

from aecli.sweeps.discover import sweep_keys

MAX_CHARS = 100
_ODD = re.compile(r"[^A-Za-z0-9._=,+-]")


def _declared(sweep_dir: Path, sweeper_params: dict) -> list[str]:
    """The swept keys: multirun.yaml's, else (Optuna's sweeper writes none) the search space."""
    path = sweep_dir / "multirun.yaml"
    if not path.exists():
        return sweep_keys([], sweeper_params)
    hydra_cfg = (yaml.safe_load(path.read_text()) or {}).get("hydra", {})
    return sweep_keys(
        list(hydra_cfg.get("overrides", {}).get("task") or []),
        hydra_cfg.get("sweeper", {}).get("params") or {},
    )


def _short(value: str) -> str:
    """A float's text to 4 significant digits where that is shorter; anything else as it is."""
    if value.lstrip("+-").isdigit():
        return value
    try:
        short = f"{float(value):.4g}"
    except ValueError:
        return value
    return short if len(short) < len(value) else value


def job_folder_name(number: int, job_overrides: list[str], swept: list[str]) -> str:
    """`NUM_key=value,...` for the swept keys among a job's overrides, made safe for a folder
    name."""
    try:
        parsed = OverridesParser.create().parse_overrides(list(job_overrides))
    except OverrideParseException:
        return str(number)
    values = {
        override.get_key_element(): _short(override.get_value_element_as_str())
        for override in parsed
    }
    text = ",".join(f"{key}={values[key]}" for key in swept if key in values)
    text = _ODD.sub("_", text)
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 1] + "~"
    return f"{number}_{text}" if text else str(number)


def job_name() -> str:
    """The `aecli_job_name` resolver: this job's folder name inside the sweep folder."""
    hydra_cfg = HydraConfig.get()
    params = hydra_cfg.sweeper.get("params")  # None for Hydra's basic sweeper
    params = OmegaConf.to_container(params) if params is not None else {}
    return job_folder_name(
        int(hydra_cfg.job.num),
        list(hydra_cfg.overrides.task),
        _declared(Path(hydra_cfg.sweep.dir), params),
    )
