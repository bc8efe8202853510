"""FactorVAE: permuted codes, the density-ratio TC estimate, a discriminator that learns the
difference between joint and permuted codes, and both players' state through a checkpoint."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from aecli.config.model import FactorVAEConfig
from aecli.models import FactorVAE, build_model, losses
from aecli.models.factor_vae import DISCRIMINATOR_ADAM, build_discriminator
from aecli.training.checkpoints import CheckpointStore

RNG = np.random.default_rng(0)


def test_permute_dims_keeps_every_marginal_and_breaks_the_rows():
    z = RNG.normal(size=(200, 4)).astype("f4")
    permuted = np.asarray(losses.permute_dims(z, RNG.normal(size=z.shape).astype("f4")))
    np.testing.assert_array_equal(np.sort(permuted, axis=0), np.sort(z, axis=0))
    # each dimension has its own permutation: almost no row of z survives whole
    rows = {tuple(row) for row in z}
    assert sum(tuple(row) in rows for row in permuted) < 5


def test_tc_estimate_and_discriminator_loss_match_numpy():
    joint, permuted = RNG.normal(size=(6, 2)), RNG.normal(size=(6, 2))

    def log_softmax(logits):
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    # disentanglement_lib: tc = mean(logits[:, 0] - logits[:, 1]); the discriminator maximises
    # 0.5 * mean(log p_z[:, 0]) + 0.5 * mean(log p_shuffle[:, 1])
    tc = np.mean(joint[:, 0] - joint[:, 1])
    loss = -0.5 * (log_softmax(joint)[:, 0].mean() + log_softmax(permuted)[:, 1].mean())
    accuracy = 0.5 * (np.mean(joint[:, 0] > joint[:, 1]) + np.mean(permuted[:, 1] > permuted[:, 0]))
    j, p = joint.astype("f4"), permuted.astype("f4")
    assert float(losses.density_ratio_tc(j)) == pytest.approx(tc, rel=1e-5)
    assert float(losses.discriminator_loss(j, p)) == pytest.approx(loss, rel=1e-5)
    assert float(losses.discriminator_accuracy(j, p)) == pytest.approx(accuracy)


def _train_discriminator(code, steps=300, seed=0):
    """A small discriminator trained, as FactorVAE trains its own, to tell `code`'s batches from
    their permutations; its accuracy and TC estimate on fresh batches."""
    keras.utils.set_random_seed(seed)
    discriminator = build_discriminator(code.shape[1], [32, 32])
    optimizer = keras.optimizers.Adam(1e-3, **DISCRIMINATOR_ADAM)
    rng = np.random.default_rng(seed)

    def batch():
        z = tf.constant(code[rng.choice(len(code), 128)])
        return z, losses.permute_dims(z, tf.random.normal(z.shape))

    @tf.function
    def step(z, permuted):
        with tf.GradientTape() as tape:
            loss = losses.discriminator_loss(discriminator(z), discriminator(permuted))
        weights = discriminator.trainable_variables
        optimizer.apply(tape.gradient(loss, weights), weights)

    for _ in range(steps):
        step(*batch())
    z, permuted = batch()
    joint, shuffled = discriminator(z), discriminator(permuted)
    return float(losses.discriminator_accuracy(joint, shuffled)), float(
        losses.density_ratio_tc(joint)
    )


def test_the_discriminator_tells_permuted_from_joint_codes_only_when_they_differ():
    u = RNG.normal(size=(4096, 1))
    dependent = np.hstack([u, u + 0.1 * RNG.normal(size=u.shape)]).astype("f4")  # z2 ~ z1
    independent = RNG.normal(size=(4096, 2)).astype("f4")
    accuracy, tc = _train_discriminator(dependent)
    assert accuracy > 0.85 and tc > 0.5  # TC of this code: 0.5 log 101 = 2.3 nats
    accuracy, tc = _train_discriminator(independent)
    assert accuracy < 0.65 and abs(tc) < 0.3  # nothing to tell apart: TC = 0


def _tiny_model(seed=0):
    cfg = FactorVAEConfig(
        name="factor_vae", hidden_units=[8], latent_dim=2, discriminator_hidden_units=[8, 8]
    )
    keras.utils.set_random_seed(seed)
    model = build_model(cfg, (6,), seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    return model


def test_one_step_trains_both_players_each_with_its_own_optimizer():
    model = _tiny_model()
    assert isinstance(model, FactorVAE)
    # trainer.optimizer holds state for the encoder and decoder only
    vae_weights = sum(int(np.prod(v.shape)) for v in model.vae_variables)
    moments = sum(int(np.prod(v.shape)) for v in model.optimizer.variables) - 2
    assert moments == 2 * vae_weights
    before = [w.numpy() for w in model.discriminator.weights]
    x = RNG.random((64, 6)).astype("f4")
    history = model.fit(x=tf.data.Dataset.from_tensor_slices((x, x)).batch(32), verbose=0)
    assert int(model.optimizer.iterations) == int(model.discriminator_optimizer.iterations) == 2
    assert any(
        not np.array_equal(a, b) for a, b in zip(before, model.discriminator.weights, strict=True)
    )
    assert {"tc", "discriminator_loss", "discriminator_accuracy"} <= set(history.history)


def test_a_checkpoint_restores_the_discriminator_and_its_optimizer(tmp_path):
    model = _tiny_model()
    x = RNG.random((96, 6)).astype("f4")
    model.fit(x=tf.data.Dataset.from_tensor_slices((x, x)).batch(32), epochs=2, verbose=0)
    CheckpointStore(tmp_path).save(model, "last", epoch=1, val_loss=1.0)
    fresh = _tiny_model(seed=1)
    CheckpointStore(tmp_path).restore(fresh)
    for saved, loaded in (
        (model.discriminator.weights, fresh.discriminator.weights),
        (model.discriminator_optimizer.variables, fresh.discriminator_optimizer.variables),
        (model.optimizer.variables, fresh.optimizer.variables),
    ):
        assert len(saved) == len(loaded)
        for a, b in zip(saved, loaded, strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert int(fresh.discriminator_optimizer.iterations) == 6
