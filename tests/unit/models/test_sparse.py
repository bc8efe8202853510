"""The sparse autoencoder: its penalty, reported and weighted, lowers the code's activation."""

import keras
import numpy as np
import pytest

from aecli.config.dataset import DatasetName, SyntheticConfig, SyntheticKind
from aecli.config.model import SparseConfig
from aecli.data import load_arrays
from aecli.models import SparseAutoencoder, build_model


def _mean_activation(weight):
    keras.utils.set_random_seed(0)
    arrays = load_arrays(
        SyntheticConfig(name=DatasetName.synthetic, kind=SyntheticKind.shapes, size=1000), seed=0
    )
    model = build_model(
        SparseConfig(name="sparse", hidden_units=[64], latent_dim=32, sparsity_weight=weight),
        arrays.input_shape,
        seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(arrays.train.x, arrays.train.x, batch_size=64, epochs=3, verbose=0)
    return float(np.mean(model.encoder(arrays.test.x)))


def test_sparsity_penalty_lowers_mean_activation_against_the_same_model_without_it():
    assert _mean_activation(10.0) < 0.5 * _mean_activation(0.0)


RNG = np.random.default_rng(0)
IMAGES = RNG.random((16, 28, 28, 1)).astype(np.float32)


def test_sparse_model_reports_its_penalty_and_adds_it_weighted():
    cfg = SparseConfig(name="sparse", hidden_units=[16], latent_dim=8, sparsity_weight=0.5)
    model = build_model(cfg, (28, 28, 1), seed=0)
    assert isinstance(model, SparseAutoencoder)
    terms = {k: float(v) for k, v in model.loss_terms(IMAGES, IMAGES).items()}
    assert terms["sparsity"] > 0
    assert terms["loss"] == pytest.approx(terms["recon"] + 0.5 * terms["sparsity"], rel=1e-5)
