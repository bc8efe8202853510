"""load_arrays' splits: float32 in [0, 1], written once into aligned buffers the training
pipeline hands to TensorFlow as they are, so a large data set costs its float32 size once."""

import tracemalloc

import numpy as np

from aecli.config.dataset import DatasetName, DSpritesConfig
from aecli.data import arrays as arrays_module
from aecli.data import dsprites, load_arrays
from aecli.data.pipeline import _as_tensor


def _dsprites(**keys):
    return DSpritesConfig(name=DatasetName("dsprites"), **keys)


def test_dsprites_splits_are_binary_float32_aligned_and_match_their_factors():
    arrays = load_arrays(_dsprites(size=3000, resolution=32, test_limit=200), seed=1)
    for split in (arrays.train, arrays.val, arrays.test):
        assert split.x.dtype == np.float32 and split.x.shape[1:] == (32, 32, 1)
        assert set(np.unique(split.x).tolist()) == {0.0, 1.0}
        assert split.x.ctypes.data % arrays_module.ALIGNMENT == 0
        # each image is still the sprite of its own factors after shuffling and splitting
        np.testing.assert_array_equal(split.x[..., 0], dsprites.render(split.factors, 32))


def test_scaling_in_chunks_equals_dividing_the_gathered_pixels(monkeypatch):
    monkeypatch.setattr(arrays_module, "_CHUNK_ROWS", 7)  # rows span several chunks
    pixels = np.random.default_rng(0).integers(0, 256, (50, 3, 3), dtype=np.uint8)
    rows = np.random.default_rng(1).permutation(50)[:23]
    np.testing.assert_array_equal(
        arrays_module._scaled(pixels, rows), pixels[rows].astype(np.float32) / 255.0
    )
    values = np.linspace(-1, 1, 30).reshape(10, 3)  # float data: converted, not scaled
    np.testing.assert_array_equal(arrays_module._scaled(values), values.astype(np.float32))


def test_a_table_is_standardised_chunk_by_chunk_exactly_as_it_was_whole_in_float64(monkeypatch):
    monkeypatch.setattr(arrays_module, "_CHUNK_ROWS", 7)  # rows span several chunks
    rng = np.random.default_rng(0)
    table = rng.normal(size=(50, 4)) * [1.0, 1e3, 1e-3, 7.0] + [0.0, 5e4, 1.0, -3.0]
    rows = rng.permutation(50)[:23]
    mean, std = arrays_module._standardisation(table)
    np.testing.assert_array_equal(
        arrays_module._scaled(table, rows, (mean, std)),
        ((table[rows] - mean) / std).astype(np.float32),
    )


def test_standardising_a_float64_table_makes_no_float64_copy_of_it():
    table = np.random.default_rng(0).normal(size=(100_000, 50))  # 40 MB
    statistics = arrays_module._standardisation(table)
    tracemalloc.start()
    try:
        split = arrays_module._scaled(table, None, statistics)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the float32 split and one chunk's temporaries; standardising the whole table first held
    # two more float64 copies of it
    assert split.dtype == np.float32 and peak < table.nbytes


def test_the_training_split_reaches_tensorflow_without_a_copy():
    x = load_arrays(_dsprites(size=500, resolution=32), seed=0).train.x
    tensor = _as_tensor(x)
    x[0, 0, 0, 0] = 7.0  # a shared buffer shows the write
    assert float(tensor[0, 0, 0, 0]) == 7.0


def test_loading_holds_little_more_than_the_float32_splits():
    # 40,000 points at 64x64: 31,360 training images, 0.51 GB as float32. Gathering and then
    # converting (the earlier code) peaked at 2.96 times the splits; here the float32 splits are
    # written once, and the rest is the 8-bit images the generator drew (a quarter of their float
    # size).
    tracemalloc.start()
    try:
        arrays = load_arrays(_dsprites(size=40000, resolution=64, test_limit=1000), seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    held = sum(split.x.nbytes for split in (arrays.train, arrays.val, arrays.test))
    assert held < peak < 1.5 * held
