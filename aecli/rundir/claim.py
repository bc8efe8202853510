"""A run's folder: claimed once, never reused, with the composed config written into it."""

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from aecli.errors import UserError

CONFIG_DIR = ".hydra"


def claim_run_dir(cfg: DictConfig, hydra_cfg: DictConfig) -> Path:
    """Refuse a folder that already holds a run, then save the composed config, Hydra's config and overrides."""
    run_dir = Path(hydra_cfg.runtime.output_dir)
    if (run_dir / CONFIG_DIR / "config.yaml").exists() or (run_dir / "metrics.json").exists():
        raise UserError(
            f"The run folder {run_dir} already holds a run, and aecli never overwrites one. "
            "Pick a new folder with `hydra.run.dir=...` (or drop that override to get a fresh one)."
        )
    record_overrides(hydra_cfg)
    OmegaConf.save(cfg, run_dir / CONFIG_DIR / "config.yaml", resolve=True)
    OmegaConf.save(hydra_cfg, run_dir / CONFIG_DIR / "hydra.yaml")
    return run_dir


def record_overrides(hydra_cfg: DictConfig) -> None:
    """The command-line overrides of a run, the one file even a run rejected before training keeps."""
    config_dir = Path(hydra_cfg.runtime.output_dir) / CONFIG_DIR
    config_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.create(list(hydra_cfg.overrides.task)), config_dir / "overrides.yaml")
