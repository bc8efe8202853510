"""Turns a composed config into typed objects, running every range check, before TensorFlow
loads."""

from dataclasses import fields, is_dataclass
from pathlib import Path

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from aecli.config import dataset, model
from aecli.config.run import AnomalyConfig, TrainConfig
from aecli.config.yaml_guard import check_yaml_file
from aecli.errors import ConfigError


def _unknown_keys(node: DictConfig, prefix: str = "") -> list[str]:
    """Keys of `node` and its sections that their schema dataclass does not declare. Hydra adds
    `+key=value` with the struct flag lifted, and OmegaConf.to_object then drops such a key
    silently, so `+trainer.epochz=1` would train the default 10 epochs without a word."""
    kind = OmegaConf.get_type(node)
    declared = {f.name for f in fields(kind)} if is_dataclass(kind) else None
    unknown = []
    for key, child in node.items_ex(resolve=False):
        if declared is not None and key not in declared:
            unknown.append(f"{prefix}{key}")
        elif isinstance(child, DictConfig) and not child._is_none():  # e.g. a logger not chosen
            unknown += _unknown_keys(child, f"{prefix}{key}.")
    return unknown


def omegaconf_reason(error: Exception) -> str:
    """OmegaConf's error on one line: its message and the key it concerns (its own text adds lines
    of object and reference types that mean nothing to a user)."""
    lines = str(error).strip().splitlines()
    message = (lines[0] if lines else type(error).__name__).rstrip(".")
    key = getattr(error, "full_key", None)
    return f"{message} (at `{key}`)" if key else message


def validate(cfg: DictConfig) -> TrainConfig:
    """Resolve interpolations and build the dataclasses; their `__post_init__` checks raise
    ConfigError."""
    unknown = _unknown_keys(cfg)
    if unknown:
        raise ConfigError(
            f"Unknown config key{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(f'`{key}`' for key in unknown)}: the schema has no such key (an override "
            "with `+` adds a key but cannot make aecli use it). Check the spelling; `aecli train "
            "--cfg job` prints every key."
        )
    try:
        return OmegaConf.to_object(cfg)
    except OmegaConfBaseException as error:
        raise ConfigError(
            f"The config does not fit the schema: {omegaconf_reason(error)}."
        ) from None


def _subclasses(base: type) -> list[type]:
    found = []
    for child in base.__subclasses__():
        found += [child, *_subclasses(child)]
    return found


def _recorded(base: type, key: str, section: DictConfig, what: str) -> type:
    """The config class under `base` that `section` names in `key` (`model.family`,
    `dataset.source`), as every run saves it."""
    value = section[key]
    for kind in _subclasses(base):
        if kind.__dataclass_fields__[key].default == value:
            return kind
    raise ConfigError(
        f"The saved {what} config has {what}.{key}={value!r}, which this version of aecli does "
        "not know (was the run made by a newer aecli?)."
    )


def _fitting_schema(base: type, keys: set, what: str) -> type:
    """For a run saved before configs recorded their family: the model config class with the
    fewest fields that holds all of `keys` (each family adds its own fields; a run saved before a
    field existed gets its default)."""
    fitting = [kind for kind in _subclasses(base) if keys <= {f.name for f in fields(kind)}]
    if fitting:
        return min(fitting, key=lambda kind: len(fields(kind)))
    raise ConfigError(
        f"The saved {what} config has keys {sorted(keys)}, which match no {what} "
        "kind of this version of aecli."
    )


# the source of each dataset a run saved before configs recorded theirs (every name then
# had exactly one)
_SOURCE_OF_NAME = {
    "mnist": "published_files",
    "fashion_mnist": "published_files",
    "cifar10": "published_files",
    "transactions": "tabular",
    "network_traffic": "tabular",
}


def _upgrade(saved: DictConfig) -> None:
    """Runs saved by aecli 0.1 kept the VAE's default beta as `model.default_beta` and the tabular
    sets under `dataset.name=synthetic`: read them as today's keys. Runs saved before configs
    recorded their model family and data source get them: the source from the dataset's name,
    the family from the keys the model section holds. Runs saved before the `logger` group
    logged to TensorBoard."""
    if "logger" not in saved:
        saved.logger = {"tensorboard": {}}
    if "default_beta" in saved.model:
        saved.model.beta = saved.get("beta", saved.model.default_beta)
        del saved.model["default_beta"]
    if "run_dir" in saved.get("paths", {}):
        del saved.paths["run_dir"]
    if "verbose" in saved.get("trainer", {}):
        del saved.trainer["verbose"]
    data = saved.dataset
    if data.get("name") == "synthetic" and data.get("kind") in ("transactions", "network_traffic"):
        data.name = data.kind
        del data["kind"]
    if data.get("name") != "synthetic" and "kind" in data:
        del data["kind"]
    if data.get("name") in ("mnist", "fashion_mnist", "cifar10") and "size" in data:
        del data["size"]
    if "source" not in data:
        data.source = _SOURCE_OF_NAME.get(data.get("name"), data.get("name"))
    if "family" not in saved.model:
        family = _fitting_schema(model.BaseModelConfig, set(saved.model.keys()), "model")
        saved.model.family = family.__dataclass_fields__["family"].default


def load_run_config(run_dir: Path) -> TrainConfig:
    """The config a run saved in .hydra/config.yaml, typed and validated again."""
    from aecli.rundir.layout import RunFolder

    path = RunFolder(Path(run_dir)).config
    if not path.exists():
        raise ConfigError(
            f"{run_dir} is not an aecli run: it has no .hydra/config.yaml. "
            "Pass a folder made by `aecli train`, e.g. one listed under outputs/train/."
        )
    check_yaml_file(path)  # a hand-edited run folder: no alias bomb is expanded
    try:
        saved = OmegaConf.load(path)
        if not isinstance(saved, DictConfig) or not {"model", "dataset"} <= set(saved.keys()):
            raise ConfigError(
                f"{path} is not the config of an aecli run (it has no model and "
                "dataset sections). Restore the file, or start the run anew."
            )
        _upgrade(saved)
        typed = OmegaConf.structured(AnomalyConfig if "anomaly" in saved else TrainConfig)
        typed.model = OmegaConf.structured(
            _recorded(model.BaseModelConfig, "family", saved.model, "model")
        )
        typed.dataset = OmegaConf.structured(
            _recorded(dataset.BaseDatasetConfig, "source", saved.dataset, "dataset")
        )
        return validate(OmegaConf.merge(typed, saved))
    except (OmegaConfBaseException, yaml.YAMLError, ValueError, TypeError, AttributeError) as error:
        raise ConfigError(
            f"{path} cannot be read as an aecli run config ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}). Restore the file, "
            "or start the run anew."
        ) from None
