"""Model configs: one dataclass per family, paired with its keras.Model in aecli/models/.

`BaseModelConfig` holds what every family shares (networks, likelihood, input noise) and is never
used on its own; `AutoencoderConfig` is the plain deterministic autoencoder. A variant subclasses
the config it changes and adds only its own keys, so OmegaConf rejects a key of another family
(`model=vanilla beta=4`) while composing, before TensorFlow loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import ClassVar, List, Optional

from omegaconf import MISSING

from aecli.config.checks import finite, require


class Architecture(str, Enum):
    """MLP for flat inputs; conv (strided convs, dense code) or fully_conv (the code is a feature
    map with latent_dim channels, for denoisers that must keep spatial detail) for images."""

    mlp = "mlp"
    conv = "conv"
    fully_conv = "fully_conv"


class KLSchedule(str, Enum):
    """Weight on the KL term over epochs: constant, linear warm-up, or cyclical (Fu et al. 2019)."""

    none = "none"
    linear = "linear"
    cyclical = "cyclical"


class Activation(str, Enum):
    """Hidden activation of the decoder: relu, or tanh as Chen et al. (2018)'s dSprites decoder."""

    relu = "relu"
    tanh = "tanh"


class Likelihood(str, Enum):
    """Decoder likelihood: Bernoulli (BCE from logits) for [0,1] data, Gaussian (MSE) otherwise."""

    bernoulli = "bernoulli"
    gaussian = "gaussian"


class SparsityPenalty(str, Enum):
    l1 = "l1"
    kl = "kl"


class NoiseType(str, Enum):
    none = "none"
    gaussian = "gaussian"
    salt_and_pepper = "salt_and_pepper"
    speckle = "speckle"
    masking = "masking"


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
            require(
                0 <= self.level <= 1,
                "model.noise.level",
                self.level,
                f"a fraction in [0, 1] for {self.type.value}",
            )
        else:
            require(
                finite(self.level) and self.level >= 0,
                "model.noise.level",
                self.level,
                "a finite value >= 0",
            )


@dataclass
class BaseModelConfig:
    """What every family shares: x -> z = f(x) -> parameters of p(x | z).

    family: which family this config is (each class names its own): recorded in the run's
            config.yaml, so a saved run reloads as its family whatever keys it has; not a setting
            (`model=<name>` chooses the family).
    name: the option's name (`model=<name>`), recorded in metrics.json.
    architecture: `mlp` (Dense stack over the flattened input), `conv` (strided Conv2D, images only)
                  or `fully_conv` (the code is a feature map).
    latent_dim: size of the code z.
    hidden_units: Dense widths of the MLP encoder; the decoder mirrors them unless
                  decoder_hidden_units is set.
    decoder_hidden_units: Dense widths of the MLP decoder from the code outwards, when it should
                  not mirror the encoder (null: mirror), e.g. [1200, 1200, 1200] for Chen et
                  al. (2018)'s dSprites decoder.
    decoder_activation: the decoder's hidden activation, relu or tanh (Chen et al.'s MLP decoder).
    conv_filters: Conv2D filters of the conv encoder, each halving height and width; the decoder
                  mirrors them.
    likelihood: `bernoulli` (BCE from logits, data in [0,1]) or `gaussian` (fixed std
                `decoder_std`).
    decoder_std: std of the Gaussian decoder, so its reconstruction term is a true NLL in nats.
    noise: corruption of the encoder's input; the loss always compares with the clean input.
    """

    # True for families with a Gaussian posterior and a KL term (ELBO, beta, neg_elbo scores)
    variational: ClassVar[bool] = False

    family: str = ""
    name: str = MISSING
    architecture: Architecture = Architecture.mlp
    latent_dim: int = 32
    hidden_units: List[int] = field(default_factory=lambda: [512, 256])
    decoder_hidden_units: Optional[List[int]] = None
    decoder_activation: Activation = Activation.relu
    conv_filters: List[int] = field(default_factory=lambda: [32, 64])
    likelihood: Likelihood = Likelihood.bernoulli
    decoder_std: float = 0.1
    noise: NoiseConfig = field(default_factory=NoiseConfig)

    def __post_init__(self) -> None:
        own = type(self).__dataclass_fields__["family"].default
        require(
            self.family == own,
            "model.family",
            self.family,
            f"{own!r}: it records the family of this model config; choose a family with `model=`",
        )
        require(self.latent_dim >= 1, "model.latent_dim", self.latent_dim, "an integer >= 1")
        require(
            all(u >= 1 for u in self.hidden_units),
            "model.hidden_units",
            self.hidden_units,
            "a list of positive integers",
        )
        require(
            self.decoder_hidden_units is None
            or (
                self.architecture == Architecture.mlp
                and all(u >= 1 for u in self.decoder_hidden_units)
            ),
            "model.decoder_hidden_units",
            self.decoder_hidden_units,
            "null, or a list of positive integers with model.architecture=mlp (conv decoders "
            "mirror model.conv_filters)",
        )
        require(
            all(f >= 1 for f in self.conv_filters),
            "model.conv_filters",
            self.conv_filters,
            "a list of positive integers",
        )
        require(
            finite(self.decoder_std) and self.decoder_std > 0,
            "model.decoder_std",
            self.decoder_std,
            "finite and > 0",
        )

    @property
    def decoder_units(self) -> List[int]:
        """Dense widths of the MLP decoder from the code outwards."""
        if self.decoder_hidden_units is None:
            return list(reversed(self.hidden_units))
        return list(self.decoder_hidden_units)


