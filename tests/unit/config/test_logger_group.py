"""The `logger` group: one tracker, several, or none, chosen from the command line; a run saved
before the group existed keeps logging to TensorBoard; logger=mlflow without MLflow installed is
refused before anything runs."""

import sys

import pytest
import yaml
from omegaconf import OmegaConf

from aecli.config.validate import load_run_config, validate
from aecli.errors import ConfigError


def _chosen(settings) -> set[str]:
    return {name for name, value in vars(settings.logger).items() if value is not None}


@pytest.mark.parametrize(
    ("overrides", "chosen"),
    [
        ([], {"tensorboard"}),
        (["logger=csv"], {"csv"}),
        (["logger=[tensorboard,mlflow]"], {"tensorboard", "mlflow"}),
        (["logger=[tensorboard,csv,mlflow]"], {"tensorboard", "csv", "mlflow"}),
        (["logger=[]"], set()),
    ],
)
def test_the_logger_override_chooses_each_tracker_named(compose_train, overrides, chosen):
    assert _chosen(validate(compose_train(*overrides))) == chosen


def test_anomaly_runs_log_to_tensorboard_by_default_and_take_the_same_override(compose_train):
    assert _chosen(validate(compose_train(config_name="anomaly"))) == {"tensorboard"}
    assert _chosen(validate(compose_train("logger=csv", config_name="anomaly"))) == {"csv"}


def test_mlflow_records_under_the_outputs_folder_unless_given_a_server(compose_train, tmp_path):
    settings = validate(compose_train("logger=mlflow", run_dir=str(tmp_path)))
    assert settings.logger.mlflow.tracking_uri == f"sqlite:///{tmp_path}/outputs/mlflow.db"
    assert settings.logger.mlflow.artifact_location == f"{tmp_path}/outputs/mlartifacts"
    served = validate(
        compose_train("logger=mlflow", "logger.mlflow.tracking_uri=http://127.0.0.1:5000")
    )
    assert served.logger.mlflow.tracking_uri == "http://127.0.0.1:5000"


def test_a_misspelt_tracker_is_refused_with_the_choices(compose_train):
    from hydra.errors import MissingConfigException

    with pytest.raises(MissingConfigException, match="mlflow"):
        compose_train("logger=mlfow")


def test_mlflow_missing_is_refused_with_the_pip_command(compose_train, monkeypatch):
    # how Python marks a package as not importable (importlib.util.find_spec then finds none)
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(ConfigError, match=r"pip install 'aecli\[mlflow\]'"):
        validate(compose_train("logger=mlflow"))


def test_a_run_saved_before_the_logger_group_resumes_with_tensorboard(compose_train, tmp_path):
    saved = OmegaConf.to_container(
        OmegaConf.structured(validate(compose_train("logger=csv"))), enum_to_str=True
    )
    del saved["logger"]
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text(yaml.safe_dump(saved))
    assert _chosen(load_run_config(tmp_path)) == {"tensorboard"}
