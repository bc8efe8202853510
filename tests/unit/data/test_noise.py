"""Each corruption's statistics on a large batch, and fresh noise every training epoch."""

import numpy as np
import pytest
import tensorflow as tf

from aecli.config.model import NoiseConfig, NoiseType
from aecli.data import Arrays, Split, noise
from aecli.data.pipeline import make_pipelines

SEED = tf.constant([3, 4], tf.int64)
GREY = tf.fill((200, 28, 28, 1), 0.5)


def test_gaussian_noise_has_the_configured_std_and_stays_in_unit_range():
    corrupted = noise.gaussian(GREY, 0.1, SEED).numpy()
    assert np.std(corrupted - 0.5) == pytest.approx(0.1, rel=0.02)
    assert np.mean(corrupted) == pytest.approx(0.5, abs=0.002)
    assert (
        noise.gaussian(GREY, 2.0, SEED).numpy().min() >= 0.0
        and noise.gaussian(GREY, 2.0, SEED).numpy().max() <= 1.0
    )


def test_salt_and_pepper_changes_the_configured_fraction_half_to_each_extreme():
    corrupted = noise.salt_and_pepper(GREY, 0.2, SEED).numpy()
    assert np.mean(corrupted == 0.0) == pytest.approx(0.1, abs=0.005)
    assert np.mean(corrupted == 1.0) == pytest.approx(0.1, abs=0.005)
    assert np.mean(corrupted == 0.5) == pytest.approx(0.8, abs=0.005)


def test_masking_zeroes_the_configured_fraction():
    corrupted = noise.masking(tf.ones((200, 28, 28, 1)), 0.3, SEED).numpy()
    assert np.mean(corrupted == 0.0) == pytest.approx(0.3, abs=0.005)
    assert set(np.unique(corrupted)) == {0.0, 1.0}


def test_speckle_is_multiplicative():
    assert np.all(noise.speckle(tf.zeros((10, 28, 28, 1)), 0.5, SEED).numpy() == 0.0)
    low = noise.speckle(tf.fill((200, 28, 28, 1), 0.2), 0.1, SEED).numpy() - 0.2
    high = noise.speckle(tf.fill((200, 28, 28, 1), 0.4), 0.1, SEED).numpy() - 0.4
    assert np.std(high) / np.std(low) == pytest.approx(2.0, rel=0.02)


def test_none_returns_the_input():
    assert noise.corrupt(GREY, NoiseType.none, 0.4, SEED) is GREY


def _arrays():
    x = np.random.default_rng(0).random((96, 28, 28, 1)).astype(np.float32)
    split = Split(x, np.zeros(96, np.int64))
    return Arrays(train=split, val=split, test=split)


def test_training_noise_is_fresh_every_epoch_and_evaluation_noise_fixed():
    pipes = make_pipelines(_arrays(), 32, NoiseConfig(type=NoiseType.gaussian, level=0.4), seed=1)
    first, second = ([x_in.numpy() - x.numpy() for x_in, x in pipes.train] for _ in range(2))
    assert not np.allclose(np.concatenate(first), np.concatenate(second))
    val_a, val_b = ([x_in.numpy() for x_in, _ in pipes.val] for _ in range(2))
    np.testing.assert_array_equal(np.concatenate(val_a), np.concatenate(val_b))
