"""The file readers on fixtures written in the real formats."""

import gzip
import pickle

import numpy as np
import pytest

from aecli.data import readers
from aecli.errors import DataError

from dataset_files import write_cifar, write_idx, write_mnist_npz


def test_idx_round_trips_values_and_shape(tmp_path):
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28) % 251
    write_idx(tmp_path / "x.gz", array)
    np.testing.assert_array_equal(readers.read_idx(tmp_path / "x.gz"), array)


def test_idx_with_a_wrong_magic_is_rejected_naming_the_file(tmp_path):
    with gzip.open(tmp_path / "bad.gz", "wb") as stream:
        stream.write(b"\x01\x02\x08\x01" + b"\x00\x00\x00\x02" + b"ab")
    with pytest.raises(DataError, match="bad.gz.*magic"):
        readers.read_idx(tmp_path / "bad.gz")


def test_truncated_idx_payload_is_rejected(tmp_path):
    path = tmp_path / "short.gz"
    write_idx(path, np.zeros((3, 28, 28), np.uint8))
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(DataError, match="short.gz.*promises"):
        readers.read_idx(path)


def test_truncated_gzip_stream_is_rejected(tmp_path):
    path = tmp_path / "cut.gz"
    write_idx(path, np.zeros((30, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(DataError, match="cut.gz"):
        readers.read_idx(path)


def test_mnist_npz_missing_a_key_is_rejected(tmp_path):
    path = write_mnist_npz(tmp_path / "mnist.npz", y_test=None)
    with pytest.raises(DataError, match="y_test"):
        readers.read_mnist_npz(path)


def test_cifar_batches_are_read_channel_last(tmp_path):
    folder = write_cifar(tmp_path / "cifar-10-batches-py")
    x_train, y_train, x_test, y_test = readers.read_cifar10(folder)
    assert x_train.shape == (30, 32, 32, 3) and x_test.shape == (6, 32, 32, 3)
    with open(folder / "test_batch", "rb") as stream:
        raw = pickle.load(stream, encoding="bytes")[b"data"]
    # the first 1024 values of a row are the red channel
    np.testing.assert_array_equal(x_test[0, :, :, 0].reshape(-1), raw[0, :1024])
    assert y_train.dtype == np.int64


def test_cifar_batch_of_the_wrong_width_is_rejected(tmp_path):
    folder = write_cifar(tmp_path / "c", data_width=100)
    with pytest.raises(DataError, match="3072"):
        readers.read_cifar10(folder)


def test_truncated_npz_is_rejected_naming_the_file(tmp_path):
    path = write_mnist_npz(tmp_path / "mnist.npz")
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DataError, match="mnist.npz.*not a readable .npz"):
        readers.read_mnist_npz(path)


def test_cifar_pickle_of_a_foreign_object_is_rejected(tmp_path):
    folder = write_cifar(tmp_path / "c")
    (folder / "data_batch_2").write_bytes(b"cno_such_module\nThing\n.")  # a pickled global of a missing module
    with pytest.raises(DataError, match="data_batch_2.*not a CIFAR-10 batch"):
        readers.read_cifar10(folder)
