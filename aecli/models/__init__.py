"""Model families, built from their config: each config dataclass maps to one keras.Model class."""

import logging
import math

from aecli.config.schema import ContractiveConfig, ModelConfig, NoiseType, SparseConfig, VAEConfig
from aecli.models.autoencoder import Autoencoder
from aecli.models.contractive import ContractiveAutoencoder
from aecli.models.networks import build_decoder, build_encoder
from aecli.models.sparse import SparseAutoencoder
from aecli.models.vae import VAE

log = logging.getLogger(__name__)


def warn_if_overcomplete(cfg: ModelConfig, input_shape) -> None:
    """Chapter 4.2: a code at least as wide as the input, with nothing else to stop it, can learn the identity."""
    unregularized = type(cfg) is ModelConfig and cfg.noise.type == NoiseType.none
    if unregularized and cfg.latent_dim >= math.prod(input_shape):
        log.warning(
            "model.latent_dim=%d >= input dimension %d with no regularizer: this overcomplete autoencoder can "
            "learn the identity and reconstruct perfectly without learning features. Add one (model=sparse, "
            "model=contractive, or model.noise.type=gaussian) or shrink model.latent_dim.",
            cfg.latent_dim, math.prod(input_shape))


def build_model(cfg: ModelConfig, input_shape, beta: float, seed: int) -> Autoencoder:
    """The keras.Model for `cfg`, with fresh encoder and decoder networks for data of `input_shape`."""
    warn_if_overcomplete(cfg, input_shape)
    if isinstance(cfg, VAEConfig):
        encoder = build_encoder(cfg, input_shape, gaussian=True)
    else:
        code_activation = "sigmoid" if isinstance(cfg, (SparseConfig, ContractiveConfig)) else None
        encoder = build_encoder(cfg, input_shape, gaussian=False, code_activation=code_activation)
    common = dict(encoder=encoder, decoder=build_decoder(cfg, input_shape), likelihood=cfg.likelihood,
                  decoder_std=cfg.decoder_std, name=cfg.name)
    if isinstance(cfg, VAEConfig):
        return VAE(beta=beta, seed=seed, free_bits=cfg.free_bits,
                   capacity_gamma=cfg.capacity_gamma if cfg.capacity_max > 0 else None, **common)
    if isinstance(cfg, SparseConfig):
        return SparseAutoencoder(penalty=cfg.penalty, weight=cfg.sparsity_weight, target_rho=cfg.target_rho,
                                 **common)
    if isinstance(cfg, ContractiveConfig):
        return ContractiveAutoencoder(weight=cfg.contractive_weight, **common)
    return Autoencoder(**common)


__all__ = ["Autoencoder", "ContractiveAutoencoder", "SparseAutoencoder", "VAE", "build_model"]
