"""Readers of the real dataset file formats, in NumPy alone.

Each raises DataError naming the file and what is wrong with it, so a truncated download
is reported as such instead of as a reshape error deep in a pipeline.
"""

import gzip
import pickle
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

try:  # NumPy 2 moved the C core to numpy._core; numpy.core is a deprecated alias
    from numpy._core import multiarray as np_multiarray
except ImportError:  # NumPy 1
    from numpy.core import multiarray as np_multiarray

from aecli.errors import DataError

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _corrupt(path: Path, what: str) -> DataError:
    return DataError(
        f"The dataset file {path} is unreadable: {what}. Delete it and put a complete copy there "
        "(or let Keras download it again)."
    )


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzipped or not), the format of MNIST and Fashion-MNIST: magic, dims, then the
    payload."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError, zlib.error) as error:
        raise _corrupt(path, f"{error}") from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_DTYPES:
        raise _corrupt(path, "it does not start with an IDX magic number")
    dtype, rank = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * rank
    if len(raw) < header:
        raise _corrupt(path, "its header is truncated")
    shape = struct.unpack(f">{rank}I", raw[4:header])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise _corrupt(
            path,
            f"the header promises {expected} bytes of data for shape {shape}, "
            f"the file holds {len(raw) - header}",
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def check_examples(
    where: str, x_name: str, x: np.ndarray, y_name: str, y: np.ndarray, fix: str
) -> None:
    """Examples and their labels agree: numbers, at least one example, one integer label each.

    Checked as soon as a file is read so that the message names the file and the array, where a
    later np.asarray(y, np.int64) or a batch of mismatched length would raise a bare traceback.
    `where` names the file ("The file /data/mnist.npz"); `fix` is the sentence saying what to do.
    """
    if x.dtype.kind not in "biuf":
        raise DataError(f"{where}: {x_name} holds {x.dtype} values, not numbers. {fix}")
    if x.ndim == 0:
        raise DataError(
            f"{where}: {x_name} is a single number, not an array of examples; expected shape "
            f"(examples, features) or (examples, height, width[, channels]). {fix}"
        )
    if len(x) == 0:
        raise DataError(
            f"{where}: {x_name} holds no examples (shape {x.shape}; expected "
            f"(examples, ...) with at least one example). {fix}"
        )
    if x.ndim == 1:
        raise DataError(
            f"{where}: {x_name} has shape {x.shape}, one number per example with no features; "
            f"expected (examples, features) or (examples, height, width[, channels]) (a single "
            f"feature per example is x.reshape(-1, 1)). {fix}"
        )
    if y.dtype.kind not in "biu":
        kind = f"strings ({y.dtype})" if y.dtype.kind in "US" else f"{y.dtype} values"
        raise DataError(
            f"{where}: {y_name} holds {kind}; labels must be integer class numbers "
            f"(e.g. y.astype('int64'), after mapping names to 0, 1, ...). {fix}"
        )
    if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
        raise DataError(
            f"{where}: {y_name} has shape {y.shape}; expected one integer label per "
            f"example, shape ({len(x)},) (not one-hot). {fix}"
        )
    if len(y) != len(x):
        raise DataError(
            f"{where}: {x_name} holds {len(x)} examples but {y_name} {len(y)} labels; "
            f"expected one label per example. {fix}"
        )


def read_mnist_npz(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Keras' mnist.npz: (x_train, y_train, x_test, y_test), each split checked."""
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in keys if key not in archive.files]
            if missing:
                raise _corrupt(path, f"it lacks the arrays {', '.join(missing)}")
            arrays = tuple(archive[key] for key in keys)
    except (OSError, ValueError, zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise _corrupt(
            path, f"not a readable .npz archive ({type(error).__name__}: {error})"
        ) from None
    fix = "Replace it with the original mnist.npz (or delete it and let Keras download it again)."
    for split, (x, y) in (("train", arrays[:2]), ("test", arrays[2:])):
        check_examples(f"The MNIST file {path}", f"x_{split}", x, f"y_{split}", y, fix)
    return arrays


# What a CIFAR-10 batch pickle refers to: NumPy's array reconstruction and nothing else. Numpy 1
# (which wrote the real files) names the function under numpy.core, NumPy 2 under numpy._core; both
# map straight to the function, so loading never imports a module named in the file.
_CIFAR_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): np_multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): np_multiarray._reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _RefusedGlobal(Exception):
    """A pickle named a global outside _CIFAR_GLOBALS; raised by find_class, caught below."""


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, bytes, str, numbers and NumPy arrays only.

    pickle.load would call whatever global a file names (a crafted batch can run os.system while
    it loads); find_class is the one door to globals, so refusing there makes loading inert.
    """

    def find_class(self, module: str, name: str):
        try:
            return _CIFAR_GLOBALS[(module, name)]
        except KeyError:
            raise _RefusedGlobal(f"{module}.{name}") from None


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as stream:
            # encoding="bytes": the files were pickled by Python 2, whose str keys become bytes
            batch = _CifarUnpickler(stream, encoding="bytes").load()
        data, labels = np.asarray(batch[b"data"], np.uint8), np.asarray(batch[b"labels"], np.int64)
    except _RefusedGlobal as refused:
        raise DataError(
            f"The CIFAR-10 batch {path} refers to {refused}, which a CIFAR-10 batch "
            "never holds; refusing to load it. Replace the folder with the original "
            "cifar-10-batches-py (https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz)."
        ) from None
    except (
        OSError,
        EOFError,
        pickle.UnpicklingError,
        AttributeError,
        ImportError,
        IndexError,
        KeyError,
        TypeError,
        ValueError,
    ) as error:
        raise _corrupt(path, f"not a CIFAR-10 batch ({type(error).__name__}: {error})") from None
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise _corrupt(
            path,
            f"expected data of shape (N, 3072) with N labels, got {data.shape} and {len(labels)}",
        )
    # rows are channel-major (1024 red, 1024 green, 1024 blue values)
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def read_cifar10(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CIFAR-10's python batches from `cifar-10-batches-py/`.

    They are pickles; they are read by a restricted unpickler that admits NumPy arrays and
    plain containers only, so a crafted batch is refused instead of run.
    """
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise DataError(
            f"The CIFAR-10 folder {folder} lacks {', '.join(missing)}. Put the complete "
            "cifar-10-batches-py folder there (all of data_batch_1..5 and test_batch)."
        )
    train = [_read_cifar_batch(folder / name) for name in names[:5]]
    x_test, y_test = _read_cifar_batch(folder / "test_batch")
    return (
        np.concatenate([x for x, _ in train]),
        np.concatenate([y for _, y in train]),
        x_test,
        y_test,
    )
