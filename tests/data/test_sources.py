"""Which files each dataset is read from, and what the user is told when none are found."""

from pathlib import Path

import numpy as np
import pytest

from aecli.config.schema import DatasetConfig, DatasetName, SyntheticKind
from aecli.data import load_arrays
from aecli.errors import DataError

from dataset_files import write_cifar, write_fashion, write_mnist_npz

FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def _cfg(name, **keys):
    return DatasetConfig(name=DatasetName(name), **keys)


def _fill(arrays):
    """The constant value of the first training image (fixtures encode where they came from)."""
    return round(float(arrays.train.x[0].max()) * 255)


def test_fashion_data_dir_wins_over_keras_cache(tmp_path, isolated_home):
    write_fashion(isolated_home / ".keras" / "datasets" / "fashion-mnist", fill=200)
    write_fashion(tmp_path / "mine", fill=0)
    arrays = load_arrays(_cfg("fashion_mnist", data_dir=str(tmp_path / "mine"), validation_fraction=0.2), seed=0)
    assert _fill(arrays) < 50


def test_fashion_keras_cache_wins_over_debian(tmp_path, isolated_home, monkeypatch):
    write_fashion(isolated_home / ".keras" / "datasets" / "fashion-mnist", fill=200)
    write_fashion(tmp_path / "debian" / "fashion-mnist", fill=0)
    monkeypatch.setenv("AECLI_DEBIAN_DATASETS", str(tmp_path / "debian"))
    assert _fill(load_arrays(_cfg("fashion_mnist"), seed=0)) >= 200


def test_fashion_falls_back_to_debian_folder(tmp_path, isolated_home, monkeypatch):
    write_fashion(tmp_path / "debian" / "fashion-mnist", fill=100)
    monkeypatch.setenv("AECLI_DEBIAN_DATASETS", str(tmp_path / "debian"))
    arrays = load_arrays(_cfg("fashion_mnist"), seed=0)
    assert arrays.input_shape == (28, 28, 1) and 100 <= _fill(arrays) < 150


@pytest.mark.parametrize("name, expected", [
    ("fashion_mnist", "dataset-fashion-mnist"), ("mnist", "mnist.npz"), ("cifar10", "cifar-10-batches-py")])
def test_nothing_found_offline_lists_where_files_go(isolated_home, name, expected):
    with pytest.raises(DataError) as error:
        load_arrays(_cfg(name, download=False), seed=0)
    message = str(error.value)
    assert expected in message and str(isolated_home) in message and "dataset.data_dir" in message


def test_data_dir_that_is_a_file_is_rejected(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="dataset.data_dir=.*is not a folder"):
        load_arrays(_cfg("mnist", data_dir=str(tmp_path / "file")), seed=0)


def test_mnist_npz_from_data_dir_is_scaled_with_a_channel_axis(tmp_path, isolated_home):
    write_mnist_npz(tmp_path / "d" / "mnist.npz", n_train=40, n_test=10, fill=255)
    arrays = load_arrays(_cfg("mnist", data_dir=str(tmp_path / "d"), validation_fraction=0.25), seed=0)
    assert arrays.train.x.shape == (30, 28, 28, 1) and arrays.val.x.shape == (10, 28, 28, 1)
    assert arrays.test.x.shape == (10, 28, 28, 1)
    assert arrays.train.x.dtype == np.float32 and 0 <= arrays.train.x.min() and arrays.train.x.max() <= 1


def test_images_of_the_wrong_shape_are_rejected(tmp_path, isolated_home):
    write_mnist_npz(tmp_path / "d" / "mnist.npz", x_train=np.zeros((40, 32, 32), np.uint8))
    with pytest.raises(DataError, match=r"\(32, 32, 1\)"):
        load_arrays(_cfg("mnist", data_dir=str(tmp_path / "d")), seed=0)


def test_cifar_from_keras_cache(isolated_home):
    write_cifar(isolated_home / ".keras" / "datasets" / "cifar-10-batches-py")
    arrays = load_arrays(_cfg("cifar10", validation_fraction=0.2), seed=0)
    assert arrays.input_shape == (32, 32, 3) and len(arrays.train.x) + len(arrays.val.x) == 30


def test_validation_split_is_seeded_disjoint_and_limited(tmp_path, isolated_home):
    write_fashion(tmp_path / "f", n_train=200, n_test=20)
    cfg = _cfg("fashion_mnist", data_dir=str(tmp_path / "f"), validation_fraction=0.1)
    first, again, other = (load_arrays(cfg, seed=s) for s in (1, 1, 2))
    train_ids = set(np.round(first.train.x[:, 0, 0, 0] * 255).astype(int))
    val_ids = set(np.round(first.val.x[:, 0, 0, 0] * 255).astype(int))
    assert len(val_ids) == 20 and len(train_ids) == 180 and not train_ids & val_ids
    np.testing.assert_array_equal(first.val.x, again.val.x)
    assert not np.array_equal(first.val.x, other.val.x)
    limited = load_arrays(_cfg("fashion_mnist", data_dir=str(tmp_path / "f"), limit=45), seed=1)
    assert (len(limited.train.x), len(limited.val.x), len(limited.test.x)) == (45, 5, 20)


@pytest.mark.skipif(not FASHION.exists(), reason="Debian's dataset-fashion-mnist is not installed (make data)")
def test_real_fashion_mnist_from_debian():
    arrays = load_arrays(_cfg("fashion_mnist", limit=512), seed=0)
    assert arrays.train.x.shape == (512, 28, 28, 1) and arrays.train.x.dtype == np.float32
    assert 0.0 == arrays.train.x.min() and arrays.train.x.max() == 1.0
    assert set(arrays.test.y.tolist()) == set(range(10))


@pytest.mark.parametrize("kind, shape", [("circle", (4,)), ("binary", (20,)), ("shapes", (28, 28, 1))])
def test_synthetic_sets_are_seeded_and_in_unit_range(kind, shape):
    cfg = _cfg("synthetic", kind=SyntheticKind(kind), size=500)
    first, again, other = (load_arrays(cfg, seed=s) for s in (0, 0, 1))
    assert first.input_shape == shape and first.train.x.dtype == np.float32
    assert first.train.x.min() >= 0 and first.train.x.max() <= 1
    np.testing.assert_array_equal(first.train.x, again.train.x)
    assert not np.array_equal(first.train.x, other.train.x)


def test_synthetic_binary_is_binary_and_shapes_has_six_classes():
    binary = load_arrays(_cfg("synthetic", kind=SyntheticKind.binary, size=500), seed=0)
    assert set(np.unique(binary.train.x).tolist()) == {0.0, 1.0}
    shapes = load_arrays(_cfg("synthetic", kind=SyntheticKind.shapes, size=600), seed=0)
    assert set(shapes.train.y.tolist()) == set(range(6))
    assert all(shapes.train.x[i].sum() > 0 for i in range(len(shapes.train.x)))
