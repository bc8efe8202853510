"""Which files each dataset is read from, and what the user is told when none are found."""

from pathlib import Path

import numpy as np
import pytest
from dataset_files import write_cifar, write_fashion, write_idx, write_mnist_npz

from aecli.config.dataset import DatasetName, FileDatasetConfig
from aecli.data import load_arrays, sources
from aecli.errors import DataError

FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def _cfg(name, **keys):
    return FileDatasetConfig(name=DatasetName(name), **keys)


def _fill(arrays):
    """The constant value of the first training image (fixtures encode where they came from)."""
    return round(float(arrays.train.x[0].max()) * 255)


def test_fashion_data_dir_wins_over_keras_cache(tmp_path, isolated_home):
    write_fashion(isolated_home / ".keras" / "datasets" / "fashion-mnist", fill=200)
    write_fashion(tmp_path / "mine", fill=0)
    arrays = load_arrays(
        _cfg("fashion_mnist", data_dir=str(tmp_path / "mine"), validation_fraction=0.2), seed=0
    )
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


@pytest.mark.parametrize(
    "name, expected",
    [
        ("fashion_mnist", "dataset-fashion-mnist"),
        ("mnist", "mnist.npz"),
        ("cifar10", "cifar-10-batches-py"),
    ],
)
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
    arrays = load_arrays(
        _cfg("mnist", data_dir=str(tmp_path / "d"), validation_fraction=0.25), seed=0
    )
    assert arrays.train.x.shape == (30, 28, 28, 1) and arrays.val.x.shape == (10, 28, 28, 1)
    assert arrays.test.x.shape == (10, 28, 28, 1)
    assert (
        arrays.train.x.dtype == np.float32
        and 0 <= arrays.train.x.min()
        and arrays.train.x.max() <= 1
    )


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


@pytest.mark.skipif(
    not FASHION.exists(), reason="Debian's dataset-fashion-mnist is not installed (make data)"
)
def test_real_fashion_mnist_from_debian(isolated_home, monkeypatch):
    monkeypatch.setenv("AECLI_DEBIAN_DATASETS", str(FASHION.parent.parent))
    arrays = load_arrays(_cfg("fashion_mnist", limit=512, test_limit=512, download=False), seed=0)
    assert arrays.train.x.shape == (512, 28, 28, 1) and arrays.train.x.dtype == np.float32
    assert 0.0 == arrays.train.x.min() and arrays.train.x.max() == 1.0
    assert len(arrays.val.x) == 57 and arrays.test.x.shape == (512, 28, 28, 1)
    assert arrays.train.y.dtype == np.int64 and set(arrays.test.y.tolist()) == set(range(10))
    # the training cap leaves the test split whole unless test_limit says otherwise
    whole = load_arrays(_cfg("fashion_mnist", limit=512, download=False), seed=0)
    assert len(whole.train.x) == 512 and len(whole.test.x) == 10000


def test_mnist_data_dir_wins_over_keras_cache(tmp_path, isolated_home):
    write_mnist_npz(isolated_home / ".keras" / "datasets" / "mnist.npz", fill=200)
    write_mnist_npz(tmp_path / "d" / "mnist.npz", fill=0)
    assert _fill(load_arrays(_cfg("mnist", data_dir=str(tmp_path / "d")), seed=0)) < 50
    assert _fill(load_arrays(_cfg("mnist", download=False), seed=0)) >= 200


def test_mnist_pixels_are_the_file_bytes_over_255(tmp_path, isolated_home):
    write_mnist_npz(tmp_path / "d" / "mnist.npz", n_train=40, n_test=10, fill=7)
    arrays = load_arrays(_cfg("mnist", data_dir=str(tmp_path / "d")), seed=0)
    np.testing.assert_allclose(arrays.test.x[:, 0, 0, 0], (7 + np.arange(10)) / 255, rtol=1e-6)
    np.testing.assert_array_equal(arrays.test.y, np.arange(10))


def test_images_that_are_not_uint8_are_rejected(tmp_path, isolated_home):
    write_mnist_npz(tmp_path / "d" / "mnist.npz", x_test=np.zeros((10, 28, 28), np.float64))
    with pytest.raises(DataError, match="test images are float64; expected uint8"):
        load_arrays(_cfg("mnist", data_dir=str(tmp_path / "d")), seed=0)


