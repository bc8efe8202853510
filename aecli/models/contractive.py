"""Contractive autoencoder (Rifai et al. 2011): a sigmoid code made insensitive to small input
changes."""

import keras
import tensorflow as tf
from keras import ops

from aecli.models import losses
from aecli.models.autoencoder import Autoencoder


class ContractiveAutoencoder(Autoencoder):
    """loss = recon + weight * mean_batch ||dh/dx||_F^2.

    The penalty is exact: in closed form when the encoder is one sigmoid layer (its last Dense
    layer reads the flattened input directly), otherwise from the batched Jacobian.
    """

    loss_names = ("loss", "recon", "contractive")
    code_activation = "sigmoid"

    def __init__(self, encoder, decoder, weight=0.1, **kwargs):
        super().__init__(encoder, decoder, **kwargs)
        self.weight = weight
        # the closed form holds for h = sigmoid(Wx + b) over the flattened input only: a 1x1 conv
        # also has one kernel, but its Jacobian sums over every pixel, which the form misses
        kernels = [layer for layer in encoder.layers if hasattr(layer, "kernel")]
        one_dense = len(kernels) == 1 and isinstance(kernels[0], keras.layers.Dense)
        self.closed_form_kernel = kernels[0].kernel if one_dense else None

    @classmethod
    def family_arguments(cls, cfg, seed: int, dataset_size: int) -> dict:
        return dict(weight=cfg.contractive_weight)

    def jacobian_norm(self, x, training=False):
        """(code, ||dh/dx||_F^2 per example)."""
        if self.closed_form_kernel is not None:
            code = self.encoder(x, training=training)
            return code, losses.contractive_sigmoid(code, self.closed_form_kernel)
        with tf.GradientTape() as tape:
            tape.watch(x)
            code = self.encoder(x, training=training)
        jacobian = tape.batch_jacobian(code, x)
        return code, ops.sum(ops.reshape(ops.square(jacobian), (ops.shape(x)[0], -1)), axis=-1)

    def loss_terms(self, x_in, x_clean, training=False):
        code, norms = self.jacobian_norm(x_in, training=training)
        recon = ops.mean(self.reconstruction_nll(x_clean, self.decoder(code, training=training)))
        contractive = ops.mean(norms)
        return {
            "loss": recon + self.weight * contractive,
            "recon": recon,
            "contractive": contractive,
        }
