"""Shared helpers: compose configs in-process, run the real `aecli` CLI in a subprocess, and
install its signal guard for a test."""

import signal
from pathlib import Path

import aecli_process
import pytest
from hydra import compose, initialize_config_dir

from aecli.config.store import CONF_DIR, register

REPO = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption(
        "--train-override",
        action="append",
        default=[],
        help="a Hydra override added after the test's own to every `aecli train` the tests "
        "start (repeatable), e.g. "
        "the fault suite with fused steps: --train-override=hardware.fuse_steps=loop "
        "--train-override=hardware.jit_compile=on --train-override=trainer.steps_per_execution=2 "
        "--train-override=trainer.batch_size=19 (debug=tiny's 216 examples: 11 steps, six calls "
        "an epoch as with one step a call, the last of them partial)",
    )


def pytest_configure(config):
    aecli_process.TRAIN_OVERRIDES[:] = config.getoption("train_override")


@pytest.fixture
def compose_train():
    """Compose conf/train.yaml with overrides, as `aecli train` would, with paths pinned to tmp."""
    register()

    def _compose(*overrides, run_dir="/tmp/aecli-compose", config_name="train"):
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose(config_name, overrides=[f"paths.root_dir={run_dir}", *overrides])

    return _compose


@pytest.fixture(scope="session", autouse=True)
def hermetic_cache(tmp_path_factory):
    """One cache of measured XLA / steps-per-call choices for the test session, for in-process
    calls and the commands tests run alike, module fixtures' runs included (they start before any
    function-scoped fixture): no test reads or writes the user's ~/.cache/aecli."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AECLI_CACHE_DIR", str(tmp_path_factory.mktemp("aecli-cache")))
        yield


@pytest.fixture
def aecli(tmp_path):
    """Run `python -m aecli ARGS` in tmp_path (or `cwd`) to its end (tests/aecli_process.py)."""

    def _run(*args, timeout=600, env=None, cwd=None):
        return aecli_process.run(*args, cwd=cwd or tmp_path, timeout=timeout, env=env)

    return _run


@pytest.fixture
def signal_guard():
    """aecli's SIGINT/SIGTERM guard installed in this process for one test, pytest's handlers
    restored after it."""
    from aecli.rundir.signals import guard

    kept = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    installed = guard.installed
    guard.install()
    yield guard
    for signum, handler in kept.items():
        signal.signal(signum, handler)
    guard.installed = installed
