"""beta-TCVAE (Chen et al. 2018, "Isolating Sources of Disentanglement in Variational
Autoencoders"): the VAE's KL split into index-code MI + total correlation + dimension-wise KL,
with beta weighting only the total correlation."""

from keras import ops

from aecli.models import losses
from aecli.models.vae import VAE


class BetaTCVAE(VAE):
    """loss = recon + MI + beta * TC + dimension-wise KL (the paper's alpha = gamma = 1).

    MI, TC and the dimension-wise KL are `losses.tc_decomposition` of the batch's samples
    z ~ q(z|x) (nats, batch means), which needs the training set's size N (`dataset_size`) for
    its estimate of the aggregate posterior q(z). `kl` stays the closed-form KL(q(z|x) || N(0, I))
    averaged over the batch, as the VAE logs it; `kl_penalty` is MI + beta * TC + dim-wise KL,
    the objective's part besides recon. With beta = 1 the objective is the -ELBO up to the
    estimator's Monte Carlo noise. Free bits and capacity act on the whole KL and are not
    defined for this decomposition: passing them is an error.
    """

    loss_names = ("loss", "recon", "kl", "mi", "tc", "dimwise_kl", "kl_penalty")

    def __init__(
        self,
        encoder,
        decoder,
        beta=1.0,
        seed=0,
        dataset_size=None,
        free_bits=0.0,
        capacity_gamma=None,
        estimator="mss",
        **kwargs,
    ):
        if free_bits or capacity_gamma:
            raise ValueError(
                f"beta-TCVAE does not support free bits or capacity (got free_bits={free_bits}, "
                f"capacity_gamma={capacity_gamma}): they bound the whole KL, which beta-TCVAE "
                "splits into MI, total correlation and dimension-wise KL. Leave them unset."
            )
        if dataset_size is None or int(dataset_size) < 2:
            raise ValueError(
                f"beta-TCVAE needs dataset_size, the number of training examples "
                f"(at least 2), to estimate q(z); got {dataset_size!r}"
            )
        if estimator not in ("mss", "mws"):
            raise ValueError(f"estimator must be 'mss' or 'mws', got {estimator!r}")
        super().__init__(encoder, decoder, beta=beta, seed=seed, **kwargs)
        self.dataset_size = int(dataset_size)
        self.estimator = estimator

    @classmethod
    def family_arguments(cls, cfg, seed: int, dataset_size: int) -> dict:
        return dict(
            beta=cfg.beta, seed=seed, dataset_size=dataset_size, estimator=cfg.tc_estimator.value
        )

    def loss_terms(self, x_in, x_clean, training=False):
        mean, log_var = self.posterior(x_in, training=training)
        z = self.sample_posterior(mean, log_var)
        recon = ops.mean(self.reconstruction_nll(x_clean, self.decoder(z, training=training)))
        kl = ops.sum(ops.mean(losses.gaussian_kl_per_dim(mean, log_var), axis=0))
        mi, tc, dimwise_kl = losses.tc_decomposition(
            z, mean, log_var, self.dataset_size, self.estimator
        )
        penalty = mi + self.beta * tc + dimwise_kl
        return {
            "loss": recon + penalty,
            "recon": recon,
            "kl": kl,
            "mi": mi,
            "tc": tc,
            "dimwise_kl": dimwise_kl,
            "kl_penalty": penalty,
        }
