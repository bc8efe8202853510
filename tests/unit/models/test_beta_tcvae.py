"""beta-TCVAE: the KL decomposition's estimator and the model that weights its TC term."""

import math

import keras
import numpy as np
import pytest

from aecli.config.model import VAEConfig
from aecli.models import losses
from aecli.models.beta_tcvae import BetaTCVAE
from aecli.models.networks import build_decoder, build_encoder

RNG = np.random.default_rng(0)


def _batch(m, d, sd=0.3, correlated=False, seed=0):
    """Posterior means, log-variances and one sample each, float32."""
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=(m, d))
    if correlated:  # every dimension a copy of the first: the aggregate posterior is a line
        mean = np.repeat(mean[:, :1], d, axis=1)
    log_var = np.full((m, d), 2 * math.log(sd)) + 0.2 * rng.normal(size=(m, d))
    z = mean + np.exp(0.5 * log_var) * rng.normal(size=(m, d))
    return [a.astype(np.float32) for a in (z, mean, log_var)]


def _np_log_normal(z, mean, log_var):
    return -0.5 * (np.log(2 * np.pi) + log_var + (z - mean) ** 2 / np.exp(log_var))


def _np_logsumexp(a, axis):
    top = a.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.sum(np.exp(a - top), axis=axis))


def _np_tc_decomposition(z, mean, log_var, n, estimator):
    """Loop-by-loop reference: q(z_i) ~ sum_k w_ik q(z_i | x_k), per sample i."""
    z, mean, log_var = (a.astype(np.float64) for a in (z, mean, log_var))
    m, d = z.shape
    mi, tc, dimwise = [], [], []
    for i in range(m):
        if estimator == "mws":
            w = np.full(m, 1.0 / (n * m))
        else:
            w = np.full(m, (n - 1) / (n * (m - 1)))
            w[i] = 1.0 / n
        per_k = np.array([_np_log_normal(z[i], mean[k], log_var[k]) for k in range(m)])  # (m, d)
        log_q_joint = _np_logsumexp(np.log(w) + per_k.sum(axis=1), axis=0)
        log_q_marginals = sum(_np_logsumexp(np.log(w) + per_k[:, j], axis=0) for j in range(d))
        log_q_given_x = _np_log_normal(z[i], mean[i], log_var[i]).sum()
        log_p = _np_log_normal(z[i], 0.0, 0.0).sum()
        mi.append(log_q_given_x - log_q_joint)
        tc.append(log_q_joint - log_q_marginals)
        dimwise.append(log_q_marginals - log_p)
    return np.mean(mi), np.mean(tc), np.mean(dimwise)


def test_log_density_gaussian_matches_the_normal_density():
    z, mean, log_var = _batch(7, 3)
    np.testing.assert_allclose(
        losses.log_density_gaussian(z, mean, log_var),
        _np_log_normal(z, mean, log_var),
        rtol=1e-5,
        atol=1e-5,
    )
    # at its mean, a unit Gaussian's log density is -log(2 pi) / 2
    assert float(losses.log_density_gaussian(0.0, 0.0, 0.0)) == pytest.approx(
        -0.5 * math.log(2 * math.pi)
    )


@pytest.mark.parametrize("estimator", ["mss", "mws"])
def test_mi_tc_and_dimwise_kl_sum_to_the_sampled_kl(estimator):
    z, mean, log_var = _batch(64, 5, seed=1)
    terms = losses.tc_decomposition(z, mean, log_var, dataset_size=10000, estimator=estimator)
    assert all(t.dtype == "float32" and np.ndim(t) == 0 for t in terms)
    sampled_kl = np.mean(np.sum(_np_log_normal(z, mean, log_var) - _np_log_normal(z, 0, 0), 1))
    assert float(sum(terms)) == pytest.approx(sampled_kl, abs=1e-3)


@pytest.mark.parametrize("estimator", ["mss", "mws"])
def test_tc_decomposition_matches_a_loop_by_loop_numpy_reference(estimator):
    z, mean, log_var = _batch(6, 3, sd=0.8, seed=2)
    expected = _np_tc_decomposition(z, mean, log_var, 50, estimator)
    got = losses.tc_decomposition(z, mean, log_var, dataset_size=50, estimator=estimator)
    np.testing.assert_allclose([float(t) for t in got], expected, rtol=1e-4, atol=1e-4)


def test_total_correlation_vanishes_for_a_factorised_aggregate_posterior():
    independent = losses.tc_decomposition(*_batch(1000, 3, seed=3), dataset_size=1000)[1]
    correlated = losses.tc_decomposition(
        *_batch(1000, 3, correlated=True, seed=3), dataset_size=1000
    )[1]
    assert float(correlated) > 1.0  # three copies of one coordinate share about 2 nats
    assert abs(float(independent)) < 0.05 * float(correlated)


def test_stratified_weights_make_each_row_a_mixture():
    for m, n in [(2, 2), (5, 100), (64, 737280)]:
        weights = np.exp(np.asarray(losses._log_aggregate_weights(m, n, "mss"), np.float64))
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
        np.testing.assert_allclose(np.diag(weights), 1.0 / n, rtol=1e-5)


def _tiny_model(beta=1.0, **kwargs):
    cfg = VAEConfig(name="beta_tcvae", hidden_units=[16], latent_dim=3)
    return BetaTCVAE(
        build_encoder(cfg, (6,), gaussian=True),
        build_decoder(cfg, (6,)),
        beta=beta,
        seed=0,
        dataset_size=kwargs.pop("dataset_size", 500),
        **kwargs,
    )


X = RNG.random((32, 6)).astype(np.float32)


def test_train_step_optimises_recon_plus_mi_plus_beta_tc_plus_dimwise_kl():
    model = _tiny_model(beta=6.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    before = [w.numpy().copy() for w in model.trainable_weights]
    logs = {name: float(value) for name, value in model.train_step((X, X)).items()}
    assert set(logs) == set(BetaTCVAE.loss_names)
    assert all(np.isfinite(value) for value in logs.values())
    penalty = logs["mi"] + 6.0 * logs["tc"] + logs["dimwise_kl"]
    assert logs["kl_penalty"] == pytest.approx(penalty, rel=1e-5, abs=1e-5)
    assert logs["loss"] == pytest.approx(logs["recon"] + penalty, rel=1e-5, abs=1e-5)
    assert logs["kl"] > 0
    assert any(
        not np.allclose(b, w.numpy()) for b, w in zip(before, model.trainable_weights, strict=True)
    )


def test_beta_scales_only_the_total_correlation():
    model = _tiny_model()

    def terms(beta):
        model.beta.assign(beta)
        model.seed_generator.state.assign(np.zeros(2, model.seed_generator.state.dtype))
        return {k: float(v) for k, v in model.loss_terms(X, X).items()}

    plain, heavy = terms(1.0), terms(5.0)
    for name in ("recon", "kl", "mi", "tc", "dimwise_kl"):
        assert heavy[name] == pytest.approx(plain[name], rel=1e-6, abs=1e-6)
    assert heavy["loss"] - plain["loss"] == pytest.approx(4.0 * plain["tc"], rel=1e-3, abs=1e-4)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"free_bits": 0.5}, "free bits"),
        ({"capacity_gamma": 10.0}, "capacity"),
        ({"dataset_size": None}, "dataset_size"),
        ({"estimator": "iwae"}, "estimator"),
    ],
)
def test_unsupported_options_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _tiny_model(**kwargs)
