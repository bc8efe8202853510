"""DIP-VAE (Kumar et al. 2018, "Variational Inference of Disentangled Latent Concepts from
Unlabeled Observations"), as disentanglement_lib's `DIPVAE` (methods/unsupervised/vae.py)."""

from aecli.config.model import DIPType
from aecli.models import losses
from aecli.models.vae import VAE


class DIPVAE(VAE):
    """loss = the VAE's objective + lambda_od * sum_{i != j} C_ij^2 + lambda_d * sum_i (C_ii - 1)^2,
    C the batch covariance of the posterior means (dip_type i, eq. 6) or of q(z) (ii, eq. 7):
    matching the aggregate posterior's moments to the prior's N(0, I) decorrelates the code.

    `dip` is that penalty, weighted, on the training batch (M examples estimate C).
    """

    loss_names = ("loss", "recon", "kl", "dip", "kl_penalty")

    def __init__(self, encoder, decoder, dip_type="i", lambda_od=10.0, lambda_d=100.0, **kwargs):
        super().__init__(encoder, decoder, **kwargs)
        self.dip_type = DIPType(dip_type).value
        self.lambda_od, self.lambda_d = float(lambda_od), float(lambda_d)

    @classmethod
    def family_arguments(cls, cfg, seed: int, dataset_size: int) -> dict:
        return dict(
            super().family_arguments(cfg, seed, dataset_size),
            dip_type=cfg.dip_type,
            lambda_od=cfg.lambda_od,
            lambda_d=cfg.diagonal_weight,
        )

    def loss_terms(self, x_in, x_clean, training=False):
        terms, (mean, log_var, _) = self.elbo_terms(x_in, x_clean, training=training)
        cov = losses.dip_covariance(mean, log_var, self.dip_type)
        dip = losses.dip_penalty(cov, self.lambda_od, self.lambda_d)
        return {**terms, "loss": terms["loss"] + dip, "dip": dip}
