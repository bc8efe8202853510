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


# The official geometry, measured on deepmind/dsprites-dataset (commit fa310c6, 2017): the frames
# of its README's dsprites.gif (320 frames of 64x64, which traverse one factor at a time; frames
# numbered from 0) and the 43 images the notebook dsprites_reloading_example.ipynb prints
# (decoded from its PNG outputs; cell 9 fixes posX = 0, cell 10 orientation class 5). Moments
# of the white pixels, pixel (row i, column j) standing for the point (j + 0.5, i + 0.5) px.
# How they were read and what each frame shows: docs/disentanglement.md, "The generator's
# geometry".

# area (px) at orientation 0, posX = posY = 0, scale classes 0..5: gif frames 256-261 (square),
# 192-197 (ellipse), 0-5 (heart)
GIF_AREAS = {
    0: (100, 144, 196, 256, 324, 400),
    1: (76, 104, 144, 184, 228, 288),
    2: (58, 84, 108, 140, 182, 222),
}
# c in area = c * scale^2, least squares over the notebook's 15 squares, 17 ellipses and 11
# hearts (cells 6, 9 and 10), each at the scale class whose c * scale^2 is nearest its area
NOTEBOOK_AREA_OVER_SCALE_SQUARED = {0: 368.4, 1: 290.2, 2: 224.5}
# mean area and mean second-moment axis ratio at scale 1, posX = posY = 0, over orientation
# classes 1..38: gif frames 275-312 (square), 211-248 (ellipse), 19-56 (heart)
GIF_TURNING_AREA_AND_RATIO = {0: (368.6, 1.000), 1: (289.3, 1.770), 2: (225.0, 1.172)}
# the ellipse's axis ratio (square root of the second moments' eigenvalue ratio) at orientation
# 0, scale classes 0..5: gif frames 192-197; and its mean over the notebook's 17 ellipses
GIF_ELLIPSE_RATIOS = (1.625, 1.845, 1.814, 1.719, 1.839, 1.758)
NOTEBOOK_ELLIPSE_RATIO = 1.754
# heart at scale 1, orientation 0: centroid x for posX classes 0..31 at posY 31 (gif frames
# 90-121), centroid y for posY classes 0..31 at posX 0 (frames 58-89)
GIF_HEART_X = (
    16.00, 17.00, 18.08, 19.17, 20.20, 21.24, 22.24, 23.28, 24.31, 25.31, 26.31,
    27.32, 28.33, 29.39, 30.42, 31.46, 32.54, 33.58, 34.61, 35.67, 36.68, 37.69,
    38.69, 39.69, 40.72, 41.76, 42.76, 43.80, 44.83, 45.92, 47.00, 48.00,
)  # fmt: skip
GIF_HEART_Y = (
    14.07, 15.07, 16.08, 17.17, 18.17, 19.17, 20.17, 21.23, 22.23, 23.23, 24.23,
    25.23, 26.23, 27.28, 28.35, 29.35, 30.35, 31.43, 32.50, 33.53, 34.58, 35.71,
    36.79, 37.79, 38.86, 39.86, 40.92, 42.03, 43.03, 44.03, 45.07, 46.07,
)  # fmt: skip
# centroid x of the notebook's seven squares and ellipses drawn with posX = 0 (cell 9; each is
# symmetric, so its centroid is its centre): 16.04, 15.91, 15.91, 16.05, 15.96, 16.02, 15.87
NOTEBOOK_POS_X0_CENTRE = 15.97
# heart at scale 1, posX = posY = 0: centroid (x, y) at every 4th orientation class (gif frames
# 18 + class): the point turns from down to right, anticlockwise on screen
GIF_HEART_TURNING = {
    0: (16.00, 14.07), 4: (14.81, 14.40), 8: (14.13, 15.35), 12: (14.06, 16.74),
    16: (14.92, 17.74), 20: (16.13, 17.99), 24: (17.31, 17.42), 28: (17.94, 16.39),
    32: (17.90, 15.08), 36: (16.98, 14.24),
}  # fmt: skip
# the major axis's angle, in degrees anticlockwise on screen, of the notebook's four ellipses
# with orientation class 5 = 0.806 rad = 46.2 degrees (cell 10): 45.72, 46.54, 47.05, 48.14
NOTEBOOK_ORIENTATION_5_ANGLE = 46.86
# the official heart's pixels: (top row, left column, rows) of gif frame 5 (scale 1,
# orientation 0, posX = posY = 0) and frame 28 (orientation class 10, point to the right)
GIF_HEARTS = {
    0: (7, 6, (
        "...#####....#####...",
        "..#######..#######..",
        ".########..########.",
        ".##################.",
        "####################",
        "####################",
        ".##################.",
        ".##################.",
        "..################..",
        "..################..",
        "...##############...",
        "....############....",
        ".....##########.....",
        "......########......",
        ".......######.......",
        "........####........",
        ".........##.........",
    )),
    10: (7, 6, (
        "...######..........",
        "..#########........",
        ".###########.......",
        ".############......",
        "##############.....",
        ".##############....",
        ".###############...",
        "..###############..",
        "...################",
        "....##############.",
        "..###############..",
        "..##############...",
        ".##############....",
        ".#############.....",
        ".############......",
        ".###########.......",
        "..#########........",
        "...#######.........",
        "....####...........",
    )),
}  # fmt: skip


