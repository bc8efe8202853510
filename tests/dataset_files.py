"""Writers of small dataset files in the real formats (IDX gz, mnist.npz, CIFAR-10 pickles)."""

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

FASHION_NAMES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def write_idx(path: Path, array: np.ndarray) -> None:
    """IDX: two zero bytes, dtype code 0x08 (uint8), rank, big-endian dims, then the raw bytes."""
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())


def images(n, shape, fill):
    """n distinct images: image i holds value (fill + i) % 256 everywhere, so splits can be
    traced."""
    return (
        ((np.arange(n)[:, None] + fill) % 256 * np.ones((1, int(np.prod(shape)))))
        .reshape(n, *shape)
        .astype(np.uint8)
    )


def write_fashion(folder: Path, n_train=50, n_test=20, fill=0):
    """The four Fashion-MNIST IDX gz files, as Keras and Debian ship them."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        image_file, label_file = FASHION_NAMES[split]
        write_idx(folder / image_file, images(n, (28, 28), fill))
        write_idx(folder / label_file, np.arange(n) % 10)
    return folder


def write_mnist_npz(path: Path, n_train=40, n_test=10, fill=0, **replace):
    """Keras' mnist.npz; `replace` swaps an array (None drops it) to make a broken file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = dict(
        x_train=images(n_train, (28, 28), fill),
        y_train=np.arange(n_train) % 10,
        x_test=images(n_test, (28, 28), fill),
        y_test=np.arange(n_test) % 10,
    )
    arrays.update(replace)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


class Python2Pickler(pickle._Pickler):
    """Writes a pickle the way Python 2's cPickle with NumPy 1 wrote the CIFAR-10 batches.

    Python 3 pickles bytes with protocol 2 as a call to _codecs.encode, a global the real files
    never hold; Python 2 wrote its str (bytes) with the BINSTRING opcodes, and NumPy 1 named its
    array reconstructor numpy.core.multiarray._reconstruct. Both are reproduced here so the
    reader is tested on what the real files contain.
    """

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        raw = obj if isinstance(obj, bytes) else obj.encode("latin-1")
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str

    def save_global(self, obj, name=None):
        name = name or obj.__qualname__
        module = "numpy.core.multiarray" if name == "_reconstruct" else obj.__module__
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode("ascii"))
        self.memoize(obj)


def write_python2_pickle(path: Path, obj) -> None:
    """`obj` pickled with protocol 2 as Python 2 wrote it (see Python2Pickler)."""
    with open(path, "wb") as stream:
        Python2Pickler(stream, protocol=2).dump(obj)


def write_cifar(folder: Path, per_batch=6, data_width=3072):
    """cifar-10-batches-py: five training batches and a test batch, as the real files hold them.

    Each is a dict with bytes keys: b"data" a uint8 array (N, 3072), b"labels" a list of ints,
    b"batch_label" and b"filenames" bytes, pickled with protocol 2 by Python 2 (Python2Pickler).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for index, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        batch = {
            b"batch_label": f"batch {index + 1}".encode(),
            b"labels": list(range(per_batch)),
            b"data": rng.integers(0, 256, (per_batch, data_width), dtype=np.uint8),
            b"filenames": [f"img_{index}_{i}.png".encode() for i in range(per_batch)],
        }
        write_python2_pickle(folder / name, batch)
    return folder
