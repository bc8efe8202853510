"""Model families: each config dataclass (aecli/config/model.py) maps to one keras.Model class.

Adding a family is one config dataclass, one module here with its model class, one entry in
MODELS, one YAML in conf/model/ and its tests; what differs by family is asked of the model
through its hooks (aecli/models/autoencoder.py), never by testing its type elsewhere.
"""

import logging
import math

from aecli.config.model import (
    AutoencoderConfig,
    BaseModelConfig,
    BetaTCVAEConfig,
    ContractiveConfig,
    DIPVAEConfig,
    FactorVAEConfig,
    NoiseType,
    SparseConfig,
    VAEConfig,
)
from aecli.models.autoencoder import Autoencoder
from aecli.models.beta_tcvae import BetaTCVAE
from aecli.models.contractive import ContractiveAutoencoder
from aecli.models.dip_vae import DIPVAE
from aecli.models.factor_vae import FactorVAE
from aecli.models.sparse import SparseAutoencoder
from aecli.models.vae import VAE

log = logging.getLogger(__name__)

MODELS: dict[type[BaseModelConfig], type[Autoencoder]] = {
    AutoencoderConfig: Autoencoder,
    VAEConfig: VAE,
    BetaTCVAEConfig: BetaTCVAE,
    FactorVAEConfig: FactorVAE,
    DIPVAEConfig: DIPVAE,
    SparseConfig: SparseAutoencoder,
    ContractiveConfig: ContractiveAutoencoder,
}


def warn_if_overcomplete(cfg: BaseModelConfig, input_shape) -> None:
    """Chapter 4.2: a code at least as wide as the input, with nothing else to stop it, can learn
    the identity."""
    unregularized = type(cfg) is AutoencoderConfig and cfg.noise.type == NoiseType.none
    if unregularized and cfg.latent_dim >= math.prod(input_shape):
        log.warning(
            "model.latent_dim=%d >= input dimension %d with no regularizer: this overcomplete "
            "autoencoder can learn the identity and reconstruct perfectly without learning "
            "features. Add one (model=sparse, model=contractive, or model.noise.type=gaussian) or "
            "shrink model.latent_dim.",
            cfg.latent_dim,
            math.prod(input_shape),
        )


def build_model(cfg: BaseModelConfig, input_shape, seed: int, dataset_size: int = 0) -> Autoencoder:
    """The keras.Model for `cfg`, with fresh networks for data of `input_shape`; `dataset_size`
    (training examples) is for families whose estimators need it."""
    return MODELS[type(cfg)].from_model_config(
        cfg, input_shape, seed=seed, dataset_size=dataset_size
    )


__all__ = [
    "MODELS",
    "Autoencoder",
    "BetaTCVAE",
    "ContractiveAutoencoder",
    "DIPVAE",
    "FactorVAE",
    "SparseAutoencoder",
    "VAE",
    "build_model",
    "warn_if_overcomplete",
]
