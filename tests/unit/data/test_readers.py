"""The file readers on fixtures written in the real formats."""

import gzip
import os
import pickle
import pickletools

import numpy as np
import pytest
from dataset_files import write_cifar, write_idx, write_mnist_npz, write_python2_pickle

from aecli.config.dataset import DatasetName, FileDatasetConfig
from aecli.data import readers, sources
from aecli.errors import DataError


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
        raw = readers._CifarUnpickler(stream, encoding="bytes").load()[b"data"]
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


def test_cifar_pickle_of_a_foreign_object_is_refused_without_importing_it(tmp_path):
    folder = write_cifar(tmp_path / "c")
    (folder / "data_batch_2").write_bytes(
        b"cno_such_module\nThing\n."
    )  # a pickled global of a missing module
    with pytest.raises(DataError, match="data_batch_2 refers to no_such_module.Thing, which"):
        readers.read_cifar10(folder)


@pytest.mark.parametrize(
    "content",
    [
        pickle.dumps({b"labels": [1]}, protocol=4)[:-5],
        pickle.dumps([1, 2], protocol=4),
        pickle.dumps({b"labels": [1]}, protocol=4),
    ],
    ids=["truncated", "a list", "no data key"],
)
def test_cifar_batch_that_is_truncated_or_not_a_batch_dict_is_rejected(tmp_path, content):
    folder = write_cifar(tmp_path / "c")
    (folder / "data_batch_2").write_bytes(content)
    with pytest.raises(DataError, match="data_batch_2 is unreadable: not a CIFAR-10 batch"):
        readers.read_cifar10(folder)


