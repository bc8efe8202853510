"""The importance-weighted bound (Burda et al. 2016, arXiv:1509.00519) against its closed form."""

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from aecli.config.model import Likelihood
from aecli.models import VAE
from aecli.models.likelihood import importance_weighted_bound


def test_importance_weighted_bound_is_exact_for_a_linear_gaussian_model():
    """p(z) = N(0, I), p(x|z) = N(Wz + b, s^2 I) with orthogonal W columns: q set to the exact
    posterior makes every importance weight equal p(x), so L_k = ELBO = log N(x; b, W W^T + s^2 I).
    """
    rng = np.random.default_rng(0)
    d, j, s = 5, 2, 0.5
    w = np.linalg.qr(rng.normal(size=(d, j)))[0] * np.array([2.0, 1.0])  # orthogonal columns
    b = rng.normal(size=d)
    posterior_var = 1.0 / (1.0 + np.sum(w**2, axis=0) / s**2)  # diagonal because W^T W is
    gain = w * posterior_var / s**2  # mean = (x - b) @ gain

    x_in = keras.Input((d,))
    mean = layers.Dense(j)(x_in)
    log_var = layers.Dense(j)(x_in)
    encoder = keras.Model(x_in, [mean, log_var])
    encoder.layers[1].set_weights([gain, -b @ gain])
    encoder.layers[2].set_weights([np.zeros((d, j)), np.log(posterior_var)])
    z_in = keras.Input((j,))
    decoder = keras.Model(z_in, layers.Dense(d)(z_in))
    decoder.layers[1].set_weights([w.T, b])
    model = VAE(encoder, decoder, likelihood=Likelihood.gaussian, decoder_std=s)

    x = rng.normal(size=(6, d)).astype(np.float32) + b.astype(np.float32)
    covariance = w @ w.T + s**2 * np.eye(d)
    centred = x - b
    exact = -0.5 * (
        d * np.log(2 * np.pi)
        + np.linalg.slogdet(covariance)[1]
        + np.einsum("ni,ij,nj->n", centred, np.linalg.inv(covariance), centred)
    )
    tf.random.set_seed(0)
    bound, elbo = importance_weighted_bound(model, x, k=20, sample_chunk=7)
    np.testing.assert_allclose(bound, exact, atol=1e-3)
    np.testing.assert_allclose(elbo, exact, atol=1e-3)
