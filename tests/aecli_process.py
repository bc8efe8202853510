"""The one way tests start the real `aecli`: in a child process with the network-free environment
CI has (`run`, behind tests/conftest.py's `aecli` fixture, and the module fixtures that train one
run for many tests), or with a signal to send (`start`); and, for a refusal that needs no fresh
process, the command in this process up to its UserError (`refusal`)."""

import importlib
import os
import subprocess
import sys

import pytest

from aecli.cli import COMMANDS
from aecli.errors import UserError

# overrides every `aecli train` a test starts runs with, after (so over) its own, from pytest's
# --train-override (tests/conftest.py): to run a suite again under another setting, e.g. the
# fault suite with the steps of a call fused into one XLA program
TRAIN_OVERRIDES: list[str] = []


def _command(args) -> list[str]:
    args = [str(arg) for arg in args]
    if args[:1] == ["train"]:
        args += TRAIN_OVERRIDES
    return [sys.executable, "-m", "aecli", *args]


def environment(env: dict | None = None) -> dict:
    """os.environ as a command sees it in CI; `env` adds variables, and a None value removes one
    (e.g. TF_CPP_MIN_LOG_LEVEL, to see the terminal as a user's shell leaves it)."""
    merged = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONUNBUFFERED": "1",
        # a piped command's table width is aecli's own unless a test sets it (pytest-xdist's
        # workers pass COLUMNS on)
        "COLUMNS": None,
        "LINES": None,
        **(env or {}),
    }
    return {key: value for key, value in merged.items() if value is not None}


def run(*args, cwd, timeout=600, env=None) -> subprocess.CompletedProcess:
    """`python -m aecli ARGS` in `cwd`, to its end; stdout and stderr captured as text."""
    return subprocess.run(
        _command(args),
        cwd=cwd,
        env=environment(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start(*args, cwd, env=None, **popen) -> subprocess.Popen:
    """`python -m aecli ARGS` in `cwd`, left running: for a test that signals or kills it."""
    return subprocess.Popen(_command(args), cwd=cwd, env=environment(env), **popen)


def refusal(command: str, *args, exit_code: int = 2) -> UserError:
    """The UserError that `aecli COMMAND ARGS` refuses with, raised in this process: what the CLI
    prints as its one paragraph, exiting with the error's status (aecli/cli.py `_run`), checked
    to be `exit_code`."""
    with pytest.raises(UserError) as refused:
        importlib.import_module(COMMANDS[command][0]).main([str(arg) for arg in args])
    assert refused.value.exit_code == exit_code, refused.value
    return refused.value
