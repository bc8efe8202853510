"""A real single-node Slurm cluster (cluster/slurm_local.sh), started once for the session.

Collected by plain `pytest` too, where it skips at once unless Slurm and munge are installed and
pytest runs as root; `make test-cluster` installs them and runs this folder.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "cluster" / "slurm_local.sh"
_BINARIES = ("munged", "slurmctld", "slurmd", "sinfo", "sbatch", "squeue", "scancel")


def _why_not() -> str | None:
    missing = [name for name in _BINARIES if shutil.which(name) is None]
    if missing:
        return f"Slurm is not installed (no {', '.join(missing)}): `make test-cluster` installs it"
    if os.geteuid() != 0:
        return "a test cluster needs root (slurmd switches to the job's user)"
    return None


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    """Start the cluster; yields the environment (SLURM_CONF) its clients need; stops it at
    the end."""
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    state = tmp_path_factory.mktemp("slurm")
    started = subprocess.run(
        [str(SCRIPT), "start", str(state)], capture_output=True, text=True, timeout=180
    )
    assert started.returncode == 0, started.stderr
    env = {**os.environ, "SLURM_CONF": str(state / "slurm.conf")}
    try:
        yield env
    finally:
        # the jobs first (slurmd's children, not the script's), then the daemons the script started
        subprocess.run(["scancel", "--full", "--user", "root"], env=env, timeout=60)
        stopped = subprocess.run(
            [str(SCRIPT), "stop", str(state)], capture_output=True, text=True, timeout=120
        )
        assert stopped.returncode == 0, stopped.stderr