@dataclass
class AutoencoderConfig(BaseModelConfig):
    """Deterministic autoencoder trained on reconstruction alone (vanilla, conv_denoising)."""

    family: str = "autoencoder"


@dataclass
class VAEConfig(BaseModelConfig):
    """Gaussian encoder q(z|x) = N(mu, diag(sigma^2)), prior N(0, I); loss = recon + beta * KL.

    beta: weight of the KL term (1 for vae, 4 for beta_vae); the top-level `beta=` sets it.
    kl_schedule: none | linear (weight epoch / kl_schedule_epochs, capped at 1) | cyclical (period
                 kl_schedule_epochs, rising over its first kl_schedule_ratio, then 1): multiplies
                 beta.
    free_bits: floor in nats on each latent dimension's batch-mean KL in the objective (Kingma et
               al. 2016).
    capacity_max, capacity_epochs, capacity_gamma: capacity beta-VAE (Burgess et al. 2018): the
                 objective's KL part becomes gamma * |KL - C|, C rising linearly from 0 to
                 capacity_max over capacity_epochs; beta is not used then.
    capacity_steps: null, or the optimizer updates over which C rises instead of epochs
                 (disentanglement_lib's `iteration_threshold`; C is set before each execution of
                 trainer.steps_per_execution updates); capacity_epochs is not used then.
    The logged `kl` is always the true KL; the objective's KL part is logged as `kl_penalty`.
    """

    variational: ClassVar[bool] = True

    family: str = "vae"
    latent_dim: int = 16
    beta: float = 1.0
    kl_schedule: KLSchedule = KLSchedule.none
    kl_schedule_epochs: int = 10
    kl_schedule_ratio: float = 0.5
    free_bits: float = 0.0
    capacity_max: float = 0.0
    capacity_epochs: int = 10
    capacity_gamma: float = 100.0
    capacity_steps: Optional[int] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            self.architecture != Architecture.fully_conv,
            "model.architecture",
            "fully_conv",
            "mlp or conv for VAEs (a VAE's code is a vector)",
        )
        require(
            finite(self.beta) and self.beta >= 0,
            "beta",
            self.beta,
            "finite and >= 0 (0 drops the KL term, 1 is the plain VAE)",
        )
        require(
            self.kl_schedule_epochs >= 1,
            "model.kl_schedule_epochs",
            self.kl_schedule_epochs,
            "an integer >= 1",
        )
        require(
            0 < self.kl_schedule_ratio <= 1,
            "model.kl_schedule_ratio",
            self.kl_schedule_ratio,
            "in (0, 1]",
        )
        require(
            finite(self.free_bits) and self.free_bits >= 0,
            "model.free_bits",
            self.free_bits,
            "finite and >= 0 (nats per latent dimension)",
        )
        require(
            finite(self.capacity_max) and self.capacity_max >= 0,
            "model.capacity_max",
            self.capacity_max,
            "finite and >= 0 (0 turns capacity off)",
        )
        require(
            self.capacity_epochs >= 1,
            "model.capacity_epochs",
            self.capacity_epochs,
            "an integer >= 1",
        )
        require(
            finite(self.capacity_gamma) and self.capacity_gamma > 0,
            "model.capacity_gamma",
            self.capacity_gamma,
            "finite and > 0",
        )
        require(
            self.capacity_steps is None or self.capacity_steps >= 1,
            "model.capacity_steps",
            self.capacity_steps,
            "null (C rises per epoch over model.capacity_epochs) or an integer >= 1",
        )


