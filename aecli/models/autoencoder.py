"""The deterministic autoencoder: z = f(x), x_hat = g(z), loss = -log p(x | z) averaged over the
batch."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from aecli.config.model import Likelihood
from aecli.models import losses
from aecli.models.networks import build_decoder, build_encoder
from aecli.training import fused_steps


class Autoencoder(keras.Model):
    """Encoder and decoder are separate sub-models, so one can embed and the other generate.

    `train_step` receives (corrupted input, clean target): with no noise both are the same
    tensor. Each tracked term is the per-example value (nats for the Bernoulli/Gaussian NLL)
    averaged over examples, weighting every batch by its size.
    """

    loss_names = ("loss", "recon")
    # how the steps of one call run where they can be fused (aecli/training/fused_steps.py):
    # "off" (Keras' loop, one XLA launch a step), "loop" or "unrolled"; set after compile
    fuse_steps = "off"
    # the code's activation: sigmoid for the families whose penalties read it as a firing rate
    code_activation = None

    def __init__(
        self, encoder, decoder, likelihood=Likelihood.bernoulli, decoder_std=0.1, **kwargs
    ):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = Likelihood(likelihood)
        self.decoder_std = decoder_std
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_names}
        # encoder and decoder are functional models, built on creation; so is this wrapper
        self.built = True

    @classmethod
    def from_model_config(cls, cfg, input_shape, seed: int, dataset_size: int = 0) -> "Autoencoder":
        """The model of `cfg` with fresh networks (Keras' own `from_config` rebuilds a saved model,
        hence the longer name). Families with their own keys extend `family_arguments`."""
        return cls(
            encoder=cls.build_encoder(cfg, input_shape),
            decoder=build_decoder(cfg, input_shape),
            likelihood=cfg.likelihood,
            decoder_std=cfg.decoder_std,
            name=cfg.name,
            **cls.family_arguments(cfg, seed=seed, dataset_size=dataset_size),
        )

    @classmethod
    def build_encoder(cls, cfg, input_shape):
        return build_encoder(cfg, input_shape, gaussian=False, code_activation=cls.code_activation)

    @classmethod
    def family_arguments(cls, cfg, seed: int, dataset_size: int) -> dict:
        """Constructor arguments of this family taken from its config."""
        return {}

    # --- hooks: what differs by family, asked of the model instead of testing its type ----------

    def build_optimizers(self) -> None:
        """Create the optimizer's state for the weights it trains, so that a checkpoint's state
        can be loaded into it (families with more than one optimizer build each)."""
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)

    @property
    def code_shape(self) -> tuple:
        """Shape of one example's code (a vector, or a feature map for fully_conv)."""
        return tuple(self.encoder.output_shape[1:])

    def training_callbacks(self, val_x: np.ndarray, log_dir, stop) -> list:
        """Keras callbacks this family needs during fit (e.g. the VAE's beta schedule), given the
        validation inputs, a TensorBoard folder of its own, and the run's StopConditions (which
        say whether an epoch ended early, so its figures are not logged)."""
        return []

    def epoch_scalars(self, x: np.ndarray) -> dict:
        """TensorBoard scalars (tag: value) this family logs after each epoch over (up to 2,000)
        validation inputs `x`; aecli.training.callbacks.EpochScalars writes them."""
        return {}

    def term_metrics(self, terms: dict) -> dict:
        """Test metrics this family derives from its evaluated loss terms (`test_<term>`)."""
        return {}

    def code_metrics(self, codes: np.ndarray) -> dict:
        """Metrics this family reads off the codes of a split."""
        return {}

    def latent_importance(self, x: np.ndarray) -> tuple[np.ndarray, str]:
        """How much each code dimension carries over the inputs, and what that number is: here the
        variance of the code over `x` (a dimension that never moves says nothing)."""
        codes = self.encode_means(x)
        return codes.reshape(len(codes), -1).var(axis=0), "variance"

    def posterior_metrics(self, x: np.ndarray) -> dict:
        """Metrics of this family's posterior over the inputs `x` (e.g. KL per latent dimension)."""
        return {}

    def generated_images(self, count: int) -> dict:
        """Named arrays of up to `count` images this family draws beside its reconstructions."""
        return {}

    def linear_decoder_basis(self) -> np.ndarray | None:
        """(input dims, k): the decoder's columns, when the model is a linear Gaussian
        autoencoder (one linear Dense layer each way, Gaussian likelihood), the case in which
        training finds PCA's top-k subspace (Baldi & Hornik 1989); None otherwise."""
        if self.likelihood != Likelihood.gaussian:
            return None
        dense = []
        for network in (self.encoder, self.decoder):
            for layer in network.layers:
                if isinstance(layer, keras.layers.Dense):
                    if layer.activation not in (None, keras.activations.linear):
                        return None
                    dense.append(layer)
                elif not isinstance(
                    layer, (keras.layers.InputLayer, keras.layers.Reshape, keras.layers.Flatten)
                ):
                    return None
        if len(dense) != 2:  # a VAE's encoder has two heads; hidden layers add more
            return None
        return np.asarray(dense[1].kernel).T

    def likelihood_bound_passes(self, examples: int, k: int) -> int:
        """Decoder passes likelihood_bounds makes, said before it starts (it can take minutes)."""
        return 0

    def likelihood_bounds(self, x: np.ndarray, k: int, progress=None) -> dict:
        """Bounds on log p(x) in nats per example (families with a posterior); progress(n) is
        told the decoder passes as they run."""
        return {}

    def anomaly_scores(self, x: np.ndarray, samples: int, offset: int = 0) -> dict:
        """Per-example anomaly scores: the mean squared reconstruction error (the chapter's
        score), plus what the family adds. `samples` and `offset` (x's position in an input
        scored in parts) seed a family's Monte Carlo scores; the reconstruction error has none."""
        batches = (x[i : i + 512] for i in range(0, len(x), 512))
        return {
            "recon": np.concatenate(
                [np.asarray(losses.mse(batch, self.reconstruct(batch))) for batch in batches]
            )
        }

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, x, training=False):
        return self.decoder(self.encode_mean(x, training=training), training=training)

    def encode_mean(self, x, training=False):
        """The code used for reconstructions and embeddings (the posterior mean for a VAE)."""
        return self.encoder(x, training=training)

    def posteriors(self, x: np.ndarray, batch: int = 512) -> tuple[np.ndarray, np.ndarray] | None:
        """(means, log_vars) of a Gaussian q(z|x) over a whole array, as NumPy; None for a family
        whose code is deterministic."""
        return None

    def encode_means(self, x: np.ndarray, batch: int = 512) -> np.ndarray:
        """`encode_mean` of a whole array, `batch` examples at a time (bounded memory), as NumPy:
        the codes that `aecli encode` exports and the test metrics read."""
        return np.concatenate(
            [np.asarray(self.encode_mean(x[i : i + batch])) for i in range(0, len(x), batch)]
        )

    def decoded_mean(self, params):
        """E[x | z] from the decoder's output: sigmoid of the logits, or the Gaussian mean
        itself."""
        if self.likelihood == Likelihood.bernoulli:
            return ops.sigmoid(params)
        return ops.cast(params, "float32")

    def reconstruct(self, x):
        return self.decoded_mean(self(x))

    def reconstruction_nll(self, x, params):
        """-log p(x | z) per example, summed over dimensions, in nats."""
        if self.likelihood == Likelihood.bernoulli:
            return losses.bernoulli_nll_per_example(x, params)
        return losses.gaussian_nll_per_example(x, params, self.decoder_std)

    def loss_terms(self, x_in, x_clean, training=False):
        """Each loss term, averaged over the batch; "loss" is what the optimizer minimises."""
        recon = ops.mean(self.reconstruction_nll(x_clean, self(x_in, training=training)))
        return {"loss": recon, "recon": recon}

    def make_train_function(self, force=False):
        """Keras' train function, or the fused one where `fuse_steps` asks for it and applies."""
        if self.fuse_steps == "off" or not fused_steps.applies(
            bool(self.jit_compile), self.steps_per_execution
        ):
            return super().make_train_function(force)
        if self.train_function is None or force:
            self.train_function = fused_steps.train_function(self, self.fuse_steps)
        return self.train_function

    def train_step(self, data):
        x_in, x_clean = data
        with tf.GradientTape() as tape:
            terms = self.loss_terms(x_in, x_clean, training=True)
            # replicas' gradients are summed, so each contributes its share of the global batch
            # mean; scale_loss then applies the dynamic loss scale of mixed_float16 (identity
            # otherwise)
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            scaled_loss = self.optimizer.scale_loss(terms["loss"] / replicas)
        gradients = tape.gradient(scaled_loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self._track(terms, x_clean)

    def test_step(self, data):
        x_in, x_clean = data
        return self._track(self.loss_terms(x_in, x_clean, training=False), x_clean)

    def _track(self, terms, batch):
        batch_size = ops.cast(ops.shape(batch)[0], "float32")
        for name, value in terms.items():
            self.trackers[name].update_state(value, sample_weight=batch_size)
        return {name: tracker.result() for name, tracker in self.trackers.items()}
