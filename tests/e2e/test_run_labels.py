"""Runs you can tell apart: a name and tags of your own; a refused run leaves nothing behind."""

import json


def test_name_and_tags_reach_metrics_and_the_run_listing(aecli, tmp_path):
    result = aecli("train", "debug=tiny", "name=baseline", "tags=[circle,smoke]")
    assert result.returncode == 0, result.stderr[-3000:]
    (metrics,) = [json.loads(p.read_text()) for p in tmp_path.glob("outputs/train/*/metrics.json")]
    assert metrics["name"] == "baseline" and metrics["tags"] == ["circle", "smoke"]
    listing = aecli("runs", str(tmp_path / "outputs"))
    assert listing.returncode == 0
    assert "name=baseline" in listing.stdout and "tags=[circle,smoke]" in listing.stdout


def test_a_run_refused_by_its_config_leaves_no_folder(aecli, tmp_path):
    result = aecli("train", "debug=tiny", "model=vanilla", "beta=4")
    assert result.returncode == 2 and "has no KL term" in result.stderr
    assert not list(tmp_path.glob("outputs/train/*"))
