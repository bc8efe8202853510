"""Model behaviour: beta's reach, shapes of encoder/decoder, mixed precision dtypes, loss terms."""

import keras
import numpy as np
import pytest

from aecli.config.model import Architecture, AutoencoderConfig, Likelihood, SparseConfig, VAEConfig
from aecli.errors import ConfigError
from aecli.models import VAE, SparseAutoencoder, build_model

RNG = np.random.default_rng(0)
IMAGES = RNG.random((16, 28, 28, 1)).astype(np.float32)


def _terms_with_beta(model, beta, x):
    """Loss terms of the same batch with the same sampling noise, for a given beta."""
    model.beta.assign(beta)
    model.seed_generator.state.assign(np.array([0, 0], dtype=model.seed_generator.state.dtype))
    return {name: float(value) for name, value in model.loss_terms(x, x, training=False).items()}


def test_beta_scales_only_the_kl_term():
    model = build_model(VAEConfig(name="vae", hidden_units=[32], latent_dim=4), (28, 28, 1), seed=3)
    plain, heavy = _terms_with_beta(model, 0.0, IMAGES), _terms_with_beta(model, 4.0, IMAGES)
    assert heavy["recon"] == pytest.approx(plain["recon"], rel=1e-6)
    assert heavy["kl"] == pytest.approx(plain["kl"], rel=1e-6)
    assert heavy["kl"] > 0
    assert heavy["loss"] - plain["loss"] == pytest.approx(4.0 * plain["kl"], rel=1e-4)
    assert plain["loss"] == pytest.approx(plain["recon"], rel=1e-6)


@pytest.mark.parametrize("architecture", [Architecture.mlp, Architecture.conv])
def test_encoder_and_decoder_are_separate_models_with_matching_shapes(architecture):
    cfg = VAEConfig(name="vae", architecture=architecture, hidden_units=[32], conv_filters=[8, 16], latent_dim=3)
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


def test_gaussian_likelihood_reconstruction_is_the_decoder_mean():
    cfg = AutoencoderConfig(name="vanilla", hidden_units=[16], latent_dim=2, likelihood=Likelihood.gaussian)
    model = build_model(cfg, (5,), seed=0)
    x = RNG.random((4, 5)).astype(np.float32)
    np.testing.assert_allclose(model.reconstruct(x), model.decoder(model.encoder(x)), rtol=1e-6)


def test_sparse_model_reports_its_penalty_and_adds_it_weighted():
    cfg = SparseConfig(name="sparse", hidden_units=[16], latent_dim=8, sparsity_weight=0.5)
    model = build_model(cfg, (28, 28, 1), seed=0)
    assert isinstance(model, SparseAutoencoder)
    terms = {k: float(v) for k, v in model.loss_terms(IMAGES, IMAGES).items()}
    assert terms["sparsity"] > 0
    assert terms["loss"] == pytest.approx(terms["recon"] + 0.5 * terms["sparsity"], rel=1e-5)


def test_mixed_precision_keeps_log_variance_and_losses_float32():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model(VAEConfig(name="vae", hidden_units=[16], latent_dim=2), (28, 28, 1), seed=0)
        mean, log_var = model.encoder(IMAGES)
        assert log_var.dtype == "float32" and mean.dtype == "float32"
        assert model.decoder(mean).dtype == "float32"
        terms = model.loss_terms(IMAGES, IMAGES)
        assert all(value.dtype == "float32" for value in terms.values())
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_vae_sampling_is_seeded():
    first = build_model(VAEConfig(name="vae", hidden_units=[8], latent_dim=2), (28, 28, 1), seed=5)
    assert isinstance(first, VAE)
    a = np.asarray(first.sample_posterior(np.zeros((3, 2), np.float32), np.zeros((3, 2), np.float32)))
    first.seed_generator.state.assign(np.array([5, 0], dtype=first.seed_generator.state.dtype))
    b = np.asarray(first.sample_posterior(np.zeros((3, 2), np.float32), np.zeros((3, 2), np.float32)))
    np.testing.assert_array_equal(a, b)


def test_vae_noise_is_standard_normal_and_seeded_under_xla():
    """Philox under XLA draws its own stream (not eager's), but the same one from the same seed state."""
    import tensorflow as tf

    from aecli.models.vae import standard_normal

    generator = keras.random.SeedGenerator(7)
    start = np.asarray(generator.state.value)
    draw = tf.function(lambda: standard_normal((4096, 16), generator), jit_compile=True)
    first = np.asarray(draw())
    assert abs(first.mean()) < 0.01 and abs(first.std() - 1.0) < 0.01
    assert not np.array_equal(np.asarray(draw()), first)  # the state moved on
    generator.state.assign(start)
    np.testing.assert_array_equal(np.asarray(draw()), first)
