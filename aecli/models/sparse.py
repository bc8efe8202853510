"""Sparse autoencoder (chapter 5.3): a sigmoid code pushed towards mean activation rho."""

import numpy as np
from keras import ops

from aecli.config.model import SparsityPenalty
from aecli.models import losses
from aecli.models.autoencoder import Autoencoder

# a sigmoid unit counts as "on" above its midpoint
UNIT_ON = 0.5


class SparseAutoencoder(Autoencoder):
    """loss = recon + weight * penalty, penalty = sum_j KL(rho || rho_hat_j) or the batch mean of
    sum_j |h_j|.

    rho_hat_j is unit j's mean activation over the batch, the chapter's estimate of its
    average over the training set.
    """

    loss_names = ("loss", "recon", "sparsity")
    code_activation = "sigmoid"

    def __init__(
        self, encoder, decoder, penalty=SparsityPenalty.kl, weight=1e-3, target_rho=0.05, **kwargs
    ):
        super().__init__(encoder, decoder, **kwargs)
        self.penalty = SparsityPenalty(penalty)
        self.weight = weight
        self.target_rho = target_rho

    @classmethod
    def family_arguments(cls, cfg, seed: int, dataset_size: int) -> dict:
        return dict(penalty=cfg.penalty, weight=cfg.sparsity_weight, target_rho=cfg.target_rho)

    def code_metrics(self, codes: np.ndarray) -> dict:
        """mean_activation, the code's mean over units and test examples; dead_fraction, the share
        of units never on (above UNIT_ON) for any test example."""
        return {
            "mean_activation": float(codes.mean()),
            "dead_fraction": float(np.mean(codes.max(axis=0) <= UNIT_ON)),
        }

    def generated_images(self, count: int) -> dict:
        """The decoded features of the first `count` code units (MLP codes)."""
        if len(self.code_shape) != 1:
            return {}
        return {"decoder_features": np.asarray(self.code_features())[:count]}

    def sparsity(self, code):
        if self.penalty == SparsityPenalty.kl:
            return losses.sparsity_kl(self.target_rho, ops.mean(code, axis=0))
        return ops.mean(losses.l1_activity_per_example(code))

    def code_features(self):
        """What each code unit adds to the decoded mean: g(e_j) - g(0) for unit basis vectors e_j
        (a unit fully on, the rest off). For a one-layer decoder this is the chapter's picture of
        a unit's weights through the output sigmoid; for deeper ones it still shows each unit's own
        contribution, which a raw weight matrix of an inner layer cannot."""
        units = self.decoder.input_shape[-1]
        basis = ops.concatenate([ops.zeros((1, units)), ops.eye(units)], axis=0)
        decoded = self.decoded_mean(self.decoder(basis))
        features = decoded[1:] - decoded[:1]
        low = ops.min(features, axis=tuple(range(1, len(features.shape))), keepdims=True)
        high = ops.max(features, axis=tuple(range(1, len(features.shape))), keepdims=True)
        return (features - low) / ops.maximum(high - low, 1e-8)

    def loss_terms(self, x_in, x_clean, training=False):
        code = self.encoder(x_in, training=training)
        recon = ops.mean(self.reconstruction_nll(x_clean, self.decoder(code, training=training)))
        sparsity = self.sparsity(code)
        return {"loss": recon + self.weight * sparsity, "recon": recon, "sparsity": sparsity}
