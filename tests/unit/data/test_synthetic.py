"""The generated data sets: seeded, in range, with labels that mean something."""

import numpy as np
import pytest

from aecli.config.dataset import (
    DatasetName,
    SyntheticConfig,
    SyntheticKind,
    TabularConfig,
)
from aecli.data import load_arrays, synthetic


def _arrays(kind, size=500, seed=0, **keys):
    if kind in ("transactions", "network_traffic"):  # the tabular sets are datasets of their own
        return load_arrays(TabularConfig(name=DatasetName(kind), size=size, **keys), seed)
    return load_arrays(
        SyntheticConfig(name=DatasetName.synthetic, kind=SyntheticKind(kind), size=size, **keys),
        seed,
    )


@pytest.mark.parametrize(
    "kind, shape", [("circle", (4,)), ("binary", (20,)), ("shapes", (28, 28, 1))]
)
def test_synthetic_sets_are_seeded_and_in_unit_range(kind, shape):
    first, again, other = _arrays(kind, seed=0), _arrays(kind, seed=0), _arrays(kind, seed=1)
    assert first.input_shape == shape
    # 80% of `size` is the training split, a tenth of it goes to validation
    assert (len(first.train.x), len(first.val.x), len(first.test.x)) == (360, 40, 100)
    for split in (first.train, first.val, first.test):
        assert (
            split.x.dtype == np.float32
            and split.y.dtype == np.int64
            and split.y.shape == (len(split.x),)
        )
        assert split.x.min() >= 0 and split.x.max() <= 1
    np.testing.assert_array_equal(first.train.x, again.train.x)
    np.testing.assert_array_equal(first.test.y, again.test.y)
    assert not np.array_equal(first.train.x, other.train.x)


def test_circle_is_scaled_by_the_training_columns_and_labelled_by_angle():
    x_train, y_train, x_test, y_test = synthetic.generate("circle", 2000, seed=0)
    np.testing.assert_allclose(x_train.min(axis=0), 0, atol=1e-7)
    np.testing.assert_allclose(x_train.max(axis=0), 1, atol=1e-7)
    assert x_test.min() >= 0 and x_test.max() <= 1
    assert set(y_train.tolist()) == set(range(8))
    # (cos t, sin t) are the first two columns: their angle falls in the labelled eighth, up to the
    # noise
    angle = np.arctan2(x_train[:, 1] - 0.5, x_train[:, 0] - 0.5) % (2 * np.pi)
    assert np.mean(angle // (np.pi / 4) == y_train) > 0.75
    # the last two columns are (0.5 cos 2t, 0.5 sin 2t): twice the angle of the first two
    double = np.arctan2(x_train[:, 3] - 0.5, x_train[:, 2] - 0.5) % (2 * np.pi)
    assert np.mean(np.abs(np.angle(np.exp(1j * (double - 2 * angle)))) < 0.6) > 0.8


def test_binary_vectors_are_noisy_copies_of_their_label_prototype():
    x_train, y_train, _, _ = synthetic.generate("binary", 2000, seed=0)
    assert x_train.shape == (1600, 20) and set(np.unique(x_train).tolist()) == {0.0, 1.0}
    assert len(set(y_train.tolist())) == 8
    for label in range(8):
        rows = x_train[y_train == label]
        prototype = rows.mean(axis=0) > 0.5
        assert (
            0.05 < np.mean(rows != prototype) < 0.15
        )  # about 10% of the bits flipped, not coin flips


def test_shapes_are_binary_images_whose_label_names_the_shape():
    x_train, y_train, _, _ = synthetic.generate("shapes", 1200, seed=0)
    assert x_train.shape == (960, 28, 28, 1) and set(np.unique(x_train).tolist()) == {0.0, 1.0}
    assert set(y_train.tolist()) == set(range(6))
    pixels = x_train[..., 0] > 0
    rows, cols = pixels.any(axis=2).sum(axis=1), pixels.any(axis=1).sum(axis=1)
    assert (rows > 0).all()
    fill = pixels.sum(axis=(1, 2)) / (rows * cols)
    last_row = pixels[
        np.arange(len(pixels)), 27 - np.argmax(pixels[:, ::-1].any(axis=2), axis=1)
    ].sum(axis=1)
    square, disc, horizontal, vertical, plus, triangle = (y_train == label for label in range(6))
    assert (fill[square] == 1).all() and (rows[square] == cols[square]).all()
    assert (fill[disc] < 1).all() and (rows[disc] == cols[disc]).all()
    assert (rows[horizontal] < cols[horizontal]).all() and (cols[vertical] < rows[vertical]).all()
    assert (last_row[plus] < cols[plus]).all() and (last_row[triangle] == cols[triangle]).all()
    assert (fill[triangle] < 1).all()


def test_a_limited_tabular_test_split_keeps_its_anomalies():
    arrays = _arrays("network_traffic", size=1000, test_limit=120)
    assert len(arrays.test.x) == 120 and set(arrays.test.y.tolist()) == {0, 1, 2}
