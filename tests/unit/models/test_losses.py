"""The loss functions against the chapter's worked examples and independent NumPy formulas."""

import numpy as np
import pytest
import tensorflow as tf

from aecli.models import losses

RNG = np.random.default_rng(7)


def test_mse_matches_worked_example_1():
    x = np.array([[0.8, 0.3, 0.9, 0.1]], np.float32)
    x_hat = np.array([[0.75, 0.35, 0.85, 0.15]], np.float32)
    assert float(losses.mse(x, x_hat)[0]) == pytest.approx(0.0025, abs=1e-6)


def test_bce_matches_worked_example_1():
    x = np.array([[0.8, 0.3, 0.9, 0.1]], np.float32)
    x_hat = np.array([[0.75, 0.35, 0.85, 0.15]], np.float32)
    assert float(losses.bce(x, x_hat)[0]) == pytest.approx(0.4490, abs=5e-5)


def test_gaussian_kl_matches_worked_example_2():
    mean = np.array([[0.5, -0.3]], np.float32)
    log_var = np.array([[-0.2, 0.1]], np.float32)
    assert float(losses.gaussian_kl_per_example(mean, log_var)[0]) == pytest.approx(
        0.1820, abs=5e-5
    )


def test_sparsity_kl_matches_worked_example_3():
    assert float(losses.sparsity_kl(0.05, np.array([0.3], np.float32))) == pytest.approx(
        0.2005, abs=5e-5
    )


def test_reparameterization_matches_worked_example_4():
    mean, std, eps = tf.Variable(2.0), tf.Variable(0.5), tf.constant(1.3)
    with tf.GradientTape() as tape:
        z = losses.reparameterize(mean, std, eps)
    dz_dmean, dz_dstd = tape.gradient(z, [mean, std])
    assert float(z) == pytest.approx(2.65)
    assert float(dz_dmean) == pytest.approx(1.0)
    assert float(dz_dstd) == pytest.approx(1.3)


def test_bernoulli_nll_from_logits_equals_numpy_bce_summed_over_dims():
    x = RNG.random((5, 3, 4)).astype(np.float32)
    logits = RNG.normal(0, 3, (5, 3, 4)).astype(np.float32)
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(5, -1).sum(axis=1)
    np.testing.assert_allclose(losses.bernoulli_nll_per_example(x, logits), expected, rtol=1e-5)


def test_bernoulli_nll_stays_finite_for_extreme_logits():
    x = np.array([[0.0, 1.0, 0.0, 1.0]], np.float32)
    logits = np.array([[200.0, -200.0, -200.0, 200.0]], np.float32)
    value = float(losses.bernoulli_nll_per_example(x, logits)[0])
    assert value == pytest.approx(400.0, rel=1e-5)


def test_gaussian_nll_equals_numpy_log_density():
    x = RNG.random((4, 6)).astype(np.float32)
    mean = RNG.random((4, 6)).astype(np.float32)
    std = 0.3
    log_density = -0.5 * ((x - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(
        losses.gaussian_nll_per_example(x, mean, std), -log_density.sum(axis=1), rtol=1e-5
    )


def test_gaussian_kl_equals_numpy_integral_formula():
    mean = RNG.normal(size=(8, 5)).astype(np.float32)
    log_var = RNG.normal(size=(8, 5)).astype(np.float32)
    var = np.exp(log_var.astype(np.float64))
    # KL(N(m, v) || N(0, 1)) = 1/2 (v + m^2 - 1 - ln v), per dimension
    expected = 0.5 * (var + mean**2 - 1 - np.log(var)).sum(axis=1)
    np.testing.assert_allclose(losses.gaussian_kl_per_example(mean, log_var), expected, rtol=1e-5)


def test_gaussian_kl_is_zero_only_at_the_prior():
    zeros = np.zeros((1, 3), np.float32)
    assert float(losses.gaussian_kl_per_example(zeros, zeros)[0]) == pytest.approx(0.0, abs=1e-7)
    assert float(losses.gaussian_kl_per_example(zeros + 0.1, zeros)[0]) > 0


def test_sparsity_kl_equals_numpy_and_vanishes_at_target():
    rho_hat = RNG.uniform(0.01, 0.99, 10).astype(np.float32)
    expected = np.sum(0.05 * np.log(0.05 / rho_hat) + 0.95 * np.log(0.95 / (1 - rho_hat)))
    assert float(losses.sparsity_kl(0.05, rho_hat)) == pytest.approx(expected, rel=1e-5)
    assert float(losses.sparsity_kl(0.05, np.full(4, 0.05, np.float32))) == pytest.approx(
        0.0, abs=1e-6
    )


def test_mse_and_bce_equal_numpy_on_random_inputs():
    x = RNG.random((6, 10)).astype(np.float32)
    p = RNG.uniform(0.05, 0.95, (6, 10)).astype(np.float32)
    np.testing.assert_allclose(losses.mse(x, p), ((x - p) ** 2).mean(axis=1), rtol=1e-5)
    expected_bce = -(x * np.log(p) + (1 - x) * np.log(1 - p)).mean(axis=1)
    np.testing.assert_allclose(losses.bce(x, p), expected_bce, rtol=1e-5)


def test_l1_activity_and_psnr_equal_numpy():
    code = RNG.normal(size=(3, 7)).astype(np.float32)
    np.testing.assert_allclose(
        losses.l1_activity_per_example(code), np.abs(code).sum(axis=1), rtol=1e-6
    )
    assert float(losses.psnr_db(0.01)) == pytest.approx(20.0)


def test_losses_are_float32_for_float16_inputs():
    x = np.full((2, 4), 0.5, np.float16)
    logits = np.zeros((2, 4), np.float16)
    assert losses.bernoulli_nll_per_example(x, logits).dtype == "float32"
    assert losses.gaussian_kl_per_example(x, logits).dtype == "float32"
