"""Errors a user can fix: the CLI prints them as one paragraph and exits non-zero, never with a
traceback."""


class UserError(Exception):
    """Bad input from the user; the message names the value and the fix."""

    exit_code = 2


class ConfigError(UserError):
    """A config value is of the right type but out of its allowed range."""


class DataError(UserError):
    """Dataset files are missing, truncated or of the wrong shape."""
