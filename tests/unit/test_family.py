"""The regularised family: sparse, contractive, the VAE's schedules, free bits, and the overcomplete warning."""

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

from aecli.models import losses
from aecli.config.model import AutoencoderConfig, ContractiveConfig, KLSchedule, SparseConfig
from aecli.data import load_arrays
from aecli.config.dataset import DatasetName, SyntheticConfig, SyntheticKind
from aecli.models import build_model
from aecli.models.schedules import capacity, kl_weight

RNG = np.random.default_rng(1)


def test_contractive_closed_form_equals_the_tape_jacobian():
    x = tf.constant(RNG.random((5, 6)), tf.float32)
    weights = tf.constant(RNG.normal(size=(6, 3)), tf.float32)
    bias = tf.constant(RNG.normal(size=(3,)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        code = tf.sigmoid(x @ weights + bias)
    jacobian = tape.batch_jacobian(code, x)
    expected = tf.reduce_sum(tf.square(jacobian), axis=[1, 2])
    np.testing.assert_allclose(losses.contractive_sigmoid(code, weights), expected, rtol=1e-5)


@pytest.mark.parametrize("hidden", [[], [5]])
def test_contractive_model_penalty_equals_the_jacobian_of_its_encoder(hidden):
    model = build_model(ContractiveConfig(name="contractive", hidden_units=hidden, latent_dim=3), (6,), seed=0)
    x = tf.constant(RNG.random((4, 6)), tf.float32)
    _, norms = model.jacobian_norm(x)
    expected = []
    for row in x:
        with tf.GradientTape() as tape:
            single = row[None]
            tape.watch(single)
            code = model.encoder(single)
        expected.append(float(tf.reduce_sum(tf.square(tape.jacobian(code, single)))))
    np.testing.assert_allclose(norms, expected, rtol=1e-4)
    assert (model.closed_form_kernel is not None) == (hidden == [])


def test_linear_and_cyclical_kl_weights_per_epoch():
    assert [kl_weight(e, KLSchedule.linear, 4, 0.5) for e in range(6)] == [0, 0.25, 0.5, 0.75, 1, 1]
    assert [kl_weight(e, KLSchedule.cyclical, 4, 0.5) for e in range(8)] == [0, 0.5, 1, 1, 0, 0.5, 1, 1]
    assert kl_weight(3, KLSchedule.none, 4, 0.5) == 1.0


def test_capacity_rises_linearly_then_holds():
    assert [capacity(e, 25.0, 5) for e in (0, 1, 5, 9)] == [0.0, 5.0, 25.0, 25.0]


def test_free_bits_never_let_a_dimension_fall_below_its_floor():
    kl_per_dim = np.array([0.01, 0.2, 3.0], np.float32)
    assert float(losses.free_bits_kl(kl_per_dim, 0.5)) == pytest.approx(0.5 + 0.5 + 3.0)
    for values in RNG.uniform(0, 2, (20, 4)).astype(np.float32):
        assert float(losses.free_bits_kl(values, 0.7)) >= 4 * 0.7 - 1e-6


def test_capacity_penalty_pulls_kl_to_the_target():
    assert float(losses.capacity_penalty(12.0, 10.0, 100.0)) == pytest.approx(200.0)
    assert float(losses.capacity_penalty(8.0, 10.0, 100.0)) == pytest.approx(200.0)


def _mean_activation(weight):
    keras.utils.set_random_seed(0)
    arrays = load_arrays(SyntheticConfig(name=DatasetName.synthetic, kind=SyntheticKind.shapes, size=1000), seed=0)
    model = build_model(SparseConfig(name="sparse", hidden_units=[64], latent_dim=32, sparsity_weight=weight),
                        arrays.input_shape, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(arrays.train.x, arrays.train.x, batch_size=64, epochs=3, verbose=0)
    return float(np.mean(model.encoder(arrays.test.x)))


def test_sparsity_penalty_lowers_mean_activation_against_the_same_model_without_it():
    assert _mean_activation(10.0) < 0.5 * _mean_activation(0.0)


def test_overcomplete_unregularised_code_warns(caplog):
    with caplog.at_level(logging.WARNING):
        build_model(AutoencoderConfig(name="vanilla", hidden_units=[8], latent_dim=4), (4,), seed=0)
    assert "can learn the identity" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        build_model(SparseConfig(name="sparse", hidden_units=[8], latent_dim=4), (4,), seed=0)
        build_model(AutoencoderConfig(name="vanilla", hidden_units=[8], latent_dim=3), (4,), seed=0)
    assert "can learn the identity" not in caplog.text
