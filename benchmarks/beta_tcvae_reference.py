"""Chen et al.'s beta-TCVAE training objective in PyTorch, ported for the throughput benchmark.

Source: github.com/rtqichen/beta-tcvae at 1a3577d (2019-04-22), the code of "Isolating Sources of
Disentanglement in Variational Autoencoders" (Chen et al. 2018):
- vae_quant.py: `MLPEncoder` (4096-1200-1200-2d, ReLU) and `MLPDecoder` (d-1200-1200-1200-4096,
  tanh), `VAE.encode`, `decode`, `reconstruct_img`, `_log_importance_weight_matrix` and `elbo`
  with `tcvae=True`, `include_mutinfo=True`, `lamb=0` and `mss=True` (the published beta-TCVAE
  with its stratified estimator), and its own `logsumexp`;
- lib/dist.py: `Normal` (parameters (mu, log sigma), interleaved per dimension in the encoder's
  output) `sample` and `log_density`, and `Bernoulli` `log_density` and `sample`.
Its training loop (`main`: Adam at 1e-3, `-modified_elbo.mean()` minimised, the ELBO read back
every step) is throughput.py's PyTorch loop.

Changed from the released code:
- `_log_importance_weight_matrix`: the released code writes 1/N at strides of M + 1 = B through
  the flattened B x B matrix (`W.view(-1)[::M+1]`), which fills column 0 instead of the diagonal,
  and the stratum weight (N - M) / (N M) down column 1 instead of beside the diagonal (pull
  request #1 of that repository); its wrap-around entry `W[M - 1, 0]` belongs to the last row,
  `W[M, 0]`. Here the diagonal is 1/N and one entry of every row the stratum weight, as the
  paper's appendix defines the estimator: each row sums to 1. The fix changes values, not cost.
- `Variable`, `.cuda()` and `.data[0]` are gone (current PyTorch); MLPEncoder's `conv_z`, a layer
  the MLP never calls, is left out.
- `released=False` (throughput.py's tuned variants) drops work that does not reach the loss or
  its gradient: `decode`'s Bernoulli draw of an image (nothing reads it) and the hand-written
  logsumexp for `torch.logsumexp`. The math is the same.

The (M, M, d) layout of the pairwise densities is the released code's; aecli lays them out
(d, M, M) (docs/speed.md).
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

EPS = 1e-8  # lib/dist.py's eps
LOG_2PI = math.log(2 * math.pi)
IMAGE = 64


def normal_log_density(sample, mu, logsigma):
    """lib/dist.py Normal.log_density: log N(sample; mu, exp(logsigma)^2) elementwise."""
    tmp = (sample - mu) * torch.exp(-logsigma)
    return -0.5 * (tmp * tmp + 2 * logsigma + LOG_2PI)


def released_logsumexp(value, dim):
    """vae_quant.py's logsumexp (keepdim=False)."""
    m, _ = torch.max(value, dim=dim, keepdim=True)
    return m.squeeze(dim) + torch.log(torch.sum(torch.exp(value - m), dim=dim))


def log_importance_weight_matrix(batch_size, dataset_size):
    """vae_quant.py `_log_importance_weight_matrix` with its diagonal fixed (module docstring)."""
    n, m = dataset_size, batch_size - 1
    strat_weight = (n - m) / (n * m)
    w = torch.full((batch_size, batch_size), 1 / m)
    w.view(-1)[:: batch_size + 1] = 1 / n
    w.view(-1)[1 :: batch_size + 1] = strat_weight
    w[m, 0] = strat_weight
    return w.log()


class ReferenceBetaTCVAE(nn.Module):
    """`VAE(z_dim, tcvae=True, mss=True)` of vae_quant.py with its MLP networks on 64x64 images."""

    def __init__(self, dataset_size, beta=6.0, z_dim=10, released=True):
        super().__init__()
        self.dataset_size, self.beta, self.z_dim, self.released = (
            dataset_size,
            beta,
            z_dim,
            released,
        )
        self.encoder = nn.Sequential(
            nn.Linear(IMAGE * IMAGE, 1200),
            nn.ReLU(inplace=True),
            nn.Linear(1200, 1200),
            nn.ReLU(inplace=True),
            nn.Linear(1200, 2 * z_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(z_dim, 1200),
            nn.Tanh(),
            nn.Linear(1200, 1200),
            nn.Tanh(),
            nn.Linear(1200, 1200),
            nn.Tanh(),
            nn.Linear(1200, IMAGE * IMAGE),
        )

    def forward(self, x_in, x, noise=None):
        """The loss `main` minimises, -mean(modified_elbo), for images x (B, 1, 64, 64) in [0, 1]
        (`x_in`, the same images: throughput.py's loops pass an input and a target); `noise`: the
        N(0, 1) draws of the reparameterisation, drawn here when None."""
        return -self.modified_elbo(x, noise).mean()

    def modified_elbo(self, x, noise=None):
        batch = x.size(0)
        logsumexp = released_logsumexp if self.released else torch.logsumexp
        # encode: q(z|x) = N(mu, exp(logsigma)^2), parameters interleaved per dimension
        z_params = self.encoder(x.view(batch, -1)).view(batch, self.z_dim, 2)
        mu, logsigma = z_params.select(-1, 0), z_params.select(-1, 1)
        std_z = torch.randn_like(mu) if noise is None else noise
        zs = std_z * torch.exp(logsigma) + mu
        # decode: Bernoulli logits of p(x|z)
        x_params = self.decoder(zs).view(batch, 1, IMAGE, IMAGE)
        if self.released:  # Bernoulli.sample of an image, as decode draws one (nothing reads it)
            u = torch.rand_like(x_params)
            logistic = torch.log(u + EPS) - torch.log(1 - u + EPS)
            _image = (F.logsigmoid(x_params) - F.logsigmoid(-x_params) + logistic >= 0).float()
        p = (torch.sigmoid(x_params) + EPS) * (1 - 2 * EPS)
        logpx = (x * torch.log(p + EPS) + (1 - x) * torch.log(1 - p + EPS)).view(batch, -1).sum(1)
        logpz = normal_log_density(zs, torch.zeros_like(zs), torch.zeros_like(zs)).sum(1)
        logqz_condx = normal_log_density(zs, mu, logsigma).sum(1)
        # log q(z_i | x_k) of every sample i under every posterior k, per dimension: (M, M, d)
        _logqz = normal_log_density(zs.view(batch, 1, self.z_dim), mu[None], logsigma[None])
        logiw_matrix = log_importance_weight_matrix(batch, self.dataset_size).type_as(_logqz)
        logqz = logsumexp(logiw_matrix + _logqz.sum(2), dim=1)
        logqz_prodmarginals = logsumexp(logiw_matrix.view(batch, batch, 1) + _logqz, dim=1).sum(1)
        return (
            logpx
            - (logqz_condx - logqz)
            - self.beta * (logqz - logqz_prodmarginals)
            - (logqz_prodmarginals - logpz)
        )
