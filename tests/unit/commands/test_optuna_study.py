"""The OptunaStudy callback: a study kept in a database needs an SQLAlchemy that Optuna can use
and a database it can open."""

import importlib.metadata

import pytest
from omegaconf import OmegaConf

from aecli.commands.hydra_callbacks import OptunaStudy


def _config(storage):
    return OmegaConf.create(
        {
            "hydra": {
                "overrides": {"hydra": [], "task": []},
                "sweeper": {
                    "_target_": "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper",
                    "storage": storage,
                    "study_name": "train",
                    "sampler": {"seed": 1234},
                },
            }
        }
    )


def test_a_study_database_is_refused_with_the_reason_where_sqlalchemy_is_2(
    monkeypatch, tmp_path, capsys
):
    """Optuna 2.10 (the newest Hydra's sweeper allows) fails on SQLAlchemy 2 with an
    AssertionError; aecli's dependencies pin it below 2, so the newer one is only played here."""
    real = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata,
        "version",
        lambda name: "2.1.9" if name.lower() == "sqlalchemy" else real(name),
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        OptunaStudy().on_multirun_start(_config("sqlite:///study.db"))
    assert stop.value.code == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "hydra.sweeper.storage=sqlite:///study.db cannot be used" in message
    assert "SQLAlchemy 2.1.9" in message and "sqlalchemy>=1.4,<2" in message
    # a refusal writes nothing: no database was opened
    assert list(tmp_path.iterdir()) == []


def test_a_study_in_memory_needs_no_database(monkeypatch):
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "2.1.9")
    OptunaStudy().on_multirun_start(_config(None))


def test_a_study_database_that_cannot_be_opened_is_refused_before_any_trial(tmp_path, capsys):
    storage = f"sqlite:///{tmp_path}/no-such-folder/study.db"
    with pytest.raises(SystemExit) as stop:
        OptunaStudy().on_multirun_start(_config(storage))
    assert stop.value.code == 2
    message = " ".join(capsys.readouterr().err.split())
    assert f"hydra.sweeper.storage={storage} cannot be opened (" in message
    assert "unable to open database file" in message and "Traceback" not in message
    assert list(tmp_path.iterdir()) == []
