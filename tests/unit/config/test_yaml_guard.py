"""YAML alias bombs are counted on the composed node graph and refused before anything expands
them (aecli/config/yaml_guard.py)."""

from pathlib import Path

import pytest
from hostile_files import alias_bomb

from aecli.config.yaml_guard import (
    MAX_NODES,
    check_yaml_file,
    config_dirs,
    expanded_nodes,
)
from aecli.errors import ConfigError


def test_aliases_are_counted_as_expanded():
    assert expanded_nodes("a: 1\nb: [1, 2]\n") == 1 + (1 + 1) + (1 + 3)
    assert expanded_nodes("a: &x [1, 2]\nb: *x\n") == 1 + (1 + 3) + (1 + 3)
    assert expanded_nodes(alias_bomb()) > 10**9  # counted, never built


def test_a_self_referencing_node_is_counted_once():
    assert expanded_nodes("a: &s [*s]\n") == 1 + 1 + 2


def test_an_alias_bomb_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    with pytest.raises(ConfigError) as error:
        check_yaml_file(path)
    assert str(path) in str(error.value) and "1,234,567,909 YAML values" in str(error.value)


def test_aecli_own_configs_and_broken_yaml_pass(tmp_path):
    from aecli.config.store import CONF_DIR

    for path in Path(CONF_DIR).rglob("*.yaml"):
        check_yaml_file(path)
        assert expanded_nodes(path.read_text()) < MAX_NODES / 100
    (tmp_path / "broken.yaml").write_text("epochs: [1\n")
    check_yaml_file(tmp_path / "broken.yaml")  # the loader reports it, with its line


def test_config_dirs_are_found_in_every_spelling():
    args = ["--config-dir", "/a", "-cd", "/b", "--config-dir=/c", "-cd=/d", "x=1"]
    assert config_dirs(args) == [Path(p) for p in ("/a", "/b", "/c", "/d")]
