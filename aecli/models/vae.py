"""The VAE (Kingma & Welling 2013): Gaussian encoder, reparameterized sample,
loss = recon + beta * KL."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from aecli.models import losses
from aecli.models.autoencoder import Autoencoder
from aecli.models.likelihood import importance_weighted_bound
from aecli.models.networks import build_encoder
from aecli.models.schedules import VAESchedules

# Burda et al. 2016: a latent dimension is active when Cov_x(E[z_j | x]) exceeds this
ACTIVE_UNIT_THRESHOLD = 0.01

# exp(-20) .. exp(10): a variance range wide enough for any real posterior, narrow enough that
# exp(log_var) never overflows float32 and a diverging encoder cannot produce inf in the KL
LOG_VAR_RANGE = (-20.0, 10.0)


def standard_normal(shape, seed_generator, dtype="float32"):
    """N(0, I) draws seeded by the keras.random SeedGenerator (checkpointed, XLA-safe), through TF's
    Philox kernel: keras.random.normal's default `auto_select` algorithm is several times slower
    per draw under XLA on CPU, a large share of an MLP VAE's training step (docs/speed.md).
    `dtype` is the tensor's the draw meets: TF adds no implicit casts, so float32 noise next to a
    bfloat16 or float16 posterior fails."""
    seed = ops.cast(ops.mod(seed_generator.next(), 2**31 - 2), "int32")  # what keras.random does
    return tf.random.stateless_normal(shape, seed=seed, alg="philox", dtype=dtype)


class VAE(Autoencoder):
    """-ELBO = E_q[-log p(x|z)] + KL(q(z|x) || N(0, I)); beta weights the KL (beta-VAE when
    beta != 1).

    With free bits or capacity the optimised KL part differs from the KL; `kl` stays the true KL.

    recon is a one-sample Monte Carlo estimate per example; kl is closed form. Both are
    summed over dimensions (nats per example) and averaged over the batch.
    """

    loss_names = ("loss", "recon", "kl", "kl_penalty")

    def __init__(
        self, encoder, decoder, beta=1.0, seed=0, free_bits=0.0, capacity_gamma=None, **kwargs
    ):
        super().__init__(encoder, decoder, **kwargs)
        # variables, not constants, so schedules can change them without retracing
        self.beta = keras.Variable(beta, trainable=False, dtype="float32", name="beta")
        self.capacity = keras.Variable(0.0, trainable=False, dtype="float32", name="capacity")
        self.free_bits = free_bits
        self.capacity_gamma = capacity_gamma
        self.seed_generator = keras.random.SeedGenerator(seed)

    @classmethod
    def from_model_config(cls, cfg, input_shape, seed: int, dataset_size: int = 0) -> "VAE":
        model = super().from_model_config(cfg, input_shape, seed, dataset_size)
        model.schedule = cfg  # read each epoch by VAESchedules
        return model

    @classmethod
    def family_arguments(cls, cfg, seed: int, dataset_size: int) -> dict:
        return dict(
            beta=cfg.beta,
            seed=seed,
            free_bits=cfg.free_bits,
            capacity_gamma=cfg.capacity_gamma if cfg.capacity_max > 0 else None,
        )

    @classmethod
    def build_encoder(cls, cfg, input_shape):
        return build_encoder(cfg, input_shape, gaussian=True)

    @property
    def code_shape(self) -> tuple:
        return tuple(self.encoder.output_shape[0][1:])

    def training_callbacks(self, val_x: np.ndarray, log_dir, stop) -> list:
        return [VAESchedules(self.schedule)] if getattr(self, "schedule", None) else []

    def epoch_scalars(self, x: np.ndarray) -> dict:
        """`kl_per_dim/z<j>`: which dimensions the KL weight switches off, and when."""
        return {f"kl_per_dim/z{j}": v for j, v in enumerate(self.kl_per_dimension(x))}

    def kl_per_dimension(self, x: np.ndarray, batch: int = 512) -> np.ndarray:
        """KL(q(z_j|x) || N(0, 1)) of each latent dimension, averaged over the inputs (nats): the
        dimensions beta switches off sit near 0."""
        mean, log_var = self.posteriors(x, batch)
        return np.asarray(losses.gaussian_kl_per_dim(mean, log_var), np.float64).mean(axis=0)

    def latent_importance(self, x: np.ndarray) -> tuple[np.ndarray, str]:
        """Each dimension's KL over `x` in nats: the information it carries about the input."""
        return self.kl_per_dimension(x), "KL"

    def posterior_metrics(self, x: np.ndarray) -> dict:
        """test_kl_per_dim: each latent dimension's KL, averaged over the inputs (nats)."""
        return {"test_kl_per_dim": [float(v) for v in self.kl_per_dimension(x)]}

    def term_metrics(self, terms: dict) -> dict:
        """test_elbo = -(recon + KL) at beta = 1: a lower bound on log p(x), nats per example."""
        return {"test_elbo": -(terms["test_recon"] + terms["test_kl"])}

    def code_metrics(self, codes: np.ndarray) -> dict:
        """active_units: the dimensions whose posterior mean varies over the inputs."""
        return {"active_units": active_units(codes)}

    def generated_images(self, count: int) -> dict:
        """Decoded means of `count` draws from the prior."""
        return {"prior_samples": np.asarray(self.sample_prior(count))}

    def likelihood_bound_passes(self, examples: int, k: int) -> int:
        """k posterior samples of each example, each decoded once."""
        return examples * k

    def likelihood_bounds(self, x: np.ndarray, k: int, progress=None) -> dict:
        bound, elbo = importance_weighted_bound(self, x, k, progress=progress)
        return {"elbo": float(elbo.mean()), "iw_bound": float(bound.mean())}

    def anomaly_scores(self, x: np.ndarray, samples: int, offset: int = 0) -> dict:
        """Adds `neg_elbo`, minus the ELBO averaged over `samples` posterior draws (nats)."""
        return {
            **super().anomaly_scores(x, samples, offset),
            "neg_elbo": -importance_weighted_bound(self, x, k=samples, offset=offset)[1],
        }

    def posterior(self, x, training=False):
        """(mean, log_var) of q(z|x), log_var clamped to LOG_VAR_RANGE."""
        mean, log_var = self.encoder(x, training=training)
        return mean, ops.clip(log_var, *LOG_VAR_RANGE)

    def encode_mean(self, x, training=False):
        return self.posterior(x, training=training)[0]

    def posteriors(self, x: np.ndarray, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
        """(means, log_vars) of q(z|x) over `x`, `batch` examples at a time, as NumPy."""
        parts = [self.posterior(x[start : start + batch]) for start in range(0, len(x), batch)]
        return tuple(np.concatenate([np.asarray(part[i]) for part in parts]) for i in (0, 1))

    def sample_posterior(self, mean, log_var):
        """z = mean + exp(log_var / 2) * eps, in the posterior's dtype (float32 from the Gaussian
        heads under every policy; a half-precision posterior gets half-precision noise)."""
        epsilon = standard_normal(ops.shape(mean), self.seed_generator, dtype=mean.dtype)
        return losses.reparameterize(mean, ops.exp(0.5 * log_var), epsilon)

    def sample_prior(self, count):
        """Decoded means of `count` draws z ~ N(0, I)."""
        z = standard_normal((count, self.decoder.input_shape[-1]), self.seed_generator)
        return self.decoded_mean(self.decoder(z))

    def kl_penalty(self, kl_per_dim):
        """The objective's KL part: beta * KL, with free bits as a per-dimension floor; or, with
        capacity on, gamma * |KL - C| as in Burgess et al. (2018), eq. 8, where beta has no part
        (C set per epoch by aecli.models.schedules)."""
        kl = (
            losses.free_bits_kl(kl_per_dim, self.free_bits)
            if self.free_bits
            else ops.sum(kl_per_dim)
        )
        if self.capacity_gamma:
            return losses.capacity_penalty(kl, self.capacity, self.capacity_gamma)
        return self.beta * kl

    def elbo_terms(self, x_in, x_clean, training=False):
        """This objective's terms and the batch's posterior (mean, log_var) and sample z, for the
        variants that add a penalty on the code to "loss" (DIP-VAE, FactorVAE)."""
        mean, log_var = self.posterior(x_in, training=training)
        z = self.sample_posterior(mean, log_var)
        recon = ops.mean(self.reconstruction_nll(x_clean, self.decoder(z, training=training)))
        kl_per_dim = ops.mean(losses.gaussian_kl_per_dim(mean, log_var), axis=0)
        penalty = self.kl_penalty(kl_per_dim)
        terms = {
            "loss": recon + penalty,
            "recon": recon,
            "kl": ops.sum(kl_per_dim),
            "kl_penalty": penalty,
        }
        return terms, (mean, log_var, z)

    def loss_terms(self, x_in, x_clean, training=False):
        return self.elbo_terms(x_in, x_clean, training=training)[0]


def active_units(posterior_means: np.ndarray, threshold: float = ACTIVE_UNIT_THRESHOLD) -> int:
    """Number of dimensions j with Cov_x(E[z_j | x]) > threshold (Burda et al. 2016)."""
    return int(np.sum(np.var(posterior_means, axis=0) > threshold))
