"""The generated dSprites grid, its renderer, the official-file reader, and shapes' factors."""

import math

import numpy as np
import pytest

from aecli.data import dsprites, synthetic
from aecli.errors import DataError


def _one(shape=0, scale=5, orientation=0, pos_x=16, pos_y=16, resolution=64):
    classes = np.array([[shape, scale, orientation, pos_x, pos_y]])
    return dsprites.render(classes, resolution)[0].astype(np.float64)


def _centroid(image):
    rows, cols = np.nonzero(image)
    return rows.mean(), cols.mean()


def test_whole_grid_is_in_official_order_with_pos_y_fastest():
    grid = dsprites.sample_factor_classes("all", None)
    assert grid.shape == (737280, 5) and grid.dtype == np.int64
    np.testing.assert_array_equal(grid[:2], [[0, 0, 0, 0, 0], [0, 0, 0, 0, 1]])
    np.testing.assert_array_equal(grid[32], [0, 0, 0, 1, 0])
    np.testing.assert_array_equal(grid[-1], [2, 5, 39, 31, 31])
    np.testing.assert_array_equal(dsprites.official_index(grid[::997]), np.arange(737280)[::997])
    assert len(np.unique(dsprites.official_index(grid))) == 737280


def test_factor_values_are_the_official_grid():
    grid = dsprites.sample_factor_classes(None, None)
    values = dsprites.factor_values(grid[[0, -1]])
    np.testing.assert_allclose(values[0], [1.0, 0.5, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(values[1], [3.0, 1.0, 2 * math.pi, 1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(np.diff(dsprites.FACTOR_VALUES[1]), 0.1)
    np.testing.assert_allclose(np.diff(dsprites.FACTOR_VALUES[2]), 2 * math.pi / 39)


def test_sampled_classes_are_seeded_and_uniform_over_each_factor():
    first = dsprites.sample_factor_classes(60000, np.random.default_rng(4))
    again = dsprites.sample_factor_classes(60000, np.random.default_rng(4))
    np.testing.assert_array_equal(first, again)
    for j, size in enumerate(dsprites.FACTOR_SIZES):
        counts = np.bincount(first[:, j], minlength=size)
        assert len(counts) == size
        expected = 60000 / size
        assert np.all(np.abs(counts - expected) < 5 * math.sqrt(expected)), dsprites.FACTOR_NAMES[j]


def test_render_gives_binary_images_and_chunking_changes_nothing():
    classes = dsprites.sample_factor_classes(300, np.random.default_rng(0))
    images = dsprites.render(classes, 64)
    assert images.shape == (300, 64, 64) and images.dtype == np.uint8
    assert set(np.unique(images)) == {0, 1}
    assert images.reshape(300, -1).sum(axis=1).min() > 10  # every sprite is drawn
    np.testing.assert_array_equal(dsprites.render(classes, 64, chunk=7), images)


def test_position_moves_the_sprite_right_with_x_and_down_with_y():
    cols = [_centroid(_one(pos_x=x))[1] for x in range(0, 32, 5)]
    rows = [_centroid(_one(pos_y=y))[0] for y in range(0, 32, 5)]
    assert np.all(np.diff(cols) > 0) and np.all(np.diff(rows) > 0)
    assert _centroid(_one(pos_x=7))[0] == pytest.approx(_centroid(_one(pos_x=20))[0])
    # positions span the grid evenly: 0.6 of the image over 31 steps
    assert cols[-1] - cols[0] == pytest.approx(0.6 * 64 * 30 / 31, abs=1.0)


def test_square_and_ellipse_areas_match_their_formulas_at_every_scale():
    for scale_class, scale in enumerate(dsprites.FACTOR_VALUES[1]):
        half = dsprites.HALF * scale * 64
        assert _one(0, scale_class).sum() == pytest.approx((2 * half) ** 2, rel=0.12)
        assert _one(1, scale_class).sum() == pytest.approx(math.pi * half * half / 2, rel=0.12)


def test_rotation_keeps_the_area_and_a_full_turn_is_the_first_pose():
    for shape in range(3):
        areas = [_one(shape, orientation=o).sum() for o in range(40)]
        assert np.ptp(areas) / np.mean(areas) < 0.1
        np.testing.assert_array_equal(_one(shape, orientation=0), _one(shape, orientation=39))
    assert not np.array_equal(_one(2, orientation=0), _one(2, orientation=10))


def test_heart_has_its_lobes_up_and_its_point_down():
    heart = _one(2)
    rows = np.nonzero(heart)[0]
    top, bottom = heart[rows.min() + 2], heart[rows.max() - 1]
    assert top.sum() > 3 * bottom.sum()
    # two lobes: the top row of the heart has a gap between its two runs of pixels
    lobes = np.nonzero(heart[rows.min()])[0]
    assert np.any(np.diff(lobes) > 1)


def test_resolution_32_draws_the_same_sprite_at_a_quarter_of_the_area():
    for shape in range(3):
        big, small = _one(shape, orientation=7), _one(shape, orientation=7, resolution=32)
        assert small.sum() == pytest.approx(big.sum() / 4, rel=0.15)
        assert np.array(_centroid(small)) == pytest.approx(np.array(_centroid(big)) / 2, abs=0.6)


def test_generate_returns_images_classes_and_values_for_a_seed():
    images, classes, values = dsprites.generate(50, seed=3, resolution=32)
    assert images.shape == (50, 32, 32, 1) and images.dtype == np.uint8
    assert classes.shape == (50, 5) and classes.dtype == np.int64
    assert values.shape == (50, 5) and values.dtype == np.float32
    np.testing.assert_array_equal(images[..., 0], dsprites.render(classes, 32))
    np.testing.assert_allclose(values, dsprites.factor_values(classes))
    np.testing.assert_array_equal(dsprites.generate(50, seed=3, resolution=32)[1], classes)
    assert not np.array_equal(dsprites.generate(50, seed=4, resolution=32)[1], classes)


def _official_like(path, n=10, **overrides):
    grid = dsprites.sample_factor_classes("all", None)[::73729][:n]
    classes = np.column_stack([np.zeros(len(grid), np.int64), grid])
    values = np.column_stack([np.ones(len(grid)), dsprites.factor_values(grid)])
    arrays = {
        "imgs": dsprites.render(grid, 64),
        "latents_values": values,
        "latents_classes": classes,
    }
    arrays.update(overrides)
    arrays = {name: value for name, value in arrays.items() if value is not None}
    np.savez(path, **arrays)
    return grid


def test_read_official_drops_the_colour_column(tmp_path):
    path = tmp_path / dsprites.OFFICIAL_FILE
    grid = _official_like(path)
    images, classes, values = dsprites.read_official(str(path))
    assert images.shape == (10, 64, 64) and images.dtype == np.uint8
    np.testing.assert_array_equal(classes, grid)
    np.testing.assert_allclose(values, dsprites.factor_values(grid))


@pytest.mark.parametrize(
    "overrides, problem",
    [
        ({"latents_classes": None}, "no latents_classes array"),
        ({"imgs": np.zeros((10, 32, 32), np.uint8)}, "shapes imgs"),
        ({"latents_values": np.zeros((10, 5))}, "shapes imgs"),
        ({"imgs": np.array([None] * 10, dtype=object)}, "cannot be read|shapes"),
    ],
)
def test_read_official_rejects_a_malformed_file_naming_it(tmp_path, overrides, problem):
    path = tmp_path / "bad.npz"
    _official_like(path, **overrides)
    with pytest.raises(DataError, match=problem) as error:
        dsprites.read_official(str(path))
    assert str(path) in str(error.value) and dsprites.OFFICIAL_FILE in str(error.value)


def test_read_official_of_a_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        dsprites.read_official(str(tmp_path / "absent.npz"))


def test_subsample_draws_distinct_rows_uniformly_and_reproducibly():
    rows = dsprites.subsample(50000, seed=1)
    assert len(np.unique(rows)) == 50000 and np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(rows, dsprites.subsample(50000, seed=1))
    classes = dsprites.sample_factor_classes("all", None)[rows]
    counts = np.bincount(classes[:, 2], minlength=40)  # orientation
    assert np.all(np.abs(counts - 1250) < 5 * math.sqrt(1250))
    np.testing.assert_array_equal(dsprites.subsample("all", seed=1, n_total=5), np.arange(5))


def test_shapes_factors_come_with_the_unchanged_images():
    plain = synthetic.generate("shapes", 400, seed=5)
    *with_factors, factors_train, factors_test = synthetic.generate_shapes_with_factors(400, 5)
    for a, b in zip(plain, with_factors, strict=True):
        np.testing.assert_array_equal(a, b)
    factors = np.concatenate([factors_train, factors_test])
    images = np.concatenate([plain[0], plain[2]])[..., 0]
    np.testing.assert_array_equal(factors[:, 0], np.concatenate([plain[1], plain[3]]))
    assert np.all(factors.max(axis=0) < np.array(synthetic.SHAPES_FACTOR_SIZES))
    for image, (shape, size, top, left) in zip(images, factors, strict=True):
        if shape == 0:  # a filled square: its pixels are exactly its box
            rows, cols = np.nonzero(image)
            assert (rows.min(), cols.min()) == (top, left)
            assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (size + 6,) * 2
