"""A run's saved config names its model family and data source, so it reloads as what it was,
whatever keys it holds; runs saved before those keys existed still reload."""

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from aecli.config import dataset, model
from aecli.config.store import CONF_DIR
from aecli.config.validate import load_run_config, validate
from aecli.errors import ConfigError

MODELS = sorted(path.stem for path in (Path(CONF_DIR) / "model").glob("*.yaml"))
DATASETS = sorted(path.stem for path in (Path(CONF_DIR) / "dataset").glob("*.yaml"))


def _save(run: Path, settings) -> Path:
    """The config as `aecli train` saves it in the run folder."""
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.structured(settings)))
    return run


def _settings(compose_train, option: str, data: str, *overrides):
    path = ["dataset.path=/data/x"] if data in ("csv", "npz", "image_folder") else []
    return validate(compose_train(f"model={option}", f"dataset={data}", *path, *overrides))


@pytest.mark.parametrize("option", MODELS)
def test_every_family_is_recorded_and_reloads_as_itself(compose_train, tmp_path, option):
    settings = _settings(compose_train, option, "synthetic")
    saved = yaml.safe_load((_save(tmp_path, settings) / ".hydra" / "config.yaml").read_text())
    assert saved["model"]["family"] == settings.model.family != ""
    assert type(load_run_config(tmp_path).model) is type(settings.model)


@pytest.mark.parametrize("data", DATASETS)
def test_every_source_is_recorded_and_reloads_as_itself(compose_train, tmp_path, data):
    settings = _settings(compose_train, "vae", data)
    saved = yaml.safe_load((_save(tmp_path, settings) / ".hydra" / "config.yaml").read_text())
    assert saved["dataset"]["source"] == settings.dataset.source != ""
    assert type(load_run_config(tmp_path).dataset) is type(settings.dataset)


def test_a_family_with_no_keys_of_its_own_reloads_as_itself_not_as_its_parent(
    compose_train, tmp_path
):
    @dataclass
    class KeylessConfig(model.VAEConfig):
        family: str = "keyless_vae"

    settings = _settings(compose_train, "vae", "synthetic")
    settings.model = KeylessConfig(name="keyless", latent_dim=3)
    assert type(load_run_config(_save(tmp_path, settings)).model) is KeylessConfig


@pytest.mark.parametrize(
    "option, data, family, source",
    [
        ("vae", "transactions", model.VAEConfig, dataset.TabularConfig),
        ("beta_tcvae", "npz", model.BetaTCVAEConfig, dataset.NpzConfig),
        ("sparse", "mnist", model.SparseConfig, dataset.FileDatasetConfig),
        ("vanilla", "csv", model.AutoencoderConfig, dataset.CsvConfig),
    ],
)
def test_a_config_saved_before_family_and_source_were_recorded_still_reloads(
    compose_train, tmp_path, option, data, family, source
):
    settings = _settings(compose_train, option, data, "trainer.epochs=3")
    old = OmegaConf.to_container(OmegaConf.structured(settings), enum_to_str=True)
    del old["model"]["family"], old["dataset"]["source"]
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text(yaml.safe_dump(old))
    reloaded = load_run_config(tmp_path)
    assert (type(reloaded.model), type(reloaded.dataset)) == (family, source)
    assert reloaded.trainer.epochs == 3 and reloaded.dataset.name.value == data


def test_a_config_of_aecli_0_1_with_the_tabular_set_under_synthetic_still_reloads(
    compose_train, tmp_path
):
    settings = _settings(compose_train, "vae", "transactions")
    old = OmegaConf.to_container(OmegaConf.structured(settings), enum_to_str=True)
    del old["model"]["family"], old["dataset"]["source"]
    old["model"]["default_beta"] = old["model"].pop("beta")
    del old["beta"]  # 0.1 had no top-level shortcut
    old["dataset"] |= {"name": "synthetic", "kind": "transactions"}
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text(yaml.safe_dump(old))
    reloaded = load_run_config(tmp_path)
    assert type(reloaded.dataset) is dataset.TabularConfig
    assert reloaded.dataset.name == dataset.DatasetName.transactions


def test_an_unknown_recorded_family_is_refused_naming_it(compose_train, tmp_path):
    settings = _settings(compose_train, "vae", "synthetic")
    saved = OmegaConf.to_container(OmegaConf.structured(settings), enum_to_str=True)
    saved["model"]["family"] = "from_the_future"
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text(yaml.safe_dump(saved))
    with pytest.raises(ConfigError, match="model.family='from_the_future'"):
        load_run_config(tmp_path)


@pytest.mark.parametrize("key", ["model.family=sparse", "dataset.source=csv"])
def test_family_and_source_are_records_not_settings(compose_train, key):
    with pytest.raises(ConfigError, match=key.split("=")[0].replace(".", r"\.")):
        _settings(compose_train, "vae", "synthetic", key)
