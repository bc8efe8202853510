"""The config of one run: hardware, trainer, paths, and the top-level keys that tie them together."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Optional

from omegaconf import MISSING

from aecli.config.checks import finite, require
from aecli.config.dataset import BaseDatasetConfig
from aecli.config.model import BaseModelConfig
from aecli.errors import ConfigError


class Precision(str, Enum):
    float32 = "float32"
    mixed_float16 = "mixed_float16"
    mixed_bfloat16 = "mixed_bfloat16"
    # the device decides: see aecli.training.hardware.resolve_precision
    mixed_auto = "mixed_auto"


class Strategy(str, Enum):
    """How training is spread over devices: one device, all local GPUs, or several machines
    (TF_CONFIG)."""

    none = "none"
    mirrored = "mirrored"
    multi_worker = "multi_worker"


class JitCompile(str, Enum):
    """XLA on, off, or `auto`: on only where it was measured faster (aecli/training/hardware.py)."""

    auto = "auto"
    on = "on"
    off = "off"


@dataclass
class HardwareConfig:
    """Device, numeric precision and compilation.

    name: cpu | gpu | mixed (informational; the keys below decide).
    device: `cpu` hides every GPU; `gpu` requires one; `auto` uses one when visible.
    precision: float32; mixed_float16 (float16 compute, float32 variables, loss scaling);
               mixed_bfloat16 (bfloat16 compute, float32 variables, no loss scaling); or
               mixed_auto (hardware=mixed): bfloat16 on CPUs with AMX or AVX512_BF16 and on GPUs
               of compute capability >= 8.0, float16 on older GPUs, float32 on other CPUs.
    jit_compile: XLA on | off | auto.
    strategy: none | mirrored (tf.distribute.MirroredStrategy over the local devices) | multi_worker
              (MultiWorkerMirroredStrategy, cluster from the TF_CONFIG environment variable).
    cpu_devices: split the CPU into this many logical devices (device=cpu), so the mirrored
                 strategy can be run, and tested, without GPUs.
    intra_op_threads, inter_op_threads: TensorFlow thread pools (0 = TensorFlow's choice).
    """

    name: str = MISSING
    device: str = "auto"
    precision: Precision = Precision.float32
    jit_compile: JitCompile = JitCompile.auto
    strategy: Strategy = Strategy.none
    cpu_devices: int = 1
    intra_op_threads: int = 0
    inter_op_threads: int = 0

    def __post_init__(self) -> None:
        require(self.device in ("cpu", "gpu", "auto"), "hardware.device", self.device,
                "one of cpu, gpu, auto")
        require(self.cpu_devices >= 1, "hardware.cpu_devices", self.cpu_devices, "an integer >= 1")
        require(self.intra_op_threads >= 0, "hardware.intra_op_threads", self.intra_op_threads,
                ">= 0")
        require(self.inter_op_threads >= 0, "hardware.inter_op_threads", self.inter_op_threads,
                ">= 0")


@dataclass
class TrainerConfig:
    """Optimisation loop: Adam on mini-batches.

    steps_per_execution: train steps fused into one compiled call (fewer Python round trips).
    checkpoint_every: save the `last` checkpoint every N epochs (the `best` one whenever
                      validation loss improves).
    image_every: write image grids every N epochs (0 = never).
    """

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    steps_per_execution: int = 8
    checkpoint_every: int = 1
    image_every: int = 1

    def __post_init__(self) -> None:
        require(self.epochs >= 1, "trainer.epochs", self.epochs, "an integer >= 1")
        require(self.batch_size >= 1, "trainer.batch_size", self.batch_size, "an integer >= 1")
        require(finite(self.learning_rate) and self.learning_rate > 0, "trainer.learning_rate",
                self.learning_rate, "finite and > 0")
        require(self.steps_per_execution >= 1, "trainer.steps_per_execution",
                self.steps_per_execution, "an integer >= 1")
        require(self.checkpoint_every >= 1, "trainer.checkpoint_every", self.checkpoint_every,
                "an integer >= 1")
        require(self.image_every >= 0, "trainer.image_every", self.image_every, "an integer >= 0")


@dataclass
class PathsConfig:
    """Every filesystem location outside a run folder, in one place (a run folder's own layout is
    aecli/rundir/layout.py)."""

    root_dir: str = MISSING
    log_dir: str = MISSING


@dataclass
class TrainConfig:
    """One run.

    beta: shortcut for `model.beta`, the KL weight of the variational families; null keeps the
          model's own default. A model without a KL term refuses it rather than ignore it.
    """

    model: BaseModelConfig = MISSING
    dataset: BaseDatasetConfig = MISSING
    hardware: HardwareConfig = MISSING
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    task_name: str = "train"
    seed: int = 0
    beta: Optional[float] = None

    def __post_init__(self) -> None:
        if self.beta is None:
            return
        if not self.model.variational:
            raise ConfigError(
                f"`beta={self.beta:g}` has nothing to weight: model={self.model.name} has no KL term, "
                "so it would be ignored (and a sweep over it would repeat one run). Drop `beta=`, or "
                "choose a VAE: `model=vae`, `model=beta_vae` or `model=beta_tcvae`.")
        self.model.beta = self.beta
        self.model.__post_init__()


class AnomalyScore(str, Enum):
    """Reconstruction error (mean squared, per example), or the negative ELBO (VAEs)."""

    recon = "recon"
    neg_elbo = "neg_elbo"


@dataclass
class AnomalySettings:
    """How `aecli anomaly` flags examples.

    score: recon | neg_elbo (VAEs only) decides the flag; both are reported for VAEs.
    percentile: the threshold is this percentile of the scores of normal validation examples.
    elbo_samples: posterior samples averaged in the negative-ELBO score.
    """

    score: AnomalyScore = AnomalyScore.recon
    percentile: float = 95.0
    elbo_samples: int = 10

    def __post_init__(self) -> None:
        require(0 < self.percentile < 100, "anomaly.percentile", self.percentile, "in (0, 100)")
        require(self.elbo_samples >= 1, "anomaly.elbo_samples", self.elbo_samples,
                "an integer >= 1")


@dataclass
class AnomalyConfig(TrainConfig):
    """A run of `aecli anomaly`: train on normal data only, then score and threshold the test
    split."""

    task_name: str = "anomaly"
    anomaly: AnomalySettings = field(default_factory=AnomalySettings)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.anomaly.score == AnomalyScore.neg_elbo and not self.model.variational:
            raise ConfigError(
                f"anomaly.score=neg_elbo needs a VAE (model=vae); use anomaly.score=recon for "
                f"model={self.model.name}.")