@pytest.mark.parametrize("inner", ["", "cifar-10-batches-py"])
def test_cifar_data_dir_may_be_the_batches_folder_or_its_parent(tmp_path, isolated_home, inner):
    write_cifar(tmp_path / "d" / "cifar-10-batches-py", per_batch=4)
    arrays = load_arrays(
        _cfg("cifar10", data_dir=str(tmp_path / "d" / inner), validation_fraction=0.25), seed=0
    )
    assert (len(arrays.train.x), len(arrays.val.x), len(arrays.test.x)) == (15, 5, 4)
    assert (
        arrays.train.x.dtype == np.float32
        and 0 <= arrays.train.x.min()
        and arrays.train.x.max() <= 1
    )


def test_cifar_found_where_keras_3_extracts_it(isolated_home):
    write_cifar(
        isolated_home / ".keras" / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    )
    assert load_arrays(_cfg("cifar10", download=False), seed=0).input_shape == (32, 32, 3)


def test_a_capped_test_split_is_a_seeded_subset_in_file_order(tmp_path, isolated_home):
    sorted_labels = np.repeat(np.arange(10), 10)
    write_mnist_npz(tmp_path / "d" / "mnist.npz", n_test=100, y_test=sorted_labels)
    cfg = _cfg("mnist", data_dir=str(tmp_path / "d"), test_limit=30)
    first, again, other = (load_arrays(cfg, seed=s) for s in (0, 0, 1))
    picked = np.round(first.test.x[:, 0, 0, 0] * 255).astype(int)
    assert len(picked) == 30 and np.all(np.diff(picked) > 0)
    np.testing.assert_array_equal(first.test.y, sorted_labels[picked])
    assert len(set(first.test.y.tolist())) >= 8  # the first 30 rows would hold labels 0, 1, 2 only
    np.testing.assert_array_equal(first.test.x, again.test.x)
    assert not np.array_equal(first.test.x, other.test.x)


def test_cifar_folder_missing_a_batch_names_it(tmp_path, isolated_home):
    folder = write_cifar(tmp_path / "d" / "cifar-10-batches-py")
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataError, match="lacks data_batch_3"):
        load_arrays(_cfg("cifar10", data_dir=str(tmp_path / "d")), seed=0)


# A named dataset.data_dir is the only place searched: these used to fall back silently to the
# Keras cache, Debian's folder or the download while config.yaml recorded the named folder.


def _no_download(monkeypatch):
    """Fails the test if the Keras download is tried."""
    import keras

    def refuse(*_, **__):
        raise AssertionError("the Keras download was tried although dataset.data_dir was set")

    for name in ("mnist", "fashion_mnist"):
        monkeypatch.setattr(getattr(keras.datasets, name), "load_data", refuse)
    monkeypatch.setattr(keras.utils, "get_file", refuse)


@pytest.mark.parametrize(
    "name, write_elsewhere, missing",
    [
        (
            "fashion_mnist",
            lambda home, tmp: write_fashion(home / ".keras/datasets/fashion-mnist"),
            "lacks train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
            "t10k-images-idx3-ubyte.gz, "
            "t10k-labels-idx1-ubyte.gz",
        ),
        (
            "fashion_mnist",
            lambda home, tmp: write_fashion(tmp / "debian" / "fashion-mnist"),
            "lacks train-images-idx3-ubyte.gz",
        ),
        (
            "mnist",
            lambda home, tmp: write_mnist_npz(home / ".keras" / "datasets" / "mnist.npz"),
            "lacks mnist.npz",
        ),
        (
            "cifar10",
            lambda home, tmp: write_cifar(home / ".keras" / "datasets" / "cifar-10-batches-py"),
            "lacks data_batch_1, data_batch_2, data_batch_3, data_batch_4, data_batch_5, "
            "test_batch, "
            "a cifar-10-batches-py/ folder",
        ),
    ],
    ids=["fashion beside a keras cache", "fashion beside debian", "mnist", "cifar10"],
)
def test_an_empty_data_dir_is_an_error_naming_the_missing_files_not_a_fallback(
    tmp_path, isolated_home, monkeypatch, name, write_elsewhere, missing
):
    write_elsewhere(isolated_home, tmp_path)
    monkeypatch.setenv("AECLI_DEBIAN_DATASETS", str(tmp_path / "debian"))
    _no_download(monkeypatch)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as error:
        load_arrays(_cfg(name, data_dir=str(tmp_path / "empty"), download=True), seed=0)
    message = str(error.value)
    assert f"dataset.data_dir={tmp_path / 'empty'}" in message and missing in message
    assert "drop dataset.data_dir to search the default places and the Keras download" in message


