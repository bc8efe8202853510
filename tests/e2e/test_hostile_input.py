"""Hostile or absurd input on the command line and in config files: one paragraph, exit 2, no
Python warning or traceback before it, and nothing written."""

import json
import resource
import subprocess
import sys

import pytest
from hostile_files import alias_bomb


@pytest.mark.parametrize(
    "override, key",
    [
        ("dataset.size=${oops}", "dataset.size"),
        ("hydra.run.dir=${oops}", "hydra.run.dir"),
    ],
    ids=["a config key", "the run folder"],
)
def test_an_unresolvable_interpolation_is_one_line_without_hydra_warnings(
    aecli, tmp_path, override, key
):
    result = aecli("train", "dataset=synthetic", override, cwd=tmp_path)
    assert result.returncode == 2
    assert "Warning" not in result.stderr and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert f"Interpolation key 'oops' not found (at `{key}`)" in line
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").rglob("*.json"))


def test_an_unresolvable_sweep_folder_is_one_line_without_hydra_warnings(aecli, tmp_path):
    result = aecli("train", "-m", "dataset=synthetic", "hydra.sweep.dir=${oops}", cwd=tmp_path)
    assert result.returncode == 2
    assert "Warning" not in result.stderr and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "Interpolation key 'oops' not found (at `hydra.sweep.dir`)" in line


@pytest.mark.parametrize(
    "point, stage", [("data-loading", "data loading"), ("evaluation", "the final evaluation")]
)
def test_a_stop_outside_training_does_not_speak_of_a_partial_epoch(aecli, tmp_path, point, stage):
    run = tmp_path / "run"
    result = aecli(
        "train",
        "debug=tiny",
        f"hydra.run.dir={run}",
        env={"AECLI_FAULT_POINT": point, "AECLI_FAULT_SIGNAL": "SIGTERM"},
    )
    assert result.returncode == 143, result.stderr[-2000:]
    assert f"Stopped by SIGTERM during {stage}" in result.stderr
    assert "partial epoch" not in result.stderr
    assert "partial epoch" not in json.loads((run / "status.json").read_text())["error"]


def _address_space_of_2_gib():
    # a guard that failed would let Hydra expand a billion values: stop it at 2 GiB, not at the
    # shared machine's memory
    resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))


def test_a_yaml_alias_bomb_in_a_config_dir_is_refused_before_hydra_loads_it(tmp_path):
    (tmp_path / "conf" / "trainer").mkdir(parents=True)
    (tmp_path / "conf" / "trainer" / "bomb.yaml").write_text("# @package _global_\n" + alias_bomb())
    result = subprocess.run(
        [sys.executable, "-m", "aecli", "train", "--config-dir", "conf", "trainer=bomb"],
        cwd=tmp_path,
        preexec_fn=_address_space_of_2_gib,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "bomb.yaml expands into 1,234,567,909 YAML values" in " ".join(result.stderr.split())
    assert not (tmp_path / "outputs").exists()
