"""`aecli runs`: what each row says about a run, read from the files a run leaves behind."""

import json

from rich.console import Console

from aecli.commands.runs import runs_table
from aecli.rundir.listing import find_runs


def _run(folder, overrides, status, error=None, config=""):
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {item}\n" for item in overrides))
    (folder / ".hydra" / "config.yaml").write_text(config)
    (folder / "status.json").write_text(
        json.dumps({"status": status, "error": error, "started": "2026-01-01T00:00:00"})
    )


def _text(root) -> str:
    console = Console(width=400, record=True)
    console.print(runs_table(find_runs(root), root))
    return console.export_text()


def _header(text: str) -> str:
    """The table's header row, the line above its rule (the title above it names the tmp folder,
    which is named after the test)."""
    lines = text.splitlines()
    return next(lines[i - 1] for i, line in enumerate(lines) if line.lstrip().startswith("─"))


def test_a_failed_run_shows_its_overrides_and_the_first_sentence_of_its_error(tmp_path):
    _run(
        tmp_path / "a",
        ["model=vae", "trainer.batch_size=4096"],
        "failed",
        "trainer.batch_size=4096 is larger than the training set (480 examples). Lower it."
        "\nTraceback ...",
    )
    text = _text(tmp_path)
    assert "model=vae trainer.batch_size=4096" in text
    assert "failed: trainer.batch_size=4096 is larger than the training set (480 examples)" in text
    assert "Lower it" not in text and "Traceback" not in text


def test_tags_are_shown_when_a_run_has_them(tmp_path):
    _run(tmp_path / "a", ["beta=4"], "completed", config="tags: [baseline, mnist]\n")
    _run(tmp_path / "b", ["beta=1"], "completed")
    text = _text(tmp_path)
    assert " tags " in _header(text) and "baseline, mnist" in text


def test_no_tags_column_when_no_run_has_tags(tmp_path):
    _run(tmp_path / "a", ["beta=4"], "completed")
    assert " tags " not in _header(_text(tmp_path))
