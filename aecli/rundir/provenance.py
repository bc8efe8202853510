"""What a run needs to be reproduced: the versions it ran with, the code's git commit, the command,
the machine and the seeds, gathered without importing TensorFlow (its version comes from the
installed distribution unless TensorFlow is loaded already).

A run folder keeps them in provenance.json, written when training starts:

  {"started": RECORD, "resumed": [RECORD, ...]}

one RECORD for the start and one per `aecli resume` that trained on, so the first is never
rewritten and a run continued on another machine or version says so. `aecli export` puts a
RECORD into its metadata.json.
"""

import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import shlex
import socket
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import aecli
from aecli.rundir.atomic import write_json
from aecli.rundir.layout import RunFolder

log = logging.getLogger(__name__)

# module -> the distributions that install it (TensorFlow has CPU-only and platform builds)
PACKAGES = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly"),
    "keras": ("keras", "keras-nightly"),
    "numpy": ("numpy",),
    "hydra": ("hydra-core",),
}
# the CPU instructions TensorFlow's kernels and oneDNN choose their code paths by, so numbers that
# differ between two machines can be told apart from a bug
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni")
SIMD_PREFIXES = ("avx512", "amx")
# variables that change what TensorFlow computes or where (the log level and the like do not)
ENVIRONMENT = (
    "TF_ENABLE_ONEDNN_OPTS",
    "TF_DETERMINISTIC_OPS",
    "TF_XLA_FLAGS",
    "XLA_FLAGS",
    "CUDA_VISIBLE_DEVICES",
    "OMP_NUM_THREADS",
)
GIT_TIMEOUT_S = 5


@dataclass(frozen=True)
class CpuIdentity:
    model: str
    flags: frozenset

    @property
    def flags_hash(self) -> str:
        return hashlib.sha256(" ".join(sorted(self.flags)).encode()).hexdigest()[:12]

    @property
    def simd_flags(self) -> list[str]:
        return sorted(
            flag for flag in self.flags if flag in SIMD_FLAGS or flag.startswith(SIMD_PREFIXES)
        )


@lru_cache(maxsize=1)
def cpu_identity(cpuinfo: str = "/proc/cpuinfo") -> CpuIdentity:
    """The CPU's model name and instruction flags from /proc/cpuinfo (empty where there is none)."""
    model, flags = "unknown", frozenset()
    try:
        with open(cpuinfo) as lines:
            for line in lines:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model == "unknown":
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = frozenset(value.split())
                if model != "unknown" and flags:
                    break
    except OSError:
        pass
    return CpuIdentity(model, flags)


def package_version(module: str) -> str | None:
    """The version of `module` this process runs: the loaded module's own, else its installed
    distribution's (so TensorFlow is not imported to be named), None when it is not installed."""
    loaded = sys.modules.get(module)
    if loaded is not None and getattr(loaded, "__version__", None):
        return str(loaded.__version__)
    for distribution in PACKAGES.get(module, (module,)):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def versions() -> dict:
    return {
        "aecli": aecli.__version__,
        "python": platform.python_version(),
        **{module: package_version(module) for module in PACKAGES},
    }


def version_line() -> str:
    """What `aecli --version` prints."""
    found = versions()
    return (
        f"aecli {found['aecli']} (TensorFlow {found['tensorflow'] or 'not installed'}, "
        f"Keras {found['keras'] or 'not installed'})"
    )


def git_state(cwd: Path | str | None = None) -> dict | None:
    """The commit and dirtiness of the git repository holding `cwd` (the working directory by
    default); None outside a repository, without git, or when git does not answer in time.

    `dirty` is what `git describe --dirty` means by it: a tracked file differs from the commit.
    Untracked files are left out, or a run's own output folder would mark every run inside a
    repository that does not ignore it as dirty.
    """

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=GIT_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            # status must not take the index lock: a git command of the user's runs beside it
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        ).stdout

    try:
        root, commit = git("rev-parse", "--show-toplevel", "HEAD").splitlines()
        changes = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, ValueError, subprocess.SubprocessError):
        return None  # no git, not a repository, a repository without a commit, or too slow
    return {"repository": root, "commit": commit, "dirty": bool(changes.strip())}


