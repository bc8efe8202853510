"""Errors a user can fix: the CLI prints them as one paragraph and exits non-zero, never with a
traceback."""

import errno


class UserError(Exception):
    """Bad input from the user; the message names the value and the fix."""

    exit_code = 2


class ConfigError(UserError):
    """A config value is of the right type but out of its allowed range."""


class DataError(UserError):
    """Dataset files are missing, truncated or of the wrong shape."""


class DiskFull(UserError):
    """The disk aecli writes to filled up; nothing half-written is left behind."""


def disk_full(error: BaseException) -> bool:
    """Whether an error is ENOSPC or EDQUOT (h5py and TensorFlow put the errno in the message
    only)."""
    text = str(error)
    return (
        getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT)
        or "No space left" in text
        or "errno = 28" in text
        or "Disk quota exceeded" in text
    )
