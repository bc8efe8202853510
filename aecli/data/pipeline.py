"""tf.data pipelines yielding (encoder input, clean target) batches for train, validation and
test."""

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from aecli.config.model import NoiseConfig, NoiseType
from aecli.data.noise import corrupt
from aecli.errors import ConfigError


@dataclass(frozen=True)
class Pipelines:
    train: tf.data.Dataset
    val: tf.data.Dataset
    test: tf.data.Dataset
    steps_per_epoch: int


def _with_noise(
    batches: tf.data.Dataset, noise: NoiseConfig, seed: int, fresh: bool
) -> tf.data.Dataset:
    """Pair each clean batch with its corrupted copy; `fresh` draws new noise on every pass."""
    if noise.type == NoiseType.none:
        return batches.map(lambda x: (x, x))
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=fresh).batch(2)
    pairs = tf.data.Dataset.zip(batches, seeds)
    return pairs.map(
        lambda x, s: (corrupt(x, noise.type, noise.level, s), x),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )


def make_pipelines(arrays, batch_size: int, noise: NoiseConfig, seed: int) -> Pipelines:
    """Training: cache -> shuffle -> batch (drop_remainder) -> corrupt -> prefetch; evaluation:
    batch -> corrupt -> prefetch."""
    n_train = len(arrays.train.x)
    if batch_size > n_train:
        raise ConfigError(
            f"trainer.batch_size={batch_size} is larger than the training set "
            f"({n_train} examples after "
            f"dataset.limit and the validation split), so not one full batch fits. "
            f"Use `trainer.batch_size={max(1, n_train // 4)}` or a larger `dataset.limit`."
        )
    train = (
        tf.data.Dataset.from_tensor_slices(arrays.train.x)
        .cache()
        .shuffle(n_train, seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
    )

    def evaluation(x: np.ndarray, offset: int) -> tf.data.Dataset:
        # in memory already and read in order, so no cache: a partial read (one batch for the image
        # grids) would make tf.data warn that it discarded a half-filled cache
        batches = tf.data.Dataset.from_tensor_slices(x).batch(batch_size)
        return _with_noise(batches, noise, seed + offset, fresh=False).prefetch(tf.data.AUTOTUNE)

    return Pipelines(
        train=_with_noise(train, noise, seed, fresh=True).prefetch(tf.data.AUTOTUNE),
        val=evaluation(arrays.val.x, 1),
        test=evaluation(arrays.test.x, 2),
        steps_per_epoch=n_train // batch_size,
    )
