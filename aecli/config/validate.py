"""Turns a composed config into typed objects, running every range check, before TensorFlow loads."""

from dataclasses import fields
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from aecli.config import schema
from aecli.config.schema import TrainConfig
from aecli.errors import ConfigError


def validate(cfg: DictConfig) -> TrainConfig:
    """Resolve interpolations and build the dataclasses; their `__post_init__` checks raise ConfigError."""
    try:
        return OmegaConf.to_object(cfg)
    except OmegaConfBaseException as error:
        raise ConfigError(f"The config does not fit the schema: {error}") from None


def _model_schema(keys: set) -> type:
    """The model config class with the fewest fields that holds all of `keys` (each family adds its own
    fields; a run saved before a field existed gets its default)."""
    families = [schema.ModelConfig, *schema.ModelConfig.__subclasses__()]
    families += [grandchild for family in families[1:] for grandchild in family.__subclasses__()]
    fitting = [family for family in families if keys <= {f.name for f in fields(family)}]
    if fitting:
        return min(fitting, key=lambda family: len(fields(family)))
    raise ConfigError(f"The saved model config has keys {sorted(keys)}, which match no model family of this "
                      "version of aecli.")


def load_run_config(run_dir: Path) -> TrainConfig:
    """The resolved config a run saved in .hydra/config.yaml, typed and validated again."""
    path = Path(run_dir) / ".hydra" / "config.yaml"
    if not path.exists():
        raise ConfigError(f"{run_dir} is not an aecli run: it has no .hydra/config.yaml. "
                          "Pass a folder made by `aecli train`, e.g. one listed under outputs/train/.")
    saved = OmegaConf.load(path)
    typed = OmegaConf.structured(schema.AnomalyConfig if "anomaly" in saved else TrainConfig)
    typed.model = OmegaConf.structured(_model_schema(set(saved.model.keys())))
    try:
        return validate(OmegaConf.merge(typed, saved))
    except OmegaConfBaseException as error:
        raise ConfigError(f"{path} does not fit the schema: {error}") from None
