"""`aecli runs` and `aecli summarize` on records a user or a tool edited into the wrong kinds: each
damaged run is a row that says so, the others are listed as ever, and nothing is a traceback."""

import json

import yaml

DAMAGE = {
    "error a number": ({"error": 5}, {}),
    "model a number": ({}, {"model": 5}),
    "name a list, tags a number": ({}, {"name": [1, 2], "tags": 7}),
    "escape sequences": ({"status": "failed", "error": "\x1b[2J\x1b]0;t\x07gone"}, {}),
}


def _job(folder, beta, status=None, config=None):
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"beta={beta}"]))
    settings = {"model": {"name": "vae", "beta": beta}, "dataset": {"name": "synthetic"}}
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump({**settings, **(config or {})}))
    record = {"status": "completed", "started": "2026-12-03T00:00:00", "ended": None}
    (folder / "status.json").write_text(json.dumps({**record, "error": None, **(status or {})}))
    (folder / "metrics.json").write_text(json.dumps({"test_recon_mse": 0.1 * beta}))


def _sweep(root):
    """A sweep folder as `aecli train -m beta=...` leaves it, one job per damage and a sound one."""
    sweep = root / "sweep"
    sweep.mkdir()
    betas = list(range(1, len(DAMAGE) + 2))
    hydra = {"overrides": {"task": [f"beta={','.join(map(str, betas))}"]}, "sweeper": {}}
    (sweep / "multirun.yaml").write_text(yaml.safe_dump({"hydra": hydra}))
    for index, (status, config) in enumerate(DAMAGE.values()):
        _job(sweep / str(index), betas[index], status, config)
    _job(sweep / str(len(DAMAGE)), betas[-1])
    return sweep


def test_runs_lists_damaged_records_as_rows_that_say_so(aecli, tmp_path):
    sweep = _sweep(tmp_path)
    result = aecli("runs", str(sweep), env={"COLUMNS": "300"})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and result.stderr == ""
    assert f"{len(DAMAGE) + 1} runs under" in result.stdout
    text = " ".join(result.stdout.split())
    for phrase in (
        "status.json's `error` is `5`, not text",
        "config.yaml's `model` is `5`, not a section",
        "config.yaml's `name` is `[1, 2]`, not text; config.yaml's `tags` is `7`, not a list",
        "failed: [2J]0;tgone",
    ):
        assert phrase in text
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout


def test_summarize_of_a_sweep_with_damaged_records_writes_its_summary(aecli, tmp_path):
    sweep = _sweep(tmp_path)
    result = aecli("summarize", str(sweep))
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 1  # the failed job
    records = json.loads((sweep / "summary.json").read_text())
    assert [record["status"] for record in records] == ["completed"] * 3 + ["failed", "completed"]
    assert records[1]["error"] == "damaged record: config.yaml's `model` is `5`, not a section"
    assert "\x1b" not in result.stdout
