"""Model families, built from their config: each config dataclass maps to one keras.Model class."""

from aecli.config.schema import ModelConfig, SparseConfig, VAEConfig
from aecli.models.autoencoder import Autoencoder
from aecli.models.networks import build_decoder, build_encoder
from aecli.models.sparse import SparseAutoencoder
from aecli.models.vae import VAE


def build_model(cfg: ModelConfig, input_shape, beta: float, seed: int) -> Autoencoder:
    """The keras.Model for `cfg`, with fresh encoder and decoder networks for data of `input_shape`."""
    if isinstance(cfg, VAEConfig):
        encoder = build_encoder(cfg, input_shape, gaussian=True)
    else:
        code_activation = "sigmoid" if isinstance(cfg, SparseConfig) else None
        encoder = build_encoder(cfg, input_shape, gaussian=False, code_activation=code_activation)
    common = dict(encoder=encoder, decoder=build_decoder(cfg, input_shape), likelihood=cfg.likelihood,
                  decoder_std=cfg.decoder_std, name=cfg.name)
    if isinstance(cfg, VAEConfig):
        return VAE(beta=beta, seed=seed, **common)
    if isinstance(cfg, SparseConfig):
        return SparseAutoencoder(penalty=cfg.penalty, weight=cfg.sparsity_weight, target_rho=cfg.target_rho,
                                 **common)
    return Autoencoder(**common)


__all__ = ["Autoencoder", "SparseAutoencoder", "VAE", "build_model"]
