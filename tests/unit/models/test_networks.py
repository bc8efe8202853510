"""Encoder and decoder networks: shapes, and the conv configurations they refuse."""

import numpy as np
import pytest

from aecli.config.model import Architecture, AutoencoderConfig, VAEConfig
from aecli.errors import ConfigError
from aecli.models import build_model

RNG = np.random.default_rng(0)
IMAGES = RNG.random((16, 28, 28, 1)).astype(np.float32)


@pytest.mark.parametrize("architecture", [Architecture.mlp, Architecture.conv])
def test_encoder_and_decoder_are_separate_models_with_matching_shapes(architecture):
    cfg = VAEConfig(
        name="vae", architecture=architecture, hidden_units=[32], conv_filters=[8, 16], latent_dim=3
    )
    model = build_model(cfg, (28, 28, 1), seed=0)
    mean, log_var = model.encoder(IMAGES)
    assert mean.shape == log_var.shape == (16, 3)
    assert model.decoder(mean).shape == (16, 28, 28, 1)
    reconstruction = np.asarray(model.reconstruct(IMAGES))
    assert reconstruction.min() >= 0 and reconstruction.max() <= 1


def test_conv_on_vectors_is_a_config_error_naming_the_key():
    cfg = AutoencoderConfig(name="vanilla", architecture=Architecture.conv)
    with pytest.raises(ConfigError, match="model.architecture=conv"):
        build_model(cfg, (4,), seed=0)


def test_conv_filters_that_do_not_divide_the_image_are_rejected():
    cfg = AutoencoderConfig(name="vanilla", architecture=Architecture.conv, conv_filters=[8, 8, 8])
    with pytest.raises(ConfigError, match="model.conv_filters"):
        build_model(cfg, (28, 28, 1), seed=0)