class TCEstimator(str, Enum):
    """How beta-TCVAE estimates the aggregate posterior q(z) from a minibatch (Chen et al. 2018):
    minibatch stratified sampling (lower variance) or minibatch weighted sampling."""

    mss = "mss"
    mws = "mws"


@dataclass
class BetaTCVAEConfig(VAEConfig):
    """beta-TCVAE (Chen et al. 2018): the KL split into index-code mutual information, total
    correlation and dimension-wise KL; beta weights the total correlation alone.

    tc_estimator: mss | mws, the minibatch estimator of q(z). Free bits and capacity act on the
    whole KL, which this model splits, so they must stay off.
    """

    family: str = "beta_tcvae"
    tc_estimator: TCEstimator = TCEstimator.mss

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            self.free_bits == 0,
            "model.free_bits",
            self.free_bits,
            "0 for beta_tcvae (free bits bound the whole KL, which beta-TCVAE splits)",
        )
        require(
            self.capacity_max == 0,
            "model.capacity_max",
            self.capacity_max,
            "0 for beta_tcvae (capacity bounds the whole KL, which beta-TCVAE splits)",
        )


@dataclass
class FactorVAEConfig(VAEConfig):
    """FactorVAE (Kim & Mnih 2018, "Disentangling by Factorising"): the VAE's objective plus
    gamma * TC, the total correlation of q(z) estimated by a discriminator that tells codes
    z ~ q(z) from codes whose dimensions were permuted independently across the batch.

    gamma: weight of the TC estimate (disentanglement_lib's grid: 10, 20, 30, 40, 50, 100).
    discriminator_hidden_units: the discriminator's LeakyReLU(0.2) Dense widths (6 x 1000 in
        Kim & Mnih's appendix A and disentanglement_lib's `fc_discriminator`).
    discriminator_learning_rate: its own Adam's rate (1e-4, with beta1 0.5 and beta2 0.9, as
        disentanglement_lib's study); trainer.learning_rate drives the VAE alone.
    """

    family: str = "factor_vae"
    gamma: float = 10.0
    discriminator_hidden_units: List[int] = field(default_factory=lambda: [1000] * 6)
    discriminator_learning_rate: float = 1e-4

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            finite(self.gamma) and self.gamma >= 0, "model.gamma", self.gamma, "finite and >= 0"
        )
        require(
            len(self.discriminator_hidden_units) >= 1
            and all(u >= 1 for u in self.discriminator_hidden_units),
            "model.discriminator_hidden_units",
            self.discriminator_hidden_units,
            "a non-empty list of positive integers",
        )
        require(
            finite(self.discriminator_learning_rate) and self.discriminator_learning_rate > 0,
            "model.discriminator_learning_rate",
            self.discriminator_learning_rate,
            "finite and > 0",
        )


