"""Registers the typed schema and aecli's resolvers with Hydra, and says where the YAML lives."""

import os
import secrets
from pathlib import Path

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from aecli.config import dataset, model, run

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"

# Stored outside any group, so `--help` lists only the real choices; YAML files in conf/ pull
# theirs in with `defaults: [/<name>@_here_]`.
_SCHEMAS = {
    "train_schema": run.TrainConfig,
    "anomaly_schema": run.AnomalyConfig,
    "autoencoder_schema": model.AutoencoderConfig,
    "vae_schema": model.VAEConfig,
    "beta_tcvae_schema": model.BetaTCVAEConfig,
    "factor_vae_schema": model.FactorVAEConfig,
    "dip_vae_schema": model.DIPVAEConfig,
    "sparse_schema": model.SparseConfig,
    "contractive_schema": model.ContractiveConfig,
    "file_dataset_schema": dataset.FileDatasetConfig,
    "tabular_dataset_schema": dataset.TabularConfig,
    "synthetic_dataset_schema": dataset.SyntheticConfig,
    "dsprites_dataset_schema": dataset.DSpritesConfig,
    "npz_dataset_schema": dataset.NpzConfig,
    "image_folder_dataset_schema": dataset.ImageFolderConfig,
    "csv_dataset_schema": dataset.CsvConfig,
    "hardware_schema": run.HardwareConfig,
    "trainer_schema": run.TrainerConfig,
    "paths_schema": run.PathsConfig,
}


def register() -> None:
    """Store each schema dataclass, and the resolvers of the run folder's name (`aecli_uid`) and of
    a job's threads (`aecli_threads_per_job`); the Hydra app (aecli/commands/hydra_app.py) adds
    the one that names a sweep's job folders."""
    store = ConfigStore.instance()
    for name, node in _SCHEMAS.items():
        store.store(name=name, node=node)
    # a short random tag, cached per config, so two runs started in the same second get different
    # folders
    if not OmegaConf.has_resolver("aecli_uid"):
        OmegaConf.register_new_resolver("aecli_uid", lambda: secrets.token_hex(3), use_cache=True)
    if not OmegaConf.has_resolver("aecli_threads_per_job"):
        OmegaConf.register_new_resolver("aecli_threads_per_job", threads_per_job)


def threads_per_job() -> int:
    """TensorFlow threads for one job: the CPUs a submitit launcher gives each task
    (`cpus_per_task`), the cores divided among joblib's `n_jobs` parallel jobs (-1 meaning one job
    per core) or among the jobs submitit_local runs together, or 0 (TensorFlow's choice) when jobs
    run one at a time."""
    launcher = HydraConfig.get().launcher if HydraConfig.initialized() else {}
    if "cpus_per_task" in launcher and launcher.cpus_per_task:
        return int(launcher.cpus_per_task)
    jobs = launcher.get("n_jobs") if "n_jobs" in launcher else None
    if str(launcher.get("_target_", "")).endswith(".LocalLauncher"):
        # submitit_local starts every job of a batch at once; the submitting process counted them
        jobs = int(os.environ.get("AECLI_PARALLEL_JOBS", 0)) or None
    cores = os.cpu_count() or 1
    if jobs is None:
        return 0
    return max(1, cores // (cores if jobs < 0 else jobs))
