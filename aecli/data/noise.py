"""Input corruptions of the denoising autoencoder, as pure functions of (images, level, seed).

Stateless random ops make every draw a function of its seed: the training pipeline feeds
a new seed per batch and epoch, validation and test a fixed one, so evaluation noise is
reproducible while training noise never repeats.
"""

import tensorflow as tf

from aecli.config.model import NoiseType


def _uniform(x, seed):
    return tf.random.stateless_uniform(tf.shape(x), seed=seed, dtype=x.dtype)


def _normal(x, seed):
    return tf.random.stateless_normal(tf.shape(x), seed=seed, dtype=x.dtype)


def gaussian(x, sigma, seed):
    """x + sigma * N(0, 1), clipped to [0, 1] (the chapter's add_noise)."""
    return tf.clip_by_value(x + sigma * _normal(x, seed), 0.0, 1.0)


def salt_and_pepper(x, fraction, seed):
    """A `fraction` of the values set to 0 or 1, half each."""
    u = _uniform(x, seed)
    x = tf.where(u < fraction / 2, tf.zeros_like(x), x)
    return tf.where(u > 1.0 - fraction / 2, tf.ones_like(x), x)


def speckle(x, sigma, seed):
    """x + x * sigma * N(0, 1): noise proportional to the signal, clipped to [0, 1]."""
    return tf.clip_by_value(x + x * sigma * _normal(x, seed), 0.0, 1.0)


def masking(x, fraction, seed):
    """A `fraction` of the values zeroed."""
    return tf.where(_uniform(x, seed) < fraction, tf.zeros_like(x), x)


CORRUPTIONS = {
    NoiseType.gaussian: gaussian,
    NoiseType.salt_and_pepper: salt_and_pepper,
    NoiseType.speckle: speckle,
    NoiseType.masking: masking,
}


def corrupt(x, noise_type: NoiseType, level: float, seed):
    """Apply the configured corruption; `none` returns x unchanged."""
    if noise_type == NoiseType.none:
        return x
    return CORRUPTIONS[NoiseType(noise_type)](x, level, seed)
