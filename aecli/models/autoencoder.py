"""The deterministic autoencoder: z = f(x), x_hat = g(z), loss = -log p(x | z) averaged over the batch."""

import keras
import tensorflow as tf
from keras import ops

from aecli.models import losses
from aecli.config.schema import Likelihood


class Autoencoder(keras.Model):
    """Encoder and decoder are separate sub-models, so one can embed and the other generate.

    `train_step` receives (corrupted input, clean target): with no noise both are the same
    tensor. Each tracked term is the per-example value (nats for the Bernoulli/Gaussian NLL)
    averaged over examples, weighting every batch by its size.
    """

    loss_names = ("loss", "recon")

    def __init__(self, encoder, decoder, likelihood=Likelihood.bernoulli, decoder_std=0.1, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = Likelihood(likelihood)
        self.decoder_std = decoder_std
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_names}
        # encoder and decoder are functional models, built on creation; so is this wrapper
        self.built = True

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, x, training=False):
        return self.decoder(self.encode_mean(x, training=training), training=training)

    def encode_mean(self, x, training=False):
        """The code used for reconstructions and embeddings (the posterior mean for a VAE)."""
        return self.encoder(x, training=training)

    def decoded_mean(self, params):
        """E[x | z] from the decoder's output: sigmoid of the logits, or the Gaussian mean itself."""
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

    def train_step(self, data):
        x_in, x_clean = data
        with tf.GradientTape() as tape:
            terms = self.loss_terms(x_in, x_clean, training=True)
            # replicas' gradients are summed, so each contributes its share of the global batch mean;
            # scale_loss then applies the dynamic loss scale of mixed_float16 (identity otherwise)
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
