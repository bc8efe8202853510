"""Shared helpers: compose configs in-process and run the real `aecli` CLI in a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from aecli.config.store import CONF_DIR, register

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def compose_train():
    """Compose conf/train.yaml with overrides, as `aecli train` would, with paths pinned to tmp."""
    register()

    def _compose(*overrides, run_dir="/tmp/aecli-compose", config_name="train"):
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose(config_name, overrides=[f"paths.root_dir={run_dir}", *overrides])

    return _compose


@pytest.fixture(scope="session")
def step_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("aecli-cache")


@pytest.fixture(autouse=True)
def hermetic_cache(step_cache, monkeypatch):
    """One cache of measured XLA / steps-per-call choices for the test session, for in-process
    calls and the commands tests run alike: no test reads or writes the user's ~/.cache/aecli."""
    monkeypatch.setenv("AECLI_CACHE_DIR", str(step_cache))


# DCI's reference gradient-boosted trees fit 100 trees per factor class, seconds even on a test
# split of a hundred codes; the runs this fixture starts score their factors with extra-trees
# unless a test asks otherwise (tests/unit/evaluation tests the reference estimator, and
# tests/e2e/test_apply.py trains one run with the default)
FAST_DCI = "eval.dci_estimator=extra_trees"


@pytest.fixture
def aecli(tmp_path):
    """Run `python -m aecli ARGS` in tmp_path (or `cwd`) with the network-free environment CI
    has; `env` adds variables to it, and a None value removes one (e.g. TF_CPP_MIN_LOG_LEVEL, to
    see the terminal as a user's shell leaves it). `train` and `anomaly` get FAST_DCI."""

    def _run(*args, timeout=600, env=None, cwd=None):
        if args[:1] in (("train",), ("anomaly",)) and not any(
            str(arg).startswith("eval.dci_estimator=") for arg in args
        ):
            args = (*args, FAST_DCI)
        environment = {
            **os.environ,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONUNBUFFERED": "1",
            # a piped command's table width is aecli's own unless a test sets it (pytest-xdist's
            # workers pass COLUMNS on)
            "COLUMNS": None,
            "LINES": None,
            **(env or {}),
        }
        return subprocess.run(
            [sys.executable, "-m", "aecli", *args],
            cwd=cwd or tmp_path,
            env={key: value for key, value in environment.items() if value is not None},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return _run
