"""A run whose process was killed still says `running` in its status.json; its lock tells the
listing whether that process is alive, and a new claim whether it may take the folder over
(aecli/rundir/claim.py, listing.py)."""

import json
import os
import socket
import subprocess
import sys

import pytest

from aecli.rundir.claim import FolderBusy, dead_owner, holds_lock, lock, start_time
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
    "alive": lambda: f"{os.getpid()} {socket.gethostname()} {start_time(os.getpid())}\n",
    # on another host of a shared disk: cannot be checked here
    "another host": lambda: "1 another-node\n",
    "an earlier version's lock, host unknown": lambda: "12345\n",
}


@pytest.mark.parametrize("owner", list(LIVE_REMOTE_OR_UNKNOWN))
def test_a_live_remote_or_unknown_owner_keeps_running(running, owner):
    folder = running(LIVE_REMOTE_OR_UNKNOWN[owner]())
    assert dead_owner(folder) is None
    assert read_run(folder.path).status == "running"


def test_the_lock_names_this_process_host_and_start_time(tmp_path):
    folder = RunFolder(tmp_path / "run")
    lock(folder)
    assert folder.lock.read_text().split() == [
        str(os.getpid()),
        socket.gethostname(),
        start_time(os.getpid()),
    ]
    assert holds_lock(folder) and dead_owner(folder) is None


@pytest.fixture
def sleeper():
    """A live process on this host that is not aecli: what a dead owner's PID may be reused by."""
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()
    process.wait()


@pytest.mark.parametrize("pid", [999999, 1, os.getpid()], ids=["no such pid here", "1", "ours"])
def test_a_lock_of_another_host_is_refused_naming_the_host_until_forced(running, pid):
    folder = running(f"{pid} other-node 12345\n")
    with pytest.raises(FolderBusy) as refused:
        lock(folder, takeover="`aecli resume RUN --force`")
    message = str(refused.value)
    assert f"process {pid} on host other-node" in message
    assert f"ssh other-node ps -p {pid}" in message and "`aecli resume RUN --force`" in message
    assert "kill" not in message  # a PID of another host means nothing here
    assert folder.lock.read_text() == f"{pid} other-node 12345\n"  # refused: untouched
    assert read_run(folder.path).status == "running"  # as `aecli runs` says
    lock(folder, force=True)
    assert holds_lock(folder) and folder.lock.read_text().split()[1] == socket.gethostname()


def test_without_a_way_to_force_the_advice_is_to_delete_the_lock(running):
    folder = running("999999 other-node\n")
    with pytest.raises(FolderBusy, match=f"by deleting {folder.lock}"):
        lock(folder)


def test_a_pid_reused_by_a_process_that_is_not_aecli_is_stale(running, sleeper):
    # a lock of an earlier version (no start time): the command line tells
    folder = running(f"{sleeper.pid} {socket.gethostname()}\n")
    assert dead_owner(folder) == sleeper.pid
    assert read_run(folder.path).status == "interrupted"
    lock(folder)
    assert holds_lock(folder)


def test_a_pid_reused_by_a_process_started_after_the_lock_is_stale(running, sleeper):
    folder = running(f"{sleeper.pid} {socket.gethostname()} 1\n")  # started at another time
    assert dead_owner(folder) == sleeper.pid
    lock(folder)
    assert holds_lock(folder)


def test_the_live_process_that_wrote_a_lock_keeps_it_whatever_it_runs(running, sleeper):
    folder = running(f"{sleeper.pid} {socket.gethostname()} {start_time(sleeper.pid)}\n")
    assert dead_owner(folder) is None
    with pytest.raises(FolderBusy, match=f"PID {sleeper.pid}.*`kill {sleeper.pid}`"):
        lock(folder)
