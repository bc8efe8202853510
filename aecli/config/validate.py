"""Turns a composed config into typed objects, running every range check, before TensorFlow loads."""

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from aecli.config.schema import TrainConfig
from aecli.errors import ConfigError


def validate(cfg: DictConfig) -> TrainConfig:
    """Resolve interpolations and build the dataclasses; their `__post_init__` checks raise ConfigError."""
    try:
        return OmegaConf.to_object(cfg)
    except OmegaConfBaseException as error:
        raise ConfigError(f"The config does not fit the schema: {error}") from None
