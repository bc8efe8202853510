"""aecli.rundir.provenance: the facts gathered are the true ones, and a run's record history is
only ever appended to."""

import importlib.metadata
import json
import platform
import subprocess
import sys
from types import SimpleNamespace

import numpy
import pytest

import aecli
from aecli.rundir.layout import RunFolder
from aecli.rundir.provenance import (
    CpuIdentity,
    command_line,
    cpu_identity,
    git_state,
    gpus,
    provenance,
    record_run_start,
    run_seeds,
    version_line,
    versions,
)


def _git(repo, *args):
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository with one commit, in a folder no repository above can claim."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "train.sh").write_text("aecli train\n")
    _git(repo, "add", "train.sh")
    _git(repo, "commit", "-q", "-m", "first")
    return repo


def test_git_state_names_the_commit_of_a_clean_tree(repo):
    state = git_state(repo)
    assert state == {
        "repository": str(repo.resolve()),
        "commit": _git(repo, "rev-parse", "HEAD"),
        "dirty": False,
    }
    (repo / "sub").mkdir()
    assert git_state(repo / "sub") == state  # found from a folder inside it, as git finds it


def test_a_modified_tracked_file_makes_the_tree_dirty(repo):
    (repo / "train.sh").write_text("aecli train seed=1\n")
    assert git_state(repo)["dirty"] is True


def test_an_untracked_file_leaves_the_tree_clean_as_git_describe_dirty_does(repo):
    (repo / "outputs").mkdir()
    (repo / "outputs" / "metrics.json").write_text("{}")
    assert git_state(repo)["dirty"] is False


def test_outside_a_repository_or_before_its_first_commit_git_is_null(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (tmp_path / "plain").mkdir()
    assert git_state(tmp_path / "plain") is None
    (tmp_path / "empty").mkdir()
    _git(tmp_path / "empty", "init", "-q")
    assert git_state(tmp_path / "empty") is None


def test_without_git_installed_git_is_null(repo, monkeypatch):
    monkeypatch.setenv("PATH", str(repo))  # no git on it
    assert git_state(repo) is None


@pytest.mark.parametrize(
    "argv, typed",
    [
        (
            ["aecli train", "seed=1", "model.hidden_units=[32]"],  # as hydra_app names it
            "aecli train seed=1 'model.hidden_units=[32]'",
        ),
        (["/venv/bin/aecli", "resume", "/runs/my run"], "aecli resume '/runs/my run'"),
        (["/src/aecli/__main__.py", "eval", "run"], "aecli eval run"),  # python -m aecli
        (["my_script.py", "--flag"], "my_script.py --flag"),
    ],
)
def test_the_command_line_reads_as_the_user_typed_it(argv, typed):
    assert command_line(argv) == typed


def test_versions_are_the_installed_and_loaded_ones():
    found = versions()
    assert found["aecli"] == aecli.__version__ == importlib.metadata.version("aecli")
    assert found["python"] == platform.python_version()
    assert found["numpy"] == numpy.__version__ == importlib.metadata.version("numpy")
    assert found["hydra"] == importlib.metadata.version("hydra-core")
    assert found["keras"] == importlib.metadata.version("keras")
    assert found["tensorflow"] == importlib.metadata.version("tensorflow")


def test_version_line_names_aecli_tensorflow_and_keras():
    assert version_line() == (
        f"aecli {aecli.__version__} (TensorFlow {importlib.metadata.version('tensorflow')}, "
        f"Keras {importlib.metadata.version('keras')})"
    )


def test_the_record_keeps_only_the_simd_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "model name\t: Intel Xeon\n"
        "flags\t\t: fpu sse2 sse4_2 avx avx2 fma avx512f avx512_bf16 amx_tile amx_bf16 aes\n"
    )
    identity = cpu_identity.__wrapped__(str(cpuinfo))
    assert identity.simd_flags == [
        "amx_bf16",
        "amx_tile",
        "avx",
        "avx2",
        "avx512_bf16",
        "avx512f",
        "fma",
        "sse4_2",
    ]
    assert CpuIdentity("unknown", frozenset()).simd_flags == []


def test_no_gpu_is_named_when_the_work_is_not_on_one():
    assert gpus(False) is None


def test_a_record_with_no_run_has_null_seeds_and_the_process_command(monkeypatch, tmp_path):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["/venv/bin/aecli", "export", "run"])
    record = provenance(gpu=False, cwd=tmp_path)
    assert record["seeds"] is None and record["gpus"] is None and record["git"] is None
    assert record["command"] == "aecli export run"
    assert record["cpu"]["model"] == cpu_identity().model
    json.dumps(record)  # a JSON document as it is


def _settings(seed=3, split_seed=None):
    dataset = SimpleNamespace() if split_seed is None else SimpleNamespace(split_seed=split_seed)
    return SimpleNamespace(seed=seed, dataset=dataset)


def test_run_seeds_take_the_split_seed_where_the_dataset_has_one():
    assert run_seeds(_settings(3)) == {"seed": 3}
    assert run_seeds(_settings(3, split_seed=5)) == {"seed": 3, "split_seed": 5}


def test_a_resume_adds_its_record_and_keeps_the_first(tmp_path):
    folder = RunFolder(tmp_path)
    first = record_run_start(folder, _settings(3), on_gpu=False, resumed=False)
    started = folder.provenance.read_text()
    second = record_run_start(folder, _settings(3), on_gpu=False, resumed=True)
    third = record_run_start(folder, _settings(3), on_gpu=False, resumed=True)
    history = json.loads(folder.provenance.read_text())
    assert history["started"] == json.loads(json.dumps(first))
    assert json.loads(started)["started"] == history["started"]
    assert history["resumed"] == json.loads(json.dumps([second, third]))


def test_a_run_from_before_provenance_records_its_resume_with_no_start(tmp_path):
    folder = RunFolder(tmp_path)
    record_run_start(folder, _settings(3), on_gpu=False, resumed=True)
    history = json.loads(folder.provenance.read_text())
    assert history["started"] is None and len(history["resumed"]) == 1


def test_an_unreadable_record_is_kept_aside_not_lost(tmp_path):
    folder = RunFolder(tmp_path)
    folder.provenance.write_text('{"started": ')
    record_run_start(folder, _settings(3), on_gpu=False, resumed=True)
    assert (tmp_path / "provenance.json.unreadable").read_text() == '{"started": '
    assert len(json.loads(folder.provenance.read_text())["resumed"]) == 1
