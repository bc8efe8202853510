"""A run folder is claimed by one process at a time, and never reused for a second run.

The claim is a lock file created with O_EXCL holding the owner's PID, host name and start time: a
second `aecli train hydra.run.dir=X` or `aecli resume X` started beside the first is refused. A
lock of this host is taken over when its process is gone: its PID is dead, or now names another
process (its start time differs; a lock of an earlier version, without one, when the process
there does not run aecli). A lock of another host (a node sharing the disk) cannot be checked
from here: it is taken over only when the user says so (`aecli resume X --force`) after checking
that host.
"""

import atexit
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from aecli.errors import DiskFull, UserError, disk_full
from aecli.rundir.atomic import write_text
from aecli.rundir.layout import RunFolder


class FolderBusy(UserError):
    """Another live process holds the run folder."""


@dataclass(frozen=True)
class Owner:
    """What a lock file says of the process that wrote it; host and start time are None in locks
    of earlier versions."""

    pid: int
    host: str | None
    started: str | None


def start_time(pid: int) -> str | None:
    """When process `pid` started, in clock ticks since boot (field 22 of /proc/PID/stat); None
    when it is gone or the system has no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # field 2, the command name, is in parentheses and may hold spaces; field 3 follows it
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def _runs_aecli(pid: int) -> bool:
    """Whether process `pid`'s command line names aecli (`aecli ...`, `python -m aecli ...`);
    True when it cannot be read (no /proc, or another user's process hidden by hidepid)."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True
    return any(b"aecli" in argument for argument in arguments)


def _alive(pid: int) -> bool:
    if pid <= 0:  # not a process: os.kill would address a process group
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _remote(owner: Owner) -> bool:
    """Whether the lock was written on another host (a lock of an earlier version, whose host is
    unknown, is taken for this host's, as those versions did)."""
    return owner.host is not None and owner.host != socket.gethostname()


def _gone(owner: Owner) -> bool:
    """Whether the process that wrote a lock of this host has ended: its PID is dead or names a
    process started at another time (a PID the system has given to a new process)."""
    if not _alive(owner.pid):
        return True
    if owner.started is not None:
        now = start_time(owner.pid)
        return now is not None and now != owner.started
    return not _runs_aecli(owner.pid)


def lock(folder: RunFolder, force: bool = False, takeover: str | None = None) -> None:
    """Take the folder's lock for this process (released at exit), or refuse with FolderBusy.

    A lock of another host is taken over only with `force`; `takeover` is how the user says so
    (the refusal's advice; without it, deleting the lock file)."""
    try:
        folder.path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _unwritable(folder, error) from None
    for _ in range(2):
        try:
            descriptor = os.open(folder.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = lock_owner(folder)
            if owner is not None and _remote(owner) and not force:
                raise _remote_busy(folder, owner, takeover) from None
            if owner is not None and not _remote(owner):
                if owner.pid == os.getpid():
                    return
                if not _gone(owner):
                    raise FolderBusy(
                        f"Another aecli process (PID {owner.pid}) on this host is working on "
                        f"{folder.path}; two processes must not train into one run folder. Wait "
                        f"for it to end, or stop it first (`kill {owner.pid}`)."
                    ) from None
            # stale (its process is gone), unreadable, or another host's taken over with force
            try:
                folder.lock.unlink(missing_ok=True)
            except OSError as error:  # not a file aecli wrote: a folder, or one it cannot remove
                raise UserError(
                    f"{folder.lock} is in the way of the run's lock and cannot be removed "
                    f"({error.strerror or error}); aecli writes a one-line file there. Remove it "
                    "(e.g. `rm -r` a folder of that name) if no aecli process is using the run."
                ) from None
            continue
        except OSError as error:
            raise _unwritable(folder, error) from None
        started = start_time(os.getpid())
        record = " ".join([str(os.getpid()), socket.gethostname(), *([started] if started else [])])
        try:
            os.write(descriptor, f"{record}\n".encode())
        except OSError as error:  # a full disk: no empty lock may be left behind
            folder.lock.unlink(missing_ok=True)
            raise _unwritable(folder, error) from None
        finally:
            os.close(descriptor)
        atexit.register(unlock, folder)
        return
    raise FolderBusy(f"Could not take the lock {folder.lock}: another process keeps creating it.")


def _remote_busy(folder: RunFolder, owner: Owner, takeover: str | None) -> FolderBusy:
    how = takeover or f"deleting {folder.lock}"
    return FolderBusy(
        f"{folder.path} is locked by process {owner.pid} on host {owner.host} (its "
        f"{folder.lock.name}), which may still be training into it; from this host "
        f"({socket.gethostname()}) that cannot be checked. Check on {owner.host} that the process "
        f"has ended (e.g. `ssh {owner.host} ps -p {owner.pid}`), then take the folder over by "
        f"{how}."
    )


def _unwritable(folder: RunFolder, error: OSError) -> UserError:
    if disk_full(error):
        return DiskFull(
            f"No space left on the device holding {folder.path}: nothing was started and "
            "nothing aecli wrote there is left. Free space on that disk (or, for a new run, "
            "choose another `hydra.run.dir`) and run the command again."
        )
    return UserError(
        f"Cannot write in the run folder {folder.path} ({error.strerror or error}): aecli needs "
        "to write its lock, status and checkpoints there. Make it writable (e.g. remount a "
        "read-only disk read-write), or copy the run to a writable place and resume the copy."
    )


def lock_owner(folder: RunFolder) -> Owner | None:
    """The lock's owner as the lock file names it, or None when there is no readable lock."""
    try:
        fields = folder.lock.read_text().split()
        return Owner(
            int(fields[0]),
            fields[1] if len(fields) > 1 else None,
            fields[2] if len(fields) > 2 else None,
        )
    except (OSError, ValueError, IndexError):
        return None


def holds_lock(folder: RunFolder) -> bool:
    owner = lock_owner(folder)
    return owner is not None and owner.pid == os.getpid() and not _remote(owner)


def dead_owner(folder: RunFolder) -> int | None:
    """The PID of the process that locked the folder on this host and is gone without releasing
    it (killed, out of memory, the machine restarted), else None: no lock, a live owner, or one
    on another host (or of unknown host), which cannot be checked from here."""
    owner = lock_owner(folder)
    if owner is None or owner.host != socket.gethostname() or not _gone(owner):
        return None
    return owner.pid


def unlock(folder: RunFolder) -> None:
    """Release the lock if this process holds it."""
    if holds_lock(folder):
        folder.lock.unlink(missing_ok=True)


def claim(folder: RunFolder, settings, hydra_cfg: DictConfig) -> RunFolder:
    """Lock the folder, refuse it if it holds an earlier run (writing nothing into it), then save
    the validated config, Hydra's config and the overrides."""
    lock(folder)
    if folder.holds_run():
        unlock(folder)
        raise UserError(
            f"The run folder {folder.path} already holds a run, and aecli never overwrites one. "
            "Pick a new folder with `hydra.run.dir=...` "
            "(or drop that override to get a fresh one); "
            f"to continue that run, use `aecli resume {folder.path}`."
        )
    records = {
        folder.overrides: OmegaConf.to_yaml(list(hydra_cfg.overrides.task)),
        folder.hydra_config: OmegaConf.to_yaml(hydra_cfg),
        folder.config: OmegaConf.to_yaml(OmegaConf.structured(settings)),
    }
    made_config_dir = not folder.config_dir.exists()
    written = []
    try:
        folder.config_dir.mkdir(parents=True, exist_ok=True)
        for path, text in records.items():
            write_text(path, text)
            written.append(path)
    except OSError as error:  # e.g. a full disk: the refusal leaves nothing of this run behind
        for path in written:
            path.unlink(missing_ok=True)
        if made_config_dir:
            shutil.rmtree(folder.config_dir, ignore_errors=True)
        unlock(folder)
        raise _unwritable(folder, error) from None
    return folder


def record_overrides(folder: RunFolder, hydra_cfg: DictConfig) -> None:
    """The command line of a sweep job refused before training (its config did not validate), so
    the summary can say which job it was; never written into a folder that holds a run."""
    if folder.holds_run():
        return
    folder.config_dir.mkdir(parents=True, exist_ok=True)
    write_text(folder.overrides, OmegaConf.to_yaml(list(hydra_cfg.overrides.task)))