class DIPType(str, Enum):
    """Which covariance DIP-VAE pushes to the identity (Kumar et al. 2018): i, that of the
    posterior means, Cov_p(x)[mu(x)] (eq. 6); ii, that of q(z) itself,
    E_p(x)[diag sigma^2(x)] + Cov_p(x)[mu(x)] (eq. 7)."""

    i = "i"
    ii = "ii"


# disentanglement_lib's lambda_d_factor of each variant: lambda_d = factor * lambda_od
DIP_LAMBDA_D_FACTOR = {DIPType.i: 10.0, DIPType.ii: 1.0}


@dataclass
class DIPVAEConfig(VAEConfig):
    """DIP-VAE (Kumar et al. 2018): the VAE's objective plus lambda_od * sum_{i != j} C_ij^2 +
    lambda_d * sum_i (C_ii - 1)^2, C the batch covariance `dip_type` names.

    dip_type: i | ii (DIPType).
    lambda_od: weight of the off-diagonal entries (disentanglement_lib's grid: 1, 2, 5, 10, 20,
        50).
    lambda_d: weight of the diagonal; null is disentanglement_lib's default, 10 * lambda_od for
        i and lambda_od for ii.
    """

    family: str = "dip_vae"
    dip_type: DIPType = DIPType.i
    lambda_od: float = 10.0
    lambda_d: Optional[float] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            finite(self.lambda_od) and self.lambda_od >= 0,
            "model.lambda_od",
            self.lambda_od,
            "finite and >= 0",
        )
        require(
            self.lambda_d is None or (finite(self.lambda_d) and self.lambda_d >= 0),
            "model.lambda_d",
            self.lambda_d,
            "null (disentanglement_lib's default for the dip_type) or finite and >= 0",
        )

    @property
    def diagonal_weight(self) -> float:
        """lambda_d, or disentanglement_lib's default for this dip_type when it is null."""
        if self.lambda_d is not None:
            return self.lambda_d
        return DIP_LAMBDA_D_FACTOR[DIPType(self.dip_type)] * self.lambda_od


@dataclass
class SparseConfig(AutoencoderConfig):
    """Autoencoder whose code is pushed towards sparsity (the chapter's section 5.3).

    penalty: `l1` (weight * mean_batch sum_j |h_j|) or `kl` (weight * sum_j KL(rho || rho_hat_j)).
    sparsity_weight: the penalty's weight.
    target_rho: rho of the KL penalty, the desired mean activation of each code unit.
    """

    family: str = "sparse"
    penalty: SparsityPenalty = SparsityPenalty.kl
    sparsity_weight: float = 1e-3
    target_rho: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            finite(self.sparsity_weight) and self.sparsity_weight >= 0,
            "model.sparsity_weight",
            self.sparsity_weight,
            "finite and >= 0",
        )
        require(0 < self.target_rho < 1, "model.target_rho", self.target_rho, "in (0, 1)")


@dataclass
class ContractiveConfig(AutoencoderConfig):
    """Contractive autoencoder (Rifai et al. 2011): recon + weight * ||dh/dx||_F^2, sigmoid code h.

    contractive_weight: lambda of the penalty. With `hidden_units: []` and an MLP the encoder is
    h = sigmoid(Wx + b) and the penalty has the closed form sum_j (h_j (1 - h_j))^2 sum_i W_ij^2;
    every other encoder uses the exact batched Jacobian.
    """

    hidden_units: List[int] = field(default_factory=list)
    family: str = "contractive"
    contractive_weight: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            finite(self.contractive_weight) and self.contractive_weight >= 0,
            "model.contractive_weight",
            self.contractive_weight,
            "finite and >= 0",
        )
