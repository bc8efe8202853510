"""The contractive autoencoder: its penalty equals the Jacobian norm of its encoder."""

import numpy as np
import pytest
import tensorflow as tf

from aecli.config.model import ContractiveConfig
from aecli.models import build_model, losses

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
    model = build_model(
        ContractiveConfig(name="contractive", hidden_units=hidden, latent_dim=3), (6,), seed=0
    )
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
