"""A run whose process was killed still says `running` in its status.json; its lock tells the
listing whether that process is alive (aecli/rundir/claim.py, listing.py)."""

import json
import os
import socket
import subprocess
import sys

import pytest

from aecli.rundir.claim import dead_owner, holds_lock, lock
from aecli.rundir.layout import RunFolder
from aecli.rundir.listing import read_run


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def running(tmp_path):
    """A run folder whose status.json says running after 3 epochs, lock written by the test."""
    folder = RunFolder(tmp_path / "run")
    folder.path.mkdir()
    folder.status.write_text(
        json.dumps({"status": "running", "started": None, "ended": None, "epochs_completed": 3})
    )

    def with_lock(content: str) -> RunFolder:
        folder.lock.write_text(content)
        return folder

    return with_lock


def test_a_dead_process_on_this_host_reads_as_interrupted_with_how_to_go_on(running):
    pid = _dead_pid()
    folder = running(f"{pid} {socket.gethostname()}\n")
    assert dead_owner(folder) == pid
    run = read_run(folder.path)
    assert run.status == "interrupted"
    assert f"PID {pid}" in run.error and "after 3 completed epochs" in run.error
    assert f"aecli resume {folder.path}" in run.error
    assert json.loads(folder.status.read_text())["status"] == "running"  # reading writes nothing


LIVE_REMOTE_OR_UNKNOWN = {
    "alive": lambda: f"{os.getpid()} {socket.gethostname()}\n",
    # on another host of a shared disk: cannot be checked here
    "another host": lambda: "1 another-node\n",
    "an earlier version's lock, host unknown": lambda: "12345\n",
}


@pytest.mark.parametrize("owner", list(LIVE_REMOTE_OR_UNKNOWN))
def test_a_live_remote_or_unknown_owner_keeps_running(running, owner):
    folder = running(LIVE_REMOTE_OR_UNKNOWN[owner]())
    assert dead_owner(folder) is None
    assert read_run(folder.path).status == "running"


def test_the_lock_names_this_process_and_host(tmp_path):
    folder = RunFolder(tmp_path / "run")
    lock(folder)
    assert folder.lock.read_text().split() == [str(os.getpid()), socket.gethostname()]
    assert holds_lock(folder) and dead_owner(folder) is None
