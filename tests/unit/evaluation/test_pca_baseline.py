"""A linear Gaussian autoencoder finds PCA's subspace (the chapter's exercise 1)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from aecli.config.model import AutoencoderConfig, VAEConfig
from aecli.evaluation.pca import pca_baseline
from aecli.models import build_model


def _low_rank(n, rng, basis):
    """Rank-2 data in 8 dimensions, plus a little isotropic noise, centred away from 0."""
    codes = rng.normal(size=(n, 2)) * [2.0, 1.0]
    return (0.5 + codes @ basis.T + 0.01 * rng.normal(size=(n, 8))).astype(np.float32)


def test_a_trained_linear_autoencoder_spans_pcas_subspace_with_its_error():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(8, 2)))[0]
    x_train, x_test = _low_rank(2048, rng, basis), _low_rank(512, rng, basis)
    keras.utils.set_random_seed(0)
    model = build_model(
        AutoencoderConfig(name="vanilla", hidden_units=[], latent_dim=2, likelihood="gaussian"),
        (8,),
        seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    data = tf.data.Dataset.from_tensor_slices((x_train, x_train)).shuffle(2048, seed=0).batch(64)
    model.fit(data, epochs=30, verbose=0)

    basis = model.linear_decoder_basis()
    assert basis.shape == (8, 2)
    baseline = pca_baseline(basis, x_train, x_test)
    assert max(baseline["pca_principal_angles_deg"]) < 2.0
    reconstruction = np.asarray(model.reconstruct(x_test))
    ae_mse = float(np.mean((reconstruction - x_test) ** 2))
    # PCA's is the least error of any rank-2 reconstruction; the autoencoder's is as good up to
    # a thousandth of the data's variance
    assert baseline["pca_recon_mse"] <= ae_mse * 1.01
    assert ae_mse - baseline["pca_recon_mse"] < 1e-3 * x_test.var()
    assert baseline["pca_explained_variance"] > 0.99


def test_an_untrained_linear_autoencoder_is_far_from_pcas_subspace():
    rng = np.random.default_rng(1)
    x_train = _low_rank(1024, rng, np.linalg.qr(rng.normal(size=(8, 2)))[0])
    model = build_model(
        AutoencoderConfig(name="vanilla", hidden_units=[], latent_dim=2, likelihood="gaussian"),
        (8,),
        seed=0,
    )
    assert (
        max(
            pca_baseline(model.linear_decoder_basis(), x_train, x_train)["pca_principal_angles_deg"]
        )
        > 10
    )


@pytest.mark.parametrize(
    "cfg",
    [
        AutoencoderConfig(name="vanilla", hidden_units=[16], latent_dim=2, likelihood="gaussian"),
        AutoencoderConfig(name="vanilla", hidden_units=[], latent_dim=2, likelihood="bernoulli"),
        VAEConfig(name="vae", hidden_units=[], latent_dim=2, likelihood="gaussian"),
    ],
)
def test_only_linear_gaussian_autoencoders_have_a_pca_baseline(cfg):
    assert build_model(cfg, (8,), seed=0).linear_decoder_basis() is None
