"""Encoder and decoder networks: shapes, and the conv configurations they refuse."""

import numpy as np
import pytest

from aecli.config.model import Activation, Architecture, AutoencoderConfig, VAEConfig
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


def test_an_mlp_decoder_can_differ_from_the_mirror_of_its_encoder():
    """Chen et al. (2018)'s dSprites networks: a ReLU encoder and a deeper tanh decoder."""
    cfg = VAEConfig(
        name="vae",
        hidden_units=[32, 24],
        decoder_hidden_units=[20, 30, 40],
        decoder_activation=Activation.tanh,
        latent_dim=3,
    )
    model = build_model(cfg, (28, 28, 1), seed=0)
    dense = [layer for layer in model.decoder.layers if layer.name != "x_params"]
    hidden = [layer for layer in dense if hasattr(layer, "units")]
    assert [layer.units for layer in hidden] == [20, 30, 40]
    assert {layer.activation.__name__ for layer in hidden} == {"tanh"}
    encoder = [layer for layer in model.encoder.layers if hasattr(layer, "units")]
    assert [layer.units for layer in encoder][:2] == [32, 24]
    assert {layer.activation.__name__ for layer in encoder[:2]} == {"relu"}
    assert model.decoder(np.zeros((2, 3), np.float32)).shape == (2, 28, 28, 1)
    mirrored = VAEConfig(name="vae", hidden_units=[32, 24], latent_dim=3)
    assert mirrored.decoder_units == [24, 32]


def test_conv_on_vectors_is_a_config_error_naming_the_key():
    cfg = AutoencoderConfig(name="vanilla", architecture=Architecture.conv)
    with pytest.raises(ConfigError, match="model.architecture=conv"):
        build_model(cfg, (4,), seed=0)


def test_conv_filters_that_do_not_divide_the_image_are_rejected():
    cfg = AutoencoderConfig(name="vanilla", architecture=Architecture.conv, conv_filters=[8, 8, 8])
    with pytest.raises(ConfigError, match="model.conv_filters"):
        build_model(cfg, (28, 28, 1), seed=0)