class _Payload:
    """What a crafted batch holds: unpickling it calls os.system to create `marker`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class _BatchWithPayload(_Payload):
    """A crafted batch that runs its payload and then hands back a valid-looking batch."""

    def __reduce__(self):
        batch = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]}
        # tuple.__getitem__((batch, os.system(...)), 0): runs the payload, returns the batch
        return tuple.__getitem__, ((batch, _Payload(self.marker)), 0)


def test_a_cifar_batch_that_would_run_a_command_is_refused_and_nothing_runs(tmp_path):
    folder = write_cifar(tmp_path / "c")
    marker = tmp_path / "pwned"
    with open(folder / "data_batch_1", "wb") as stream:
        pickle.dump(_Payload(marker), stream, protocol=2)
    with pytest.raises(DataError) as error:
        readers.read_cifar10(folder)
    assert not marker.exists()
    message = str(error.value)
    assert str(folder / "data_batch_1") in message
    assert "refers to posix.system" in message or "refers to nt.system" in message
    assert "never holds; refusing to load it" in message and "cifar-10-python.tar.gz" in message


def test_a_crafted_batch_that_also_returns_a_valid_batch_is_refused(tmp_path):
    folder = write_cifar(tmp_path / "c")
    marker = tmp_path / "pwned"
    with open(folder / "test_batch", "wb") as stream:
        pickle.dump(_BatchWithPayload(marker), stream, protocol=2)
    # the unrestricted pickle.load would run the payload and return a batch the checks accept
    with pytest.raises(DataError, match=r"test_batch refers to __builtin__\.getattr, which"):
        readers.read_cifar10(folder)
    assert not marker.exists()


@pytest.mark.parametrize(
    "module, name",
    [
        ("builtins", "eval"),
        ("numpy", "load"),
        ("numpy.core", "_reconstruct"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),
    ],
)
def test_every_global_outside_numpys_array_reconstruction_is_refused(tmp_path, module, name):
    folder = write_cifar(tmp_path / "c")
    (folder / "data_batch_4").write_bytes(b"\x80\x02c" + f"{module}\n{name}\n".encode() + b".")
    with pytest.raises(DataError, match=f"data_batch_4 refers to {module}\\.{name}, which a CIFAR"):
        readers.read_cifar10(folder)


def test_the_fixture_batches_hold_only_what_the_real_files_hold(tmp_path):
    folder = write_cifar(tmp_path / "c")
    raw = (folder / "test_batch").read_bytes()
    opcodes = [(op.name, arg) for op, arg, _ in pickletools.genops(raw)]
    assert {arg for op, arg in opcodes if op == "GLOBAL"} == {
        "numpy.core.multiarray _reconstruct",
        "numpy ndarray",
        "numpy dtype",
    }
    # Python 2's str, read back as bytes with encoding="bytes"
    assert "BINUNICODE" not in {op for op, _ in opcodes}


def test_arrays_pickled_by_numpy_2_in_python_3_load_too(tmp_path):
    folder = write_cifar(tmp_path / "c")
    batch = {b"data": np.full((3, 3072), 9, np.uint8), b"labels": [1, 2, 3]}
    with open(folder / "test_batch", "wb") as stream:
        pickle.dump(batch, stream, protocol=4)  # protocol >= 3 writes bytes without _codecs.encode
    _, _, x_test, y_test = readers.read_cifar10(folder)
    assert x_test.shape == (3, 32, 32, 3) and int(x_test.max()) == 9
    assert y_test.tolist() == [1, 2, 3]


def test_a_crafted_batch_in_the_keras_cache_is_refused_too(isolated_home):
    folder = write_cifar(isolated_home / ".keras" / "datasets" / "cifar-10-batches-py")
    marker = isolated_home / "pwned"
    with open(folder / "data_batch_5", "wb") as stream:
        pickle.dump(_Payload(marker), stream, protocol=2)
    with pytest.raises(DataError, match="data_batch_5 refers to"):
        sources.load_files(FileDatasetConfig(name=DatasetName.cifar10, download=False))
    assert not marker.exists()


def test_python_2_pickles_of_other_objects_round_trip_through_the_fixture_writer(tmp_path):
    write_python2_pickle(tmp_path / "p", {b"k": [1, b"v"]})
    with open(tmp_path / "p", "rb") as stream:
        assert readers._CifarUnpickler(stream, encoding="bytes").load() == {b"k": [1, b"v"]}


def test_the_cifar_download_is_read_by_the_restricted_unpickler(
    tmp_path, isolated_home, monkeypatch
):
    import keras

    extracted = write_cifar(tmp_path / "download" / "cifar-10-batches-py")
    marker = tmp_path / "pwned"
    with open(extracted / "data_batch_1", "wb") as stream:
        pickle.dump(_Payload(marker), stream, protocol=2)
    # stands in for the network: Keras' get_file hands back the folder it extracted into
    monkeypatch.setattr(keras.utils, "get_file", lambda **_: str(tmp_path / "download"))
    with pytest.raises(DataError, match="data_batch_1 refers to"):
        sources.load_files(FileDatasetConfig(name=DatasetName.cifar10, download=True))
    assert not marker.exists()


@pytest.mark.parametrize(
    "replace, problem",
    [
        (
            dict(y_train=np.array([str(i % 10) for i in range(40)])),
            r"y_train holds strings \(<U1\); labels must be integer class numbers",
        ),
        (
            dict(y_test=np.linspace(0, 9, 10)),
            r"y_test holds float64 values; labels must be integer",
        ),
        (
            dict(x_train=np.zeros((0, 28, 28), np.uint8), y_train=np.zeros(0, np.uint8)),
            r"x_train holds no examples \(shape \(0, 28, 28\)",
        ),
        (dict(x_test=np.zeros((0,), np.uint8)), r"x_test holds no examples"),
        (dict(y_train=np.arange(39) % 10), "x_train holds 40 examples but y_train 39 labels"),
        (
            dict(y_test=np.eye(10, dtype=np.uint8)),
            r"y_test has shape \(10, 10\); expected one integer",
        ),
        (dict(x_train=np.array([["a"] * 4] * 40)), "x_train holds <U1 values, not numbers"),
    ],
    ids=[
        "string labels",
        "float labels",
        "empty x_train",
        "empty x_test",
        "length mismatch",
        "one-hot",
        "string images",
    ],
)
def test_mnist_npz_with_bad_arrays_names_the_file_the_array_and_the_fix(tmp_path, replace, problem):
    path = write_mnist_npz(tmp_path / "mnist.npz", **replace)
    with pytest.raises(DataError, match=problem) as error:
        readers.read_mnist_npz(path)
    assert f"The MNIST file {path}: " in str(error.value)
    assert "Replace it with the original mnist.npz" in str(error.value)


def test_mnist_npz_holding_an_object_array_is_refused_not_unpickled(tmp_path):
    labels = np.array([1, "a", None] * 13 + [2], dtype=object)
    path = write_mnist_npz(tmp_path / "mnist.npz", y_train=labels)
    with pytest.raises(DataError, match="mnist.npz is unreadable: .*allow_pickle=False"):
        readers.read_mnist_npz(path)


def test_bad_mnist_npz_reaches_the_user_as_one_paragraph(aecli, tmp_path):
    write_mnist_npz(tmp_path / "d" / "mnist.npz", y_train=np.array(["x"] * 40))
    result = aecli(
        "train", "dataset=mnist", f"dataset.data_dir={tmp_path / 'd'}", "trainer.epochs=1"
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
    assert "y_train holds strings" in result.stderr + result.stdout
