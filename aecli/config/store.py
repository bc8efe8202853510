"""Registers the typed schema and aecli's resolvers with Hydra, and says where the YAML lives."""

import secrets
from pathlib import Path

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from aecli.config import schema

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"

# Stored outside any group, so `--help` lists only the real choices; YAML files in conf/ pull
# theirs in with `defaults: [/<name>@_here_]`.
_SCHEMAS = {
    "train_schema": schema.TrainConfig,
    "autoencoder_schema": schema.ModelConfig,
    "vae_schema": schema.VAEConfig,
    "sparse_schema": schema.SparseConfig,
    "dataset_schema": schema.DatasetConfig,
    "hardware_schema": schema.HardwareConfig,
    "trainer_schema": schema.TrainerConfig,
    "paths_schema": schema.PathsConfig,
}


def register() -> None:
    """Store each schema dataclass, and the `aecli_uid` resolver used in run folder names."""
    store = ConfigStore.instance()
    for name, node in _SCHEMAS.items():
        store.store(name=name, node=node)
    # a short random tag, cached per config, so two runs started in the same second get different folders
    if not OmegaConf.has_resolver("aecli_uid"):
        OmegaConf.register_new_resolver("aecli_uid", lambda: secrets.token_hex(3), use_cache=True)