def _moments(image):
    """(area, centroid x, centroid y, axis ratio, major axis in degrees anticlockwise on screen)
    of a binary image's white pixels, in pixels with (j + 0.5, i + 0.5) for pixel (i, j)."""
    rows, cols = np.nonzero(image)
    x, y = cols + 0.5, rows + 0.5
    dx, dy = x - x.mean(), y - y.mean()
    xx, yy, xy = (dx * dx).mean(), (dy * dy).mean(), (dx * dy).mean()
    small, large = np.linalg.eigvalsh([[xx, xy], [xy, yy]])
    angle = 0.5 * math.degrees(math.atan2(-2 * xy, xx - yy))  # y grows downwards
    return len(rows), x.mean(), y.mean(), math.sqrt(large / small), angle


def test_areas_are_the_official_ones_per_shape_and_scale():
    turns = np.array(
        [(o, x, y) for o in range(40) for x, y in ((0, 0), (9, 22), (17, 5), (31, 31))]
    )
    for shape in range(3):
        for scale in range(6):
            area = _moments(_one(shape, scale, orientation=0, pos_x=0, pos_y=0))[0]
            assert area == pytest.approx(GIF_AREAS[shape][scale], rel=0.05), (shape, scale)
            classes = np.column_stack([np.full((len(turns), 2), (shape, scale)), turns])
            mean = dsprites.render(classes).reshape(len(turns), -1).sum(axis=1).mean()
            value = dsprites.FACTOR_VALUES[1][scale]
            expected = NOTEBOOK_AREA_OVER_SCALE_SQUARED[shape] * value**2
            assert mean == pytest.approx(expected, rel=0.05), (shape, scale)


def test_turning_sprites_keep_the_official_area_and_axis_ratio():
    for shape, (area, ratio) in GIF_TURNING_AREA_AND_RATIO.items():
        moments = np.array([_moments(_one(shape, 5, o, 0, 0)) for o in range(1, 39)])
        assert moments[:, 0].mean() == pytest.approx(area, rel=0.05), shape
        assert moments[:, 3].mean() == pytest.approx(ratio, rel=0.05), shape


def test_the_ellipse_has_the_official_axis_ratio_at_every_scale():
    for scale, ratio in enumerate(GIF_ELLIPSE_RATIOS):
        assert _moments(_one(1, scale, 0, 0, 0))[3] == pytest.approx(ratio, rel=0.05), scale
    long, short = dsprites.ELLIPSE_AXES
    assert long / short == pytest.approx(NOTEBOOK_ELLIPSE_RATIO, rel=0.05)


def test_every_position_class_centres_the_sprite_where_the_official_one_is():
    for pos_x, x in enumerate(GIF_HEART_X):
        assert _moments(_one(2, 5, 0, pos_x, 31))[1] == pytest.approx(x, abs=0.5), pos_x
    for pos_y, y in enumerate(GIF_HEART_Y):
        assert _moments(_one(2, 5, 0, 0, pos_y))[2] == pytest.approx(y, abs=0.5), pos_y
    # cell 9's second to fourth images, their other classes read by matching them to the grid
    for shape, scale, orientation, pos_y in ((0, 5, 5, 27), (1, 2, 18, 23), (1, 0, 20, 13)):
        centre = _moments(_one(shape, scale, orientation, 0, pos_y))[1]
        assert centre == pytest.approx(NOTEBOOK_POS_X0_CENTRE, abs=0.5)


def test_sprites_turn_anticlockwise_on_screen_as_the_official_ones():
    for scale in (2, 3, 4):  # the scales of cell 10's ellipses
        angle = _moments(_one(1, scale, orientation=5))[4]
        assert angle == pytest.approx(NOTEBOOK_ORIENTATION_5_ANGLE, abs=2.0), scale
    for orientation, centroid in GIF_HEART_TURNING.items():
        moments = _moments(_one(2, 5, orientation, 0, 0))
        assert moments[1:3] == pytest.approx(centroid, abs=0.5), orientation


def test_the_heart_has_the_official_outline():
    for orientation, (top, left, rows) in GIF_HEARTS.items():
        official = np.zeros((64, 64), dtype=bool)
        official[top : top + len(rows), left : left + len(rows[0])] = [
            [char == "#" for char in row] for row in rows
        ]
        ours = _one(2, 5, orientation, 0, 0).astype(bool)
        overlap = np.sum(ours & official) / np.sum(ours | official)
        assert overlap > 0.95, orientation


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
