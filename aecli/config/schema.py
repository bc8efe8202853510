"""Typed schema of a run: Hydra merges the YAML in conf/ onto these dataclasses.

OmegaConf rejects a wrong type, an unknown key or an enum value outside its
choices while composing; `__post_init__` range checks run when `validate`
turns the composed config into these objects. Both happen before TensorFlow
is imported, so a typo costs a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, List, Optional

from omegaconf import MISSING

from aecli.errors import ConfigError


class Architecture(str, Enum):
    """MLP for flat inputs; conv (strided convs, dense code) or fully_conv (the code is a feature map
    with latent_dim channels, for denoisers that must keep spatial detail) for images."""

    mlp = "mlp"
    conv = "conv"
    fully_conv = "fully_conv"


class KLSchedule(str, Enum):
    """Weight on the KL term over epochs: constant, linear warm-up, or cyclical (Fu et al. 2019)."""

    none = "none"
    linear = "linear"
    cyclical = "cyclical"


class Likelihood(str, Enum):
    """Decoder likelihood: Bernoulli (BCE from logits) for [0,1] data, Gaussian (MSE) otherwise."""

    bernoulli = "bernoulli"
    gaussian = "gaussian"


class DatasetName(str, Enum):
    mnist = "mnist"
    fashion_mnist = "fashion_mnist"
    cifar10 = "cifar10"
    synthetic = "synthetic"


class SyntheticKind(str, Enum):
    """The chapter's toy data: 4-D noisy circle, 20-D binary vectors, 28x28 shapes for conv models, and its
    tabular anomaly sets (transactions with frauds, network traffic with DDoS and scans)."""

    circle = "circle"
    binary = "binary"
    shapes = "shapes"
    transactions = "transactions"
    network_traffic = "network_traffic"


class SparsityPenalty(str, Enum):
    l1 = "l1"
    kl = "kl"


class NoiseType(str, Enum):
    none = "none"
    gaussian = "gaussian"
    salt_and_pepper = "salt_and_pepper"
    speckle = "speckle"
    masking = "masking"


class Precision(str, Enum):
    float32 = "float32"
    mixed_float16 = "mixed_float16"


class Strategy(str, Enum):
    """How training is spread over devices: one device, all local GPUs, or several machines (TF_CONFIG)."""

    none = "none"
    mirrored = "mirrored"
    multi_worker = "multi_worker"


class JitCompile(str, Enum):
    """XLA on, off, or `auto`: on only where it was measured faster (see aecli/hardware.py)."""

    auto = "auto"
    on = "on"
    off = "off"


def _require(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(
            f"`{key}={value}` is out of range: {key} must be {allowed}. "
            f"Fix it on the command line (e.g. `{key}=<value>`) or in your config file."
        )


@dataclass
class NoiseConfig:
    """Corruption applied to the encoder's input in the tf.data pipeline, drawn fresh every epoch.

    type: none | gaussian (additive sigma, clipped to [0,1]) | salt_and_pepper (fraction of pixels)
          | speckle (multiplicative sigma) | masking (fraction of pixels zeroed).
    level: sigma for gaussian and speckle, the fraction for salt_and_pepper and masking.
    """

    type: NoiseType = NoiseType.none
    level: float = 0.4

    def __post_init__(self) -> None:
        if self.type in (NoiseType.salt_and_pepper, NoiseType.masking):
            _require(0 <= self.level <= 1, "model.noise.level", self.level, f"a fraction in [0, 1] for {self.type.value}")
        else:
            _require(self.level >= 0, "model.noise.level", self.level, ">= 0")


@dataclass
class ModelConfig:
    """Deterministic autoencoder: x -> z = f(x) -> x_hat = g(z), trained on reconstruction alone.

    architecture: `mlp` (Dense stack over the flattened input) or `conv` (strided Conv2D, images only).
    latent_dim: size of the code z.
    hidden_units: Dense widths of the MLP encoder; the decoder mirrors them.
    conv_filters: Conv2D filters of the conv encoder, each halving height and width; the decoder mirrors them.
    likelihood: `bernoulli` (BCE from logits, data in [0,1]) or `gaussian` (fixed std `decoder_std`).
    decoder_std: std of the Gaussian decoder, so its reconstruction term is a true NLL in nats.
    noise: corruption of the encoder's input; the loss always compares with the clean input.
    """

    name: str = MISSING
    architecture: Architecture = Architecture.mlp
    latent_dim: int = 32
    hidden_units: List[int] = field(default_factory=lambda: [512, 256])
    conv_filters: List[int] = field(default_factory=lambda: [32, 64])
    likelihood: Likelihood = Likelihood.bernoulli
    decoder_std: float = 0.1
    noise: NoiseConfig = field(default_factory=NoiseConfig)

    def __post_init__(self) -> None:
        _require(self.latent_dim >= 1, "model.latent_dim", self.latent_dim, "an integer >= 1")
        _require(all(u >= 1 for u in self.hidden_units), "model.hidden_units", self.hidden_units,
                 "a list of positive integers")
        _require(all(f >= 1 for f in self.conv_filters), "model.conv_filters", self.conv_filters,
                 "a list of positive integers")
        _require(self.decoder_std > 0, "model.decoder_std", self.decoder_std, "> 0")


@dataclass
class VAEConfig(ModelConfig):
    """Gaussian encoder q(z|x) = N(mu, diag(sigma^2)), prior N(0, I); loss = recon + beta * KL.

    default_beta: the beta used when the top-level `beta` is not given (1 for vae, 4 for beta_vae).
    kl_schedule: none | linear (weight epoch / kl_schedule_epochs, capped at 1) | cyclical (period
                 kl_schedule_epochs, rising over its first kl_schedule_ratio, then 1): multiplies beta.
    free_bits: floor in nats on each latent dimension's batch-mean KL in the objective (Kingma et al. 2016).
    capacity_max, capacity_epochs, capacity_gamma: capacity beta-VAE (Burgess et al. 2018): the
                 objective's KL part becomes gamma * |KL - C|, C rising linearly to capacity_max.
    The logged `kl` is always the true KL; the objective's KL part is logged as `kl_penalty`.
    """

    latent_dim: int = 16
    default_beta: float = 1.0
    kl_schedule: KLSchedule = KLSchedule.none
    kl_schedule_epochs: int = 10
    kl_schedule_ratio: float = 0.5
    free_bits: float = 0.0
    capacity_max: float = 0.0
    capacity_epochs: int = 10
    capacity_gamma: float = 100.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.architecture != Architecture.fully_conv, "model.architecture", "fully_conv",
                 "mlp or conv for VAEs (a VAE's code is a vector)")
        _require(self.kl_schedule_epochs >= 1, "model.kl_schedule_epochs", self.kl_schedule_epochs, "an integer >= 1")
        _require(0 < self.kl_schedule_ratio <= 1, "model.kl_schedule_ratio", self.kl_schedule_ratio, "in (0, 1]")
        _require(self.free_bits >= 0, "model.free_bits", self.free_bits, ">= 0 (nats per latent dimension)")
        _require(self.capacity_max >= 0, "model.capacity_max", self.capacity_max, ">= 0 (0 turns capacity off)")
        _require(self.capacity_epochs >= 1, "model.capacity_epochs", self.capacity_epochs, "an integer >= 1")
        _require(self.capacity_gamma > 0, "model.capacity_gamma", self.capacity_gamma, "> 0")


@dataclass
class SparseConfig(ModelConfig):
    """Autoencoder whose code is pushed towards sparsity (the chapter's section 5.3).

    penalty: `l1` (weight * mean_batch sum_j |h_j|) or `kl` (weight * sum_j KL(rho || rho_hat_j)).
    sparsity_weight: the penalty's weight.
    target_rho: rho of the KL penalty, the desired mean activation of each code unit.
    """

    penalty: SparsityPenalty = SparsityPenalty.kl
    sparsity_weight: float = 1e-3
    target_rho: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.sparsity_weight >= 0, "model.sparsity_weight", self.sparsity_weight, ">= 0")
        _require(0 < self.target_rho < 1, "model.target_rho", self.target_rho, "in (0, 1)")


@dataclass
class ContractiveConfig(ModelConfig):
    """Contractive autoencoder (Rifai et al. 2011): recon + weight * ||dh/dx||_F^2 with a sigmoid code h.

    contractive_weight: lambda of the penalty. With `hidden_units: []` the encoder is h = sigmoid(Wx + b)
    and the penalty has the closed form sum_j (h_j (1 - h_j))^2 sum_i W_ij^2; deeper encoders use
    the exact batched Jacobian.
    """

    hidden_units: List[int] = field(default_factory=list)
    contractive_weight: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.contractive_weight >= 0, "model.contractive_weight", self.contractive_weight, ">= 0")


@dataclass
class DatasetConfig:
    """Where examples come from and how many.

    name: mnist | fashion_mnist | cifar10 | synthetic.
    data_dir: a folder holding the dataset's files in the Keras formats; searched first when set.
    download: fall back to the Keras download when no local files are found.
    limit: cap on training examples (null = all).
    validation_fraction: share of the training split held out for validation.
    kind, size: the synthetic set's shape and number of examples (synthetic only).
    normal_class: train and validate on this label only, test on every label (one-class anomaly
                  detection); null = all labels.
    """

    name: DatasetName = MISSING
    data_dir: Optional[str] = None
    download: bool = True
    limit: Optional[int] = None
    validation_fraction: float = 0.1
    kind: SyntheticKind = SyntheticKind.shapes
    size: int = 6000
    normal_class: Optional[int] = None

    def __post_init__(self) -> None:
        if self.limit is not None:
            _require(self.limit >= 1, "dataset.limit", self.limit, "null (all) or an integer >= 1")
        _require(0 < self.validation_fraction < 1, "dataset.validation_fraction", self.validation_fraction,
                 "in (0, 1)")
        _require(self.size >= 10, "dataset.size", self.size, "an integer >= 10")


@dataclass
class HardwareConfig:
    """Device, numeric precision and compilation.

    name: cpu | gpu | mixed (informational; the keys below decide).
    device: `cpu` hides every GPU; `gpu` requires one; `auto` uses one when visible.
    precision: float32, or mixed_float16 (float16 compute, float32 variables, loss scaling).
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
        _require(self.device in ("cpu", "gpu", "auto"), "hardware.device", self.device, "one of cpu, gpu, auto")
        _require(self.cpu_devices >= 1, "hardware.cpu_devices", self.cpu_devices, "an integer >= 1")
        _require(self.intra_op_threads >= 0, "hardware.intra_op_threads", self.intra_op_threads, ">= 0")
        _require(self.inter_op_threads >= 0, "hardware.inter_op_threads", self.inter_op_threads, ">= 0")


@dataclass
class TrainerConfig:
    """Optimisation loop: Adam on mini-batches.

    steps_per_execution: train steps fused into one compiled call (fewer Python round trips).
    checkpoint_every: save the `last` checkpoint every N epochs (the `best` one whenever validation loss improves).
    image_every: write image grids every N epochs (0 = never).
    """

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    steps_per_execution: int = 8
    checkpoint_every: int = 1
    image_every: int = 1
    verbose: bool = True

    def __post_init__(self) -> None:
        _require(self.epochs >= 1, "trainer.epochs", self.epochs, "an integer >= 1")
        _require(self.batch_size >= 1, "trainer.batch_size", self.batch_size, "an integer >= 1")
        _require(self.learning_rate > 0, "trainer.learning_rate", self.learning_rate, "> 0")
        _require(self.steps_per_execution >= 1, "trainer.steps_per_execution", self.steps_per_execution,
                 "an integer >= 1")
        _require(self.checkpoint_every >= 1, "trainer.checkpoint_every", self.checkpoint_every, "an integer >= 1")
        _require(self.image_every >= 0, "trainer.image_every", self.image_every, "an integer >= 0")


@dataclass
class PathsConfig:
    """Every filesystem location of a run, in one place."""

    root_dir: str = MISSING
    log_dir: str = MISSING
    run_dir: str = MISSING


@dataclass
class TrainConfig:
    """One run. `beta` weights the KL term of vae/beta_vae; it follows the model's default unless set."""

    model: ModelConfig = MISSING
    dataset: DatasetConfig = MISSING
    hardware: HardwareConfig = MISSING
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    task_name: str = "train"
    seed: int = 0
    beta: float = 1.0

    def __post_init__(self) -> None:
        _require(self.beta >= 0, "beta", self.beta, ">= 0 (0 drops the KL term, 1 is the plain VAE)")


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
        _require(0 < self.percentile < 100, "anomaly.percentile", self.percentile, "in (0, 100)")
        _require(self.elbo_samples >= 1, "anomaly.elbo_samples", self.elbo_samples, "an integer >= 1")


@dataclass
class AnomalyConfig(TrainConfig):
    """A run of `aecli anomaly`: train on normal data only, then score and threshold the test split."""

    task_name: str = "anomaly"
    anomaly: AnomalySettings = field(default_factory=AnomalySettings)
