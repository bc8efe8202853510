"""FactorVAE (Kim & Mnih 2018, "Disentangling by Factorising"), as disentanglement_lib's
`FactorVAE` (methods/unsupervised/vae.py) with its `fc_discriminator` (shared/architectures.py)
and the study's discriminator optimizer."""

import keras
import tensorflow as tf
from keras import layers, ops

from aecli.models import losses
from aecli.models.vae import VAE, standard_normal

# disentanglement_lib's discriminator: tf.nn.leaky_relu's slope, and the Adam of its study's
# gin configs (beta1 0.5, beta2 0.9, epsilon 1e-8), after Kim & Mnih's appendix A
LEAKY_SLOPE = 0.2
DISCRIMINATOR_ADAM = {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-8}


def build_discriminator(latent_dim: int, hidden_units) -> keras.Model:
    """z (latent_dim) -> two logits, class 0 "a code of q(z)", class 1 "a permuted code"; float32
    under every precision policy (it is small, and its logits are the TC estimate)."""
    inputs = keras.Input((latent_dim,), name="code")
    x = inputs
    for units in hidden_units:
        x = layers.Dense(units, dtype="float32")(x)
        x = layers.LeakyReLU(negative_slope=LEAKY_SLOPE, dtype="float32")(x)
    logits = layers.Dense(2, dtype="float32", name="logits")(x)
    return keras.Model(inputs, logits, name="discriminator")


class FactorVAE(VAE):
    """loss = the VAE's objective + gamma * TC, TC = E_q(z)[logit_0(z) - logit_1(z)]: the
    discriminator's density ratio q(z) / prod_j q(z_j) (Kim & Mnih, eq. 2 and 3).

    Each training step updates both players from one forward pass, as disentanglement_lib: the
    encoder and decoder on the loss with trainer.optimizer, the discriminator on its
    cross-entropy (`discriminator_loss`) with its own Adam. Its permuted codes are the batch's own
    samples with each dimension permuted across the batch (disentanglement_lib; Kim & Mnih draw
    them from a second batch). Both networks and both optimizers are attributes of the model, so
    every checkpoint holds them. `tc` is the estimate gamma weights; `discriminator_accuracy` the
    share of joint and permuted codes it tells apart (0.5: it cannot).
    """

    loss_names = (
        "loss",
        "recon",
        "kl",
        "tc",
        "kl_penalty",
        "discriminator_loss",
        "discriminator_accuracy",
    )

    def __init__(
        self,
        encoder,
        decoder,
        gamma=10.0,
        discriminator_hidden_units=(1000,) * 6,
        discriminator_learning_rate=1e-4,
        **kwargs,
    ):
        super().__init__(encoder, decoder, **kwargs)
        self.gamma = float(gamma)
        self.discriminator = build_discriminator(
            encoder.output_shape[0][-1], discriminator_hidden_units
        )
        self.discriminator_optimizer = keras.optimizers.Adam(
            discriminator_learning_rate, **DISCRIMINATOR_ADAM
        )

    @classmethod
    def family_arguments(cls, cfg, seed: int, dataset_size: int) -> dict:
        return dict(
            super().family_arguments(cfg, seed, dataset_size),
            gamma=cfg.gamma,
            discriminator_hidden_units=list(cfg.discriminator_hidden_units),
            discriminator_learning_rate=cfg.discriminator_learning_rate,
        )

    @property
    def vae_variables(self) -> list:
        """The weights trainer.optimizer trains: the encoder's and the decoder's."""
        return [*self.encoder.trainable_variables, *self.decoder.trainable_variables]

    def compile(self, *args, **kwargs):
        super().compile(*args, **kwargs)
        self.build_optimizers()  # before Keras builds trainer.optimizer on every weight

    def build_optimizers(self) -> None:
        """Each optimizer's state for the weights it trains, and no more."""
        if not self.optimizer.built:
            self.optimizer.build(self.vae_variables)
        if not self.discriminator_optimizer.built:
            self.discriminator_optimizer.build(self.discriminator.trainable_variables)

    def loss_terms(self, x_in, x_clean, training=False):
        terms, (_, _, z) = self.elbo_terms(x_in, x_clean, training=training)
        logits = self.discriminator(z, training=training)
        noise = standard_normal(ops.shape(z), self.seed_generator, dtype=z.dtype)
        permuted = losses.permute_dims(ops.stop_gradient(z), noise)
        logits_permuted = self.discriminator(permuted, training=training)
        tc = losses.density_ratio_tc(logits)
        return {
            **terms,
            "loss": terms["loss"] + self.gamma * tc,
            "tc": tc,
            "discriminator_loss": losses.discriminator_loss(logits, logits_permuted),
            "discriminator_accuracy": losses.discriminator_accuracy(logits, logits_permuted),
        }

    def train_step(self, data):
        x_in, x_clean = data
        # replicas' gradients are summed: each contributes its share of the global batch mean
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape, tf.GradientTape() as discriminator_tape:
            terms = self.loss_terms(x_in, x_clean, training=True)
            scaled_loss = self.optimizer.scale_loss(terms["loss"] / replicas)
            discriminator_loss = terms["discriminator_loss"] / replicas
        weights = self.vae_variables
        self.optimizer.apply(tape.gradient(scaled_loss, weights), weights)
        weights = self.discriminator.trainable_variables
        gradients = discriminator_tape.gradient(discriminator_loss, weights)
        self.discriminator_optimizer.apply(gradients, weights)
        return self._track(terms, x_clean)