def command_line(argv: list[str] | None = None) -> str:
    """The command as the user typed it: `aecli train seed=1 'model.hidden_units=[32]'`.

    The program is named `aecli` whether it ran as the entry point or as `python -m aecli`; a
    Hydra subcommand has named it `aecli train` by the time a run starts (aecli.commands.hydra_app).
    """
    program, *args = sys.argv if argv is None else argv
    if program.startswith("aecli "):
        words = program.split()
    elif Path(program).name == "aecli" or Path(program).parts[-2:] == ("aecli", "__main__.py"):
        words = ["aecli"]
    else:
        words = [program]
    return shlex.join([*words, *args])


def gpus(used: bool | None = None) -> list[dict] | None:
    """The GPUs TensorFlow computes on: None when `used` is False, or when it is None and
    TensorFlow is not loaded or sees no GPU (a record never loads TensorFlow itself)."""
    tf = sys.modules.get("tensorflow")
    if used is False or tf is None:
        return None
    found = []
    for device in tf.config.get_visible_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(device)
        except (ValueError, RuntimeError):
            details = {}
        capability = details.get("compute_capability")
        found.append(
            {
                "name": details.get("device_name", device.name),
                "compute_capability": ".".join(map(str, capability)) if capability else None,
            }
        )
    return found or None


def provenance(
    seeds: dict | None = None,
    gpu: bool | None = None,
    argv: list[str] | None = None,
    cwd: Path | str | None = None,
) -> dict:
    """The facts that reproduce what this process computes. `seeds` as the run has them (e.g.
    {"seed": 0, "split_seed": 0}), None without a run; `gpu` whether the work runs on a GPU
    (None: on one when TensorFlow is loaded and sees one); `argv` and `cwd` default to the
    process's own."""
    cpu = cpu_identity()
    return {
        "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "git": git_state(cwd),
        "command": command_line(argv),
        "cwd": str(Path(cwd or os.getcwd()).resolve()),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "cpu": {"model": cpu.model, "flags": cpu.simd_flags},
        "gpus": gpus(gpu),
        "environment": {name: os.environ[name] for name in ENVIRONMENT if name in os.environ},
        "seeds": seeds,
    }


def run_seeds(settings) -> dict:
    """The seeds of a run's config: its own (weights, data order, noise, sampling) and, for data
    split by aecli, the seed of that split."""
    seeds = {"seed": settings.seed}
    split_seed = getattr(settings.dataset, "split_seed", None)
    if split_seed is not None:
        seeds["split_seed"] = split_seed
    return seeds


def job_command() -> str | None:
    """Inside a Hydra job: the command that runs this job again alone (a sweep's job included),
    `aecli train <its overrides>`; None elsewhere (`aecli resume`)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    hydra_cfg = HydraConfig.get()
    return shlex.join(["aecli", hydra_cfg.job.config_name, *hydra_cfg.overrides.task])


def record_run_start(folder: RunFolder, settings, on_gpu: bool, resumed: bool) -> dict:
    """Write this start of the run into its provenance.json: the first record of a new run, or one
    more in `resumed` (a run from before provenance.json has `started` null)."""
    record = {**provenance(run_seeds(settings), gpu=on_gpu), "job_command": job_command()}
    history = {"started": None, "resumed": []}
    if resumed and folder.provenance.exists():
        try:
            history = json.loads(folder.provenance.read_text())
            history.setdefault("resumed", [])
        except (OSError, ValueError, AttributeError) as error:
            # the record is evidence, not a reason to refuse the resume: keep the unreadable copy
            kept = folder.provenance.with_name(f"{folder.provenance.name}.unreadable")
            log.warning(
                "provenance.json of %s is unreadable (%s); kept as %s",
                folder.path,
                error,
                kept.name,
            )
            os.replace(folder.provenance, kept)
            history = {"started": None, "resumed": []}
    if resumed:
        history["resumed"].append(record)
    else:
        history["started"] = record
    write_json(folder.provenance, history)
    return record
