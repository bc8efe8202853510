"""The VAE: beta, free bits, capacity, mixed precision and seeded sampling."""

import keras
import numpy as np
import pytest

from aecli.config.model import VAEConfig
from aecli.models import VAE, build_model, losses

RNG = np.random.default_rng(1)


def test_free_bits_never_let_a_dimension_fall_below_its_floor():
    kl_per_dim = np.array([0.01, 0.2, 3.0], np.float32)
    assert float(losses.free_bits_kl(kl_per_dim, 0.5)) == pytest.approx(0.5 + 0.5 + 3.0)
    for values in RNG.uniform(0, 2, (20, 4)).astype(np.float32):
        assert float(losses.free_bits_kl(values, 0.7)) >= 4 * 0.7 - 1e-6


def test_capacity_penalty_pulls_kl_to_the_target():
    assert float(losses.capacity_penalty(12.0, 10.0, 100.0)) == pytest.approx(200.0)
    assert float(losses.capacity_penalty(8.0, 10.0, 100.0)) == pytest.approx(200.0)


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


def test_mixed_precision_keeps_log_variance_and_losses_float32():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model(
            VAEConfig(name="vae", hidden_units=[16], latent_dim=2), (28, 28, 1), seed=0
        )
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
    a = np.asarray(
        first.sample_posterior(np.zeros((3, 2), np.float32), np.zeros((3, 2), np.float32))
    )
    first.seed_generator.state.assign(np.array([5, 0], dtype=first.seed_generator.state.dtype))
    b = np.asarray(
        first.sample_posterior(np.zeros((3, 2), np.float32), np.zeros((3, 2), np.float32))
    )
    np.testing.assert_array_equal(a, b)


def test_vae_noise_is_standard_normal_and_seeded_under_xla():
    """Philox under XLA draws its own stream (not eager's), but the same one from the same seed
    state."""
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


def test_kl_per_dimension_is_the_closed_form_averaged_over_all_inputs():
    """test_kl_per_dim and the per-epoch kl_per_dim/z<j>: each dimension's
    KL(N(mu, sigma^2) || N(0, 1)) = 1/2 (mu^2 + sigma^2 - 1 - log sigma^2), a plain mean over the
    inputs, whatever the batches they are encoded in (here 16 inputs in batches of 5, 5, 5, 1)."""
    model = build_model(VAEConfig(name="vae", hidden_units=[16], latent_dim=3), (28, 28, 1), seed=2)
    mean, log_var = (np.asarray(part, np.float64) for part in model.encoder(IMAGES))
    expected = (0.5 * (mean**2 + np.exp(log_var) - 1.0 - log_var)).mean(axis=0)
    np.testing.assert_allclose(model.kl_per_dimension(IMAGES, batch=5), expected, rtol=1e-5)
    reported = model.posterior_metrics(IMAGES)["test_kl_per_dim"]
    np.testing.assert_allclose(reported, expected, rtol=1e-5)
    per_epoch = model.epoch_scalars(IMAGES)
    assert list(per_epoch) == ["kl_per_dim/z0", "kl_per_dim/z1", "kl_per_dim/z2"]
    np.testing.assert_allclose(list(per_epoch.values()), expected, rtol=1e-5)
    # the dimension's share of the total: the sum is the closed-form KL the loss averages
    total = float(model.loss_terms(IMAGES, IMAGES)["kl"])
    assert sum(reported) == pytest.approx(total, rel=1e-5)
