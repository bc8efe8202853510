"""tf.data pipelines yielding (encoder input, clean target) batches for train, validation and
test."""

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from aecli.config.model import NoiseConfig, NoiseType
from aecli.data.arrays import ALIGNMENT, aligned_empty
from aecli.data.noise import corrupt
from aecli.errors import ConfigError

# The pipeline's functions are straight-line TensorFlow: tf.data would run each through
# autograph, which only parses their source again, a noticeable share of the time to the first
# step (docs/speed.md).
_as_written = tf.autograph.experimental.do_not_convert


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
        return batches.map(_as_written(lambda x: (x, x)))
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=fresh).batch(2)
    pairs = tf.data.Dataset.zip(batches, seeds)
    return pairs.map(
        _as_written(lambda x, s: (corrupt(x, noise.type, noise.level, s), x)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )


def shuffled_batches(x: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    """Full batches of `x` in a fresh random order on every pass (epoch), the last partial batch
    dropped.

    Each pass draws its permutation of the indices in one op and gathers whole batches from the
    array, which stays a single tensor. Shuffling the examples themselves
    (`from_tensor_slices(x).shuffle(len(x))`) moves every example through tf.data one at a time
    and holds a second copy of the data in its buffer, which costs several times as much per
    batch as gathering whole batches, a noticeable share of a small model's step
    (docs/speed.md).
    """
    images = _as_tensor(x)
    steps = len(x) // batch_size

    @_as_written
    def one_pass(pass_seed):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(len(x)), seed=tf.stack([pass_seed, 0])
        )
        return tf.data.Dataset.from_tensor_slices(
            tf.reshape(order[: steps * batch_size], [steps, batch_size])
        )

    # one seed per pass: a new one each time the dataset is iterated again, the same sequence
    # for the same `seed`
    orders = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    batches = (
        orders.flat_map(one_pass)
        .map(_as_written(lambda rows: tf.gather(images, rows)))
        # flat_map hides the length; `fit` needs it to end each epoch on time rather than by
        # running dry (it warns, and resumed runs counted more optimizer steps than they took)
        .apply(tf.data.experimental.assert_cardinality(steps))
    )
    return _untuned(batches)


def _untuned(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset` without tf.data's default graph rewrites and without its autotuning.

    The rewrites serialize the pipeline, the tensors it holds included, which is one more copy of
    a split for as long as an iterator lives. The autotuner's thread sleeps in periods that double
    from 10 ms up to a minute, and deleting an iterator not read to its end waits for its next
    wake-up, up to as long again as the iterator lived: `auto`'s measuring and `aecli bench`,
    which drop theirs mid-stream, took up to twice their time (docs/speed.md). Untuned, AUTOTUNE
    parallelism is the number of cores and prefetching still overlaps the step."""
    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    options.autotune.enabled = False
    return dataset.with_options(options)


def _as_tensor(x: np.ndarray) -> tf.Tensor:
    """`x` as a tensor that adds at most one copy of it. tf.convert_to_tensor passes through a
    second, transient one (a large array peaks at three copies); here `x`, or
    a copy of it at an aligned address, is handed to TensorFlow without copying (DLPack). The
    splits of `load_arrays` are aligned already, so a run's training split is never copied."""
    aligned = x
    if not x.flags.c_contiguous or x.ctypes.data % ALIGNMENT:
        aligned = aligned_empty(x.shape, x.dtype)
        aligned[...] = x
    return tf.experimental.dlpack.from_dlpack(aligned.__dlpack__())


def make_pipelines(arrays, batch_size: int, noise: NoiseConfig, seed: int) -> Pipelines:
    """Training: shuffled full batches -> corrupt -> prefetch; evaluation: batch -> corrupt ->
    prefetch."""
    n_train = len(arrays.train.x)
    if batch_size > n_train:
        raise ConfigError(
            f"trainer.batch_size={batch_size} is larger than the training set "
            f"({n_train} examples after "
            f"dataset.limit and the validation split), so not one full batch fits. "
            f"Use `trainer.batch_size={max(1, n_train // 4)}` or a larger `dataset.limit`."
        )
    train = shuffled_batches(arrays.train.x, batch_size, seed)

    def evaluation(x: np.ndarray, offset: int) -> tf.data.Dataset:
        # from the split itself: from_tensor_slices(x) would hold a copy of it, and the graph
        # rewrites one more
        batches = tf.data.Dataset.from_tensor_slices(_as_tensor(x)).batch(batch_size)
        noisy = _with_noise(batches, noise, seed + offset, fresh=False)
        return _untuned(noisy.prefetch(tf.data.AUTOTUNE))

    return Pipelines(
        train=_with_noise(train, noise, seed, fresh=True).prefetch(tf.data.AUTOTUNE),
        val=evaluation(arrays.val.x, 1),
        test=evaluation(arrays.test.x, 2),
        steps_per_epoch=n_train // batch_size,
    )
