"""`aecli runs`: what each row says about a run, read from the files a run leaves behind."""

import json

import pytest
import yaml
from rich.console import Console

from aecli.commands import runs
from aecli.rundir.listing import read_run


def _run(folder, overrides, status, error=None, config=""):
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {item}\n" for item in overrides))
    (folder / ".hydra" / "config.yaml").write_text(config)
    (folder / "status.json").write_text(
        json.dumps({"status": status, "error": error, "started": "2026-01-01T00:00:00"})
    )


def _text(root, terminal: bool = False) -> str:
    """`aecli runs ROOT` as a 400-column terminal (`terminal`: one that takes escape codes) shows
    it."""
    console = Console(width=400, record=True, force_terminal=terminal)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runs, "console", console)
        assert runs.main([str(root)]) == 0
    return console.export_text(styles=False)


def _header(text: str) -> str:
    """The table's header row, the line above its rule (the title above it names the tmp folder,
    which is named after the test)."""
    lines = text.splitlines()
    return next(lines[i - 1] for i, line in enumerate(lines) if line.lstrip().startswith("─"))


def test_a_failed_run_shows_the_first_sentence_of_its_error_under_its_row(tmp_path):
    _run(
        tmp_path / "a",
        ["model=vae", "trainer.batch_size=4096"],
        "failed",
        "trainer.batch_size=4096 is larger than the training set (480 examples). Lower it."
        "\nTraceback ...",
    )
    lines = _text(tmp_path).splitlines()
    row = lines.index(next(line for line in lines if line.split()[:1] == ["a"]))
    assert lines[row + 1] == (
        "  ↳ failed: trainer.batch_size=4096 is larger than the training set (480 examples)"
    )
    assert "Lower it" not in "".join(lines) and "Traceback" not in "".join(lines)


def test_tags_are_shown_when_a_run_has_them(tmp_path):
    _run(tmp_path / "a", ["beta=4"], "completed", config="tags: [baseline, mnist]\n")
    _run(tmp_path / "b", ["beta=1"], "completed", config="tags: []\n")
    text = _text(tmp_path)
    assert " tags" in _header(text) and "[baseline,mnist]" in text


def test_no_tags_column_when_no_run_has_tags(tmp_path):
    _run(tmp_path / "a", ["beta=4"], "completed")
    assert " tags " not in _header(_text(tmp_path))


@pytest.mark.parametrize(
    "status_error, config, damage",
    [
        (5, "", "status.json's `error` is `5`, not text"),
        (None, "model: 5\n", "config.yaml's `model` is `5`, not a section"),
        (None, "dataset: [1, 2]\n", "config.yaml's `dataset` is `[1, 2]`, not a section"),
        (
            None,
            "name: [1, 2]\ntags: 7\n",
            "config.yaml's `name` is `[1, 2]`, not text; config.yaml's `tags` is `7`, not a list",
        ),
    ],
    ids=["error a number", "model a number", "dataset a list", "name a list, tags a number"],
)
def test_a_record_with_a_field_of_the_wrong_kind_is_a_damaged_row_not_a_crash(
    tmp_path, status_error, config, damage
):
    _run(tmp_path / "bad", ["beta=4"], "completed", status_error, config)
    _run(tmp_path / "good", ["beta=1"], "completed", config="name: fine\ntags: [a]\n")
    lines = _text(tmp_path).splitlines()
    assert f"  ↳ damaged record: {damage}" in lines
    assert any(line.split()[:1] == ["good"] for line in lines)  # the other run is listed as ever


def test_a_failed_run_with_a_damaged_config_shows_its_reason_then_the_damage(tmp_path):
    _run(tmp_path / "a", ["beta=4"], "failed", "Out of memory. Lower it.", config="model: 5\n")
    assert (
        "  ↳ failed: Out of memory; damaged record: config.yaml's `model` is `5`, not a section"
        in _text(tmp_path).splitlines()
    )


def test_a_numeric_name_is_shown_as_text(tmp_path):
    _run(tmp_path / "a", ["beta=4"], "completed", config="name: 42\n")
    assert "42" in _text(tmp_path)


def test_escape_sequences_in_records_never_reach_the_terminal(tmp_path):
    _run(
        tmp_path / "a",
        [],
        "failed",
        "\x1b[2J\x1b[31mcleared\rscreen",
        config='name: "\\e[5mblink"\ntags: ["\\e[1mbold"]\n',
    )
    # as Hydra writes them: YAML escapes the control characters
    (tmp_path / "a" / ".hydra" / "overrides.yaml").write_text(
        yaml.safe_dump(["beta=4", "name=\x1b]0;pwned\x07x"])
    )
    run = read_run(tmp_path / "a")
    assert run.first_error_line == "[2J[31mclearedscreen"
    assert run.overrides == ["beta=4", "name=]0;pwnedx"]
    shown = _text(tmp_path, terminal=True)
    assert not any(ord(c) < 32 and c != "\n" or 0x7F <= ord(c) <= 0x9F for c in shown)
    assert "name=[5mblink" in shown


def test_a_config_that_is_an_alias_bomb_or_refers_to_itself_is_listed_without_expanding(
    tmp_path, capsys
):
    from hostile_files import alias_bomb

    _run(tmp_path / "a", ["beta=4"], "completed", config=alias_bomb() + "me: &s [*s]\n")
    assert "1 runs under" in _text(tmp_path)
    capsys.readouterr()
    assert runs.main([str(tmp_path), "--format", "json"]) == 0
    written = capsys.readouterr().out
    assert len(written) < 1_000_000 and json.loads(written)[0]["me"] == "[…]"  # cut at itself
    assert runs.main([str(tmp_path), "--format", "csv"]) == 0
    written = capsys.readouterr().out
    assert len(written) < 1_000_000 and ",[…]" in written
