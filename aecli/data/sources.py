"""Where each named dataset's files are looked for, in order, and what to say when none is found.

- fashion_mnist: the four IDX gz files in dataset.data_dir, then ~/.keras/datasets/fashion-mnist/,
  then $AECLI_DEBIAN_DATASETS/fashion-mnist/ (default /usr/share/datasets, Debian's
  dataset-fashion-mnist), then the Keras download.
- mnist: dataset.data_dir/mnist.npz, then ~/.keras/datasets/mnist.npz, then the Keras download.
- cifar10: dataset.data_dir itself or its cifar-10-batches-py/, then ~/.keras/datasets/cifar-10-batches-py/
  (older Keras) and ~/.keras/datasets/cifar-10-batches-py-target/cifar-10-batches-py/ (Keras 3), then the
  Keras download.

~/.keras is $KERAS_HOME when set, as in Keras. The download runs only with dataset.download=true; when
it is off or fails, DataError lists every place searched. Returns raw (x_train, y_train, x_test, y_test)
arrays, images as uint8 with a channel axis.
"""

import os
from pathlib import Path

import numpy as np

from aecli.errors import DataError
from aecli.data import readers

FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
IMAGE_SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}


def keras_cache() -> Path:
    """Keras' download folder; follows $KERAS_HOME like Keras does."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def debian_datasets() -> Path:
    """Debian's dataset packages (e.g. dataset-fashion-mnist); $AECLI_DEBIAN_DATASETS overrides it."""
    return Path(os.environ.get("AECLI_DEBIAN_DATASETS", "/usr/share/datasets"))


def _data_dir(cfg) -> Path | None:
    if cfg.data_dir is None:
        return None
    folder = Path(cfg.data_dir).expanduser()
    if not folder.is_dir():
        raise DataError(f"dataset.data_dir={cfg.data_dir} is not a folder. Point it at the folder that holds "
                        f"the {cfg.name.value} files, or drop the override to use the default locations.")
    return folder


def _fashion_mnist(cfg):
    candidates = [folder for folder in (_data_dir(cfg), keras_cache() / "fashion-mnist",
                                        debian_datasets() / "fashion-mnist") if folder is not None]
    for folder in candidates:
        if all((folder / name).exists() for name in FASHION_FILES):
            return tuple(readers.read_idx(folder / name) for name in FASHION_FILES)
    return _download(cfg, "fashion_mnist", [f"{folder}/{{{','.join(FASHION_FILES)}}}" for folder in candidates],
                     ", or install Debian's package: `apt-get install dataset-fashion-mnist`")


def _mnist(cfg):
    folder = _data_dir(cfg)
    candidates = ([folder / "mnist.npz"] if folder else []) + [keras_cache() / "mnist.npz"]
    for path in candidates:
        if path.exists():
            return readers.read_mnist_npz(path)
    return _download(cfg, "mnist", [str(p) for p in candidates])


def _cifar10(cfg):
    folder = _data_dir(cfg)
    cache = keras_cache()
    # Keras 3 extracts its download into cifar-10-batches-py-target/, older versions straight into the cache
    candidates = (([folder, folder / "cifar-10-batches-py"] if folder else [])
                  + [cache / "cifar-10-batches-py", cache / "cifar-10-batches-py-target" / "cifar-10-batches-py"])
    for path in candidates:
        if (path / "test_batch").exists():
            return readers.read_cifar10(path)
    return _download(cfg, "cifar10", [f"{p}/{{data_batch_1..5,test_batch}}" for p in candidates])


def _download_cifar10(keras) -> Path:
    """Keras' CIFAR-10 download, read by our restricted unpickler, not keras.datasets.cifar10.

    Keras' loader pickle.loads whatever lies in its cache folder (a download it made, or files
    someone put there), which can run code; we fetch the same archive, checked against the same
    hash, and read the batches ourselves.
    """
    folder = keras.utils.get_file(
        fname="cifar-10-batches-py-target", origin="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        extract=True, file_hash="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce")
    return Path(folder) / "cifar-10-batches-py"


def _download(cfg, name: str, searched: list[str], extra: str = ""):
    """The Keras download, the last resort; offline or disabled, a message saying where files go."""
    where = "; ".join(searched)
    if cfg.download:
        import keras

        try:
            if name == "cifar10":
                return readers.read_cifar10(_download_cifar10(keras))
            (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
            return x_train, y_train, x_test, y_test
        except DataError:
            raise
        except Exception as error:  # any failure of the download is reported the same way
            reason = f"the Keras download failed ({type(error).__name__}: {error})"
    else:
        reason = "dataset.download=false"
    raise DataError(f"No {name} files were found (searched: {where}) and {reason}. Put the files in one of "
                    f"those places, or set `dataset.data_dir=/path/to/folder` to a folder that holds them{extra}.")


_SOURCES = {"fashion_mnist": _fashion_mnist, "mnist": _mnist, "cifar10": _cifar10}


def load_files(cfg) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) of an image dataset, shapes checked, images with a channel axis."""
    name = cfg.name.value
    x_train, y_train, x_test, y_test = _SOURCES[name](cfg)
    expected = IMAGE_SHAPES[name]
    arrays = []
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x.dtype != np.uint8:
            raise DataError(f"The {name} {split} images are {x.dtype}; expected uint8 pixels (0..255) as in the "
                            "original files. Replace them with the original files.")
        x = x.reshape(*x.shape, 1) if x.ndim == 3 else x
        if x.shape[1:] != expected or len(x) != len(y):
            raise DataError(f"The {name} {split} files hold images of shape {x.shape[1:]} with {len(y)} labels; "
                            f"expected {expected} with one label per image. Replace them with the original files.")
        arrays += [x, np.asarray(y, np.int64).reshape(-1)]
    return tuple(arrays)
