"""A run folder is claimed by one process at a time, and never reused for a second run.

The claim is a lock file created with O_EXCL holding the owner's PID and host name: a second
`aecli train hydra.run.dir=X` or `aecli resume X` started beside the first is refused, and a lock
left by a process that died (kill -9) is recognised by its dead PID and taken over. (The host
tells a dead process from one running on another node of a shared disk, whose PID means
nothing here.)
"""

import atexit
import os
import shutil
import socket

from omegaconf import DictConfig, OmegaConf

from aecli.errors import DiskFull, UserError, disk_full
from aecli.rundir.atomic import write_text
from aecli.rundir.layout import RunFolder


class FolderBusy(UserError):
    """Another live process holds the run folder."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def lock(folder: RunFolder) -> None:
    """Take the folder's lock for this process (released at exit), or refuse with FolderBusy."""
    try:
        folder.path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _unwritable(folder, error) from None
    for _ in range(2):
        try:
            descriptor = os.open(folder.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = (lock_owner(folder) or (0, None))[0]
            if owner == os.getpid():
                return
            if owner and _alive(owner):
                raise FolderBusy(
                    f"Another aecli process (PID {owner}) is working on {folder.path}; "
                    "two processes "
                    "must not train into one run folder. Wait for it to end, or stop it first "
                    f"(`kill {owner}`)."
                ) from None
            folder.lock.unlink(missing_ok=True)  # stale: its process is gone
            continue
        except OSError as error:
            raise _unwritable(folder, error) from None
        try:
            os.write(descriptor, f"{os.getpid()} {socket.gethostname()}\n".encode())
        except OSError as error:  # a full disk: no empty lock may be left behind
            folder.lock.unlink(missing_ok=True)
            raise _unwritable(folder, error) from None
        finally:
            os.close(descriptor)
        atexit.register(unlock, folder)
        return
    raise FolderBusy(f"Could not take the lock {folder.lock}: another process keeps creating it.")


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


def lock_owner(folder: RunFolder) -> tuple[int, str | None] | None:
    """(PID, host) of the lock's owner (host None in locks of earlier versions), or None when
    there is no readable lock."""
    try:
        fields = folder.lock.read_text().split()
        return int(fields[0]), (fields[1] if len(fields) > 1 else None)
    except (OSError, ValueError, IndexError):
        return None


def holds_lock(folder: RunFolder) -> bool:
    owner = lock_owner(folder)
    return owner is not None and owner[0] == os.getpid()


def dead_owner(folder: RunFolder) -> int | None:
    """The PID of the process that locked the folder on this host and is gone without releasing
    it (killed, out of memory, the machine restarted), else None: no lock, a live owner, or one
    on another host (or of unknown host), which cannot be checked from here."""
    owner = lock_owner(folder)
    if owner is None or owner[1] != socket.gethostname() or _alive(owner[0]):
        return None
    return owner[0]


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
