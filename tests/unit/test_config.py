"""Composition of every config option, and the schema's answer to each bad value."""

import pytest
from omegaconf import OmegaConf

from aecli.config import schema
from aecli.config.validate import validate
from aecli.errors import ConfigError

MODELS = ["vanilla", "conv_denoising", "sparse", "vae", "beta_vae"]
DATASETS = ["mnist", "fashion_mnist", "cifar10", "synthetic"]
HARDWARE = ["cpu", "gpu", "mixed"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("dataset", DATASETS)
def test_every_model_and_dataset_compose_into_typed_config(compose_train, model, dataset):
    settings = validate(compose_train(f"model={model}", f"dataset={dataset}"))
    assert isinstance(settings, schema.TrainConfig)
    assert settings.model.name == model
    assert settings.dataset.name.value == dataset


@pytest.mark.parametrize("option", HARDWARE)
def test_every_hardware_option_composes(compose_train, option):
    assert validate(compose_train(f"hardware={option}")).hardware.name == option


def test_model_options_map_to_their_config_classes(compose_train):
    assert type(validate(compose_train("model=vae")).model) is schema.VAEConfig
    assert type(validate(compose_train("model=beta_vae")).model) is schema.VAEConfig
    assert type(validate(compose_train("model=sparse")).model) is schema.SparseConfig
    assert type(validate(compose_train("model=vanilla")).model) is schema.ModelConfig


def test_beta_follows_the_model_default_unless_given(compose_train):
    assert validate(compose_train("model=vae")).beta == 1.0
    assert validate(compose_train("model=beta_vae")).beta == 4.0
    assert validate(compose_train("model=beta_vae", "beta=10")).beta == 10.0
    assert validate(compose_train("model=vae", "beta=4")).beta == 4.0


def test_conv_denoising_defaults_to_the_chapters_gaussian_noise(compose_train):
    noise = validate(compose_train("model=conv_denoising")).model.noise
    assert (noise.type, noise.level) == (schema.NoiseType.gaussian, 0.4)


def test_required_keys_exist(compose_train):
    cfg = compose_train()
    for key in ["beta", "seed", "trainer.epochs", "trainer.batch_size", "trainer.learning_rate",
                "dataset.limit", "model.latent_dim"]:
        assert OmegaConf.select(cfg, key, default="missing") != "missing", key


@pytest.mark.parametrize("override, key", [
    ("beta=-1", "beta"),
    ("model.latent_dim=0", "model.latent_dim"),
    ("trainer.learning_rate=0", "trainer.learning_rate"),
    ("trainer.batch_size=0", "trainer.batch_size"),
    ("trainer.epochs=0", "trainer.epochs"),
    ("dataset.limit=0", "dataset.limit"),
    ("model.noise.level=-0.1", "model.noise.level"),
    ("model.noise.type=masking model.noise.level=1.5", "model.noise.level"),
])
def test_out_of_range_values_name_their_key(compose_train, override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(compose_train(*override.split()))
