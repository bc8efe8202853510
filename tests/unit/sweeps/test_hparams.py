"""HParams sessions as TensorBoard reads them (its own event reader and the hparams plugin's
metadata parser): every value a run used, not only its overrides, and its config as text."""

import json

import yaml
from tensorboard.plugins.hparams import metadata
from tensorboard_events import read_events

from aecli.rundir.listing import Run, read_run
from aecli.sweeps.hparams import (
    _hparam,
    final_metrics,
    used_values,
    write_hparams,
    write_run_hparams,
)


def _run(folder, beta, overrides, limit=None):
    """A run folder's records as `aecli train` leaves them (config, Hydra's record, metrics)."""
    config = {
        "seed": 0,
        "beta": beta,
        "model": {"name": "vae", "beta": beta, "hidden_units": [16]},
        "dataset": {"name": "synthetic", "limit": limit},
        "trainer": {"learning_rate": 0.001},
    }
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    choices = {"model": "vae", "dataset": "synthetic", "debug": None, "hydra/sweeper": "basic"}
    (folder / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"runtime": {"choices": choices}}))
    (folder / "metrics.json").write_text(json.dumps({"val_loss": 9.5, "test_kl": beta}))
    return folder


def _session(run):
    events = read_events(run / "tensorboard" / "hparams")
    start = metadata.parse_session_start_info_plugin_data(
        events.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
    )
    return events, start, dict(start.hparams)


def test_a_sweeps_sessions_hold_the_values_set_once_for_the_whole_sweep(tmp_path):
    sweep = tmp_path / "2026-05-01_12-00-00_ab12cd"
    # `aecli train -m dataset.limit=1000 beta=1,4`: only beta varies, the limit is set once
    runs = [
        _run(sweep / f"{job}_beta={beta}", beta, ["dataset.limit=1000", f"beta={beta}"], 1000)
        for job, beta in enumerate([1.0, 4.0])
    ]
    write_hparams(sweep, [read_run(run) for run in runs], {"beta": [1.0, 4.0]})
    _, start, hparams = _session(runs[1])
    assert hparams["beta"].number_value == 4.0 and hparams["model.beta"].number_value == 4.0
    # not overridden on any command line: the config's own values
    assert hparams["seed"].number_value == 0
    assert hparams["trainer.learning_rate"].number_value == 0.001
    assert hparams["dataset.limit"].number_value == 1000
    assert hparams["model"].string_value == "vae"  # the group's option, overridden or not
    assert hparams["model.hidden_units"].string_value == "[16]"
    assert "debug" not in hparams and "hydra/sweeper" not in hparams
    assert start.group_name == "2026-05-01_12-00-00_ab12cd/1_beta=4.0"


def test_a_single_run_writes_its_values_objective_test_metrics_and_config_text(tmp_path):
    run = _run(tmp_path / "train" / "2026-05-01_12-00-00_ab12cd", 4.0, ["beta=4"])
    write_run_hparams(run, json.loads((run / "metrics.json").read_text()), "completed")
    events, start, hparams = _session(run)
    assert hparams["seed"].number_value == 0 and "dataset.limit" not in hparams  # null: unset
    assert start.group_name == "train/2026-05-01_12-00-00_ab12cd"
    tags = set(events.Tags()["tensors"])
    assert {"val/loss", "test/kl", "config"} <= tags
    (text,) = events.Tensors("config")
    markdown = text.tensor_proto.string_val[0].decode()
    assert markdown.startswith("```\n") and markdown.endswith("\n```")
    assert yaml.safe_load(markdown.strip("`\n"))["model"]["beta"] == 4.0


def test_final_metrics_are_the_validation_and_test_numbers():
    metrics = {"val_loss": 1.0, "test_kl": 2.0, "active_units": 3, "seed": 0, "model": "vae"}
    assert final_metrics(metrics) == {"val_loss": 1.0, "test_kl": 2.0, "active_units": 3}


def test_a_hand_edited_config_of_shared_yaml_aliases_flattens_into_a_bounded_record(tmp_path):
    nested = {"k": [list(range(100))] * 100}
    for _ in range(40):  # 2**40 paths through sections the aliases share
        nested = {"a": nested, "b": nested}
    config = {"seed": 0, "deep": nested}
    config["itself"] = config
    values = used_values(
        Run(path=tmp_path, overrides=[], status="completed", error=None, config=config)
    )
    assert values["seed"] == 0 and len(values) == 1000 and "itself.seed" not in values
    assert len(_hparam(values["deep." + "a." * 40 + "k"])) < 10_000