def test_a_data_dir_missing_one_fashion_file_names_just_it(tmp_path, isolated_home, monkeypatch):
    write_fashion(isolated_home / ".keras" / "datasets" / "fashion-mnist")
    (write_fashion(tmp_path / "mine") / "t10k-labels-idx1-ubyte.gz").unlink()
    _no_download(monkeypatch)
    with pytest.raises(DataError, match=r"mine\) lacks t10k-labels-idx1-ubyte.gz\. Put the four"):
        load_arrays(_cfg("fashion_mnist", data_dir=str(tmp_path / "mine")), seed=0)


def test_a_cifar_data_dir_with_an_empty_batches_folder_names_the_batches(
    tmp_path, isolated_home, monkeypatch
):
    write_cifar(isolated_home / ".keras" / "datasets" / "cifar-10-batches-py")
    (tmp_path / "d" / "cifar-10-batches-py").mkdir(parents=True)
    _no_download(monkeypatch)
    with pytest.raises(DataError, match=r"cifar-10-batches-py lacks data_batch_1, .*test_batch"):
        load_arrays(_cfg("cifar10", data_dir=str(tmp_path / "d")), seed=0)


def test_the_files_read_are_reported_for_a_data_dir(tmp_path, isolated_home):
    folder = write_fashion(tmp_path / "f")
    assert sources.load(_cfg("fashion_mnist", data_dir=str(folder))).files == [
        str(folder / name) for name in sources.FASHION_FILES
    ]
    path = write_mnist_npz(tmp_path / "m" / "mnist.npz")
    assert sources.load(_cfg("mnist", data_dir=str(path.parent))).files == [str(path)]
    batches = write_cifar(tmp_path / "c" / "cifar-10-batches-py")
    assert sources.load(_cfg("cifar10", data_dir=str(batches.parent))).files == [
        str(batches / name) for name in sources.CIFAR_FILES
    ]


def test_the_files_read_are_reported_for_the_default_places(tmp_path, isolated_home, monkeypatch):
    debian = write_fashion(tmp_path / "debian" / "fashion-mnist")
    monkeypatch.setenv("AECLI_DEBIAN_DATASETS", str(tmp_path / "debian"))
    files = sources.load(_cfg("fashion_mnist")).files
    assert files == [str(debian / name) for name in sources.FASHION_FILES]
    cached = write_mnist_npz(isolated_home / ".keras" / "datasets" / "mnist.npz")
    assert sources.load(_cfg("mnist", download=False)).files == [str(cached)]


def test_a_keras_download_is_reported_as_such(isolated_home, monkeypatch):
    import keras

    def fake_download():
        x, y = np.zeros((20, 28, 28), np.uint8), np.arange(20, dtype=np.uint8) % 10
        return (x, y), (x[:5], y[:5])

    monkeypatch.setattr(keras.datasets.mnist, "load_data", fake_download)
    loaded = sources.load(_cfg("mnist", download=True))
    assert loaded.files == ["keras download"] and loaded.x_train.shape == (20, 28, 28, 1)
    assert loaded.y_train.dtype == np.int64


def test_the_cifar_download_reports_the_batches_it_read(tmp_path, isolated_home, monkeypatch):
    import keras

    batches = write_cifar(tmp_path / "download" / "cifar-10-batches-py")
    monkeypatch.setattr(keras.utils, "get_file", lambda **_: str(batches.parent))
    loaded = sources.load(_cfg("cifar10", download=True))
    assert loaded.files == [str(batches / name) for name in sources.CIFAR_FILES]


def test_bad_arrays_found_by_load_name_the_files(tmp_path, isolated_home):
    folder = write_fashion(tmp_path / "f", n_train=30)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(29, dtype=np.uint8) % 10)
    with pytest.raises(DataError, match=r"ubyte.gz\): x_train holds 30 examples but y_train 29"):
        load_arrays(_cfg("fashion_mnist", data_dir=str(folder)), seed=0)
