"""DIP-VAE: its covariance penalties against worked examples and NumPy, and the model's
objective."""

import numpy as np
import pytest

from aecli.config.model import DIPType, DIPVAEConfig
from aecli.models import DIPVAE, build_model, losses

# a code whose batch covariance (normalised by M) is exactly SIGMA
SIGMA = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, -0.3], [0.0, -0.3, 0.5]])


def _code_with_covariance(sigma, m=64, seed=0):
    """M rows whose population covariance is `sigma` to float64 precision: random rows, centred
    and whitened, then coloured by sigma's Cholesky factor; shifted, since a mean must not
    matter."""
    rows = np.random.default_rng(seed).normal(size=(m, len(sigma)))
    rows -= rows.mean(axis=0)
    white = rows @ np.linalg.inv(np.linalg.cholesky(rows.T @ rows / m)).T
    return white @ np.linalg.cholesky(sigma).T + np.array([3.0, -1.0, 0.5])


def _np_penalty(cov, lambda_od, lambda_d):
    """disentanglement_lib's `regularize_diag_off_diag_dip`, in NumPy."""
    off = cov - np.diag(np.diag(cov))
    return lambda_od * np.sum(off**2) + lambda_d * np.sum((np.diag(cov) - 1) ** 2)


def test_dip_i_penalises_the_covariance_of_the_means_by_its_distance_from_identity():
    mean = _code_with_covariance(SIGMA).astype(np.float32)
    cov = np.asarray(losses.dip_covariance(mean, np.zeros_like(mean), "i"))
    np.testing.assert_allclose(cov, SIGMA, atol=1e-5)
    # off-diagonal: 2 * (0.5^2 + 0.3^2) = 0.68; diagonal: (2-1)^2 + 0 + (0.5-1)^2 = 1.25
    assert float(losses.dip_penalty(cov, 2.0, 20.0)) == pytest.approx(2 * 0.68 + 20 * 1.25, 1e-5)


def test_dip_ii_adds_the_mean_posterior_variance_to_the_diagonal():
    rng = np.random.default_rng(1)
    mean = rng.normal(size=(50, 4)) @ rng.normal(size=(4, 4))
    log_var = rng.normal(-1.0, 0.5, size=(50, 4))
    expected = np.cov(mean, rowvar=False, bias=True) + np.diag(np.exp(log_var).mean(axis=0))
    cov = np.asarray(losses.dip_covariance(mean.astype("f4"), log_var.astype("f4"), "ii"))
    np.testing.assert_allclose(cov, expected, rtol=1e-4, atol=1e-5)
    assert float(losses.dip_penalty(cov, 3.0, 7.0)) == pytest.approx(
        _np_penalty(expected, 3.0, 7.0), rel=1e-4
    )
    # a code with the prior's moments costs nothing
    assert float(losses.dip_penalty(np.eye(4, dtype="f4"), 3.0, 7.0)) == 0.0


def test_lambda_d_defaults_to_disentanglement_libs_factor_of_each_variant():
    assert DIPVAEConfig(name="dip_vae", lambda_od=5.0).diagonal_weight == 50.0
    assert DIPVAEConfig(name="dip_vae", dip_type=DIPType.ii, lambda_od=5.0).diagonal_weight == 5.0
    assert DIPVAEConfig(name="dip_vae", lambda_od=5.0, lambda_d=1.0).diagonal_weight == 1.0


def test_the_objective_is_the_vaes_plus_the_penalty():
    cfg = DIPVAEConfig(name="dip_vae", dip_type=DIPType.ii, hidden_units=[16], latent_dim=3)
    model = build_model(cfg, (12,), seed=0)
    assert isinstance(model, DIPVAE) and (model.lambda_od, model.lambda_d) == (10.0, 10.0)
    x = np.random.default_rng(2).random((32, 12)).astype("f4")
    terms = {name: float(value) for name, value in model.loss_terms(x, x).items()}
    mean, log_var = model.posterior(x)
    cov = np.cov(np.asarray(mean), rowvar=False, bias=True) + np.diag(
        np.exp(np.asarray(log_var)).mean(axis=0)
    )
    assert terms["dip"] == pytest.approx(_np_penalty(cov, 10.0, 10.0), rel=1e-4)
    assert terms["loss"] == pytest.approx(terms["recon"] + terms["kl_penalty"] + terms["dip"])
