"""The training pipeline: every pass a fresh permutation of full batches, reproducible by seed."""

import numpy as np
import pytest

from aecli.config.model import NoiseConfig, NoiseType
from aecli.data.arrays import Arrays, Split, aligned_empty
from aecli.data.pipeline import make_pipelines, shuffled_batches

N, BATCH = 103, 10


def _ids(dataset) -> list[np.ndarray]:
    """Each pass as the example ids it yielded (the first pixel holds the id)."""
    return [np.concatenate([b.numpy()[:, 0] for b in dataset]) for _ in range(2)]


@pytest.fixture
def x():
    return np.arange(N, dtype=np.float32)[:, None] * np.ones((1, 4), np.float32)


def test_every_pass_is_a_new_permutation_of_full_batches(x):
    dataset = shuffled_batches(x, BATCH, seed=3)
    first, second = _ids(dataset)
    for ids in (first, second):
        assert len(ids) == (N // BATCH) * BATCH  # the partial batch is dropped
        assert len(set(ids.tolist())) == len(ids)  # no example twice in a pass
    assert not np.array_equal(first, second)
    assert all(b.shape == (BATCH, 4) for b in dataset)
    assert int(dataset.cardinality()) == N // BATCH  # fit ends each epoch on it


def test_the_same_seed_gives_the_same_passes_and_another_seed_others(x):
    first, again = _ids(shuffled_batches(x, BATCH, 3)), _ids(shuffled_batches(x, BATCH, 3))
    assert np.array_equal(np.stack(first), np.stack(again))
    assert not np.array_equal(
        _ids(shuffled_batches(x, BATCH, 3))[0], _ids(shuffled_batches(x, BATCH, 4))[0]
    )


def test_over_many_passes_every_example_is_seen_about_equally_often(x):
    dataset = shuffled_batches(x, BATCH, seed=0)
    counts = np.bincount(
        np.concatenate([b.numpy()[:, 0] for _ in range(200) for b in dataset]).astype(int),
        minlength=N,
    )
    # each pass leaves 3 of 103 out at random: 200 * 100/103 = 194 expected, binomial sd 2.4
    assert counts.min() > 180 and counts.max() <= 200


def test_training_batches_pair_a_corrupted_input_with_its_clean_target():
    split = Split(np.full((40, 3), 0.5, np.float32), np.zeros(40, np.int64))
    arrays = Arrays(split, split, split)
    data = make_pipelines(arrays, 8, NoiseConfig(type=NoiseType.gaussian, level=0.3), seed=0)
    noisy, clean = next(iter(data.train))
    assert data.steps_per_epoch == 5
    assert np.all(clean.numpy() == 0.5) and not np.allclose(noisy.numpy(), 0.5)


def test_validation_and_test_batches_are_read_from_the_splits_themselves_not_a_copy():
    # a copy (from_tensor_slices of the array) held each split twice for the whole run
    x = aligned_empty((40, 3), np.float32)
    x[...] = 0.5
    split = Split(x, np.zeros(40, np.int64))
    data = make_pipelines(Arrays(split, split, split), 8, NoiseConfig(), seed=0)
    x[0, 0] = 7.0  # a shared buffer shows the write
    for dataset in (data.val, data.test):
        inputs, targets = next(iter(dataset))
        assert inputs.numpy()[0, 0] == targets.numpy()[0, 0] == 7.0


def test_no_pipeline_runs_tf_datas_autotuner_whose_thread_delays_deleting_an_iterator():
    """Deleting an iterator waits for the autotuner's next wake-up, as long again as the iterator
    lived: `aecli bench` and `auto` abandon theirs mid-stream (docs/speed.md, 2026-12-04)."""
    split = Split(np.full((40, 3), 0.5, np.float32), np.zeros(40, np.int64))
    data = make_pipelines(
        Arrays(split, split, split), 8, NoiseConfig(type=NoiseType.gaussian, level=0.3), seed=0
    )
    for dataset in (data.train, data.train.repeat(), data.val, data.test):
        options = dataset.options()
        assert options.autotune.enabled is False
        assert options.experimental_optimization.apply_default_optimizations is False
