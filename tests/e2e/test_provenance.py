"""A run's provenance.json tells the truth about what ran it, and `aecli --version`."""

import csv
import importlib.metadata
import json
import platform
import shlex
import socket
import subprocess
import sys

import hydra
import keras
import numpy as np
import tensorflow as tf
import yaml

from aecli import __version__ as AECLI_VERSION
from aecli.rundir.provenance import cpu_identity


def _git(repo, *args):
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _table(path):
    rng = np.random.default_rng(0)
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["a", "b", "c"])
        for row in rng.normal(size=(200, 3)):
            writer.writerow(np.round(row, 4))


def test_the_record_of_a_run_is_true_and_a_resume_adds_its_own(aecli, tmp_path):
    # the user's project: a git repository with an uncommitted change, the run started in it
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "notes.txt").write_text("v1\n")
    _git(repo, "add", "notes.txt")
    _git(repo, "commit", "-q", "-m", "first")
    (repo / "notes.txt").write_text("v2, not committed\n")
    _table(tmp_path / "table.csv")
    run = tmp_path / "run"
    args = [
        "train",
        "debug=smoke",
        "hardware=cpu",
        "model=vanilla",
        "model.likelihood=gaussian",
        "model.hidden_units=[8]",
        "model.latent_dim=2",
        "dataset=csv",
        f"dataset.path={tmp_path / 'table.csv'}",
        "dataset.split_seed=5",
        "seed=7",
        "trainer.epochs=1",
        f"hydra.run.dir={run}",
    ]
    env = {"GIT_CEILING_DIRECTORIES": str(tmp_path)}  # no repository above tmp_path counts
    result = aecli(*args, cwd=repo, env=env)
    assert result.returncode == 0, result.stderr[-3000:]

    started = json.loads((run / "provenance.json").read_text())["started"]
    assert started["versions"] == {
        "aecli": importlib.metadata.version("aecli"),
        "python": platform.python_version(),
        "tensorflow": importlib.metadata.version("tensorflow"),
        "keras": importlib.metadata.version("keras"),
        "numpy": importlib.metadata.version("numpy"),
        "hydra": importlib.metadata.version("hydra-core"),
    }
    assert started["versions"] == {
        "aecli": AECLI_VERSION,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "hydra": hydra.__version__,
    }
    config = yaml.safe_load((run / ".hydra" / "config.yaml").read_text())
    seeds = {"seed": config["seed"], "split_seed": config["dataset"]["split_seed"]}
    assert started["seeds"] == seeds
    assert started["seeds"] == {"seed": 7, "split_seed": 5}
    assert started["git"] == {
        "repository": str(repo.resolve()),
        "commit": _git(repo, "rev-parse", "HEAD"),
        "dirty": True,
    }
    assert started["command"] == shlex.join(["aecli", *args])
    assert started["job_command"] == shlex.join(["aecli", *args[:-1]])  # a new folder for a rerun
    assert started["cwd"] == str(repo.resolve())
    assert started["host"] == socket.gethostname()
    assert started["cpu"]["model"] == cpu_identity().model
    assert set(started["cpu"]["flags"]) <= cpu_identity().flags
    assert started["gpus"] is None  # hardware=cpu

    # resumed from outside any repository: the first record stays as it was, the resume's is added
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    first = (run / "provenance.json").read_text()
    resumed = aecli("resume", str(run), "trainer.epochs=2", cwd=elsewhere, env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    history = json.loads((run / "provenance.json").read_text())
    assert history["started"] == json.loads(first)["started"]
    (record,) = history["resumed"]
    assert record["git"] is None and record["job_command"] is None
    assert record["command"] == shlex.join(["aecli", "resume", str(run), "trainer.epochs=2"])
    assert record["seeds"] == started["seeds"]
    assert record["recorded_at"] >= started["recorded_at"]


def test_version_prints_aecli_tensorflow_and_keras_without_loading_tensorflow(aecli):
    result = aecli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"aecli {importlib.metadata.version('aecli')} "
        f"(TensorFlow {importlib.metadata.version('tensorflow')}, "
        f"Keras {importlib.metadata.version('keras')})\n"
    )
    assert aecli("-V").stdout == result.stdout
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from aecli.cli import main; main(['--version']); "
            "print(sorted({'tensorflow', 'keras'} & set(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.splitlines()[-1] == "[]"
