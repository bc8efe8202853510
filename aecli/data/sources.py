"""Where each named dataset's files are read from, and what the user is told when they are not.

With `dataset.data_dir` set, that folder is the only source: the user named it, so a folder
without the files is an error naming the missing files, never a silent switch to other files
while config.yaml records the folder. Without it, the default places are searched in order:

- fashion_mnist: ~/.keras/datasets/fashion-mnist/, then $AECLI_DEBIAN_DATASETS/fashion-mnist/
  (default /usr/share/datasets, Debian's dataset-fashion-mnist), then the Keras download.
- mnist: ~/.keras/datasets/mnist.npz, then the Keras download.
- cifar10: ~/.keras/datasets/cifar-10-batches-py/ (older Keras) and
  ~/.keras/datasets/cifar-10-batches-py-target/cifar-10-batches-py/ (Keras 3), then the Keras
  download.

In data_dir, fashion_mnist wants the four IDX gz files, mnist `mnist.npz`, cifar10 the batches
in the folder itself or in its cifar-10-batches-py/.

~/.keras is $KERAS_HOME when set, as in Keras. The download runs only with dataset.download=true;
when it is off or fails, DataError lists every place searched. `load` returns the raw arrays
(images uint8 with a channel axis) and the files read, for the run to log and record.
"""

import os
from pathlib import Path

import numpy as np

from aecli.data import readers
from aecli.data.datasource import DataSource, Loaded
from aecli.errors import DataError

FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
IMAGE_SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
# what `files` holds when Keras' own loader read the files (it does not say which)
KERAS_DOWNLOAD = "keras download"


def keras_cache() -> Path:
    """Keras' download folder; follows $KERAS_HOME like Keras does."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def debian_datasets() -> Path:
    """Debian's dataset packages (dataset-fashion-mnist); $AECLI_DEBIAN_DATASETS overrides it."""
    return Path(os.environ.get("AECLI_DEBIAN_DATASETS", "/usr/share/datasets"))


def _data_dir(cfg) -> Path | None:
    if cfg.data_dir is None:
        return None
    folder = Path(cfg.data_dir).expanduser()
    if not folder.is_dir():
        raise DataError(
            f"dataset.data_dir={cfg.data_dir} is not a folder. Point it at the folder "
            f"that holds the {cfg.name.value} files, or drop the override to use the "
            "default locations."
        )
    return folder


def _lacks(cfg, folder: Path, missing: list[str], wanted: str) -> DataError:
    """The named folder lacks files: say which, and that nothing else was tried."""
    return DataError(
        f"dataset.data_dir={cfg.data_dir} ({folder}) lacks {', '.join(missing)}. Put "
        f"{wanted} there, or drop dataset.data_dir to search the default places "
        "and the Keras download; a named folder is the only place searched."
    )


def _read_fashion(folder: Path) -> Loaded:
    paths = [folder / name for name in FASHION_FILES]
    return Loaded(*(readers.read_idx(path) for path in paths), files=[str(p) for p in paths])


def _read_mnist(path: Path) -> Loaded:
    return Loaded(*readers.read_mnist_npz(path), files=[str(path)])


def _read_cifar(folder: Path) -> Loaded:
    return Loaded(*readers.read_cifar10(folder), files=[str(folder / name) for name in CIFAR_FILES])


def _fashion_mnist(cfg) -> Loaded:
    folder = _data_dir(cfg)
    if folder is not None:
        missing = [name for name in FASHION_FILES if not (folder / name).is_file()]
        if missing:
            raise _lacks(
                cfg, folder, missing, f"the four Fashion-MNIST files ({', '.join(FASHION_FILES)})"
            )
        return _read_fashion(folder)
    candidates = [keras_cache() / "fashion-mnist", debian_datasets() / "fashion-mnist"]
    for folder in candidates:
        if all((folder / name).exists() for name in FASHION_FILES):
            return _read_fashion(folder)
    return _download(
        cfg,
        "fashion_mnist",
        [f"{folder}/{{{','.join(FASHION_FILES)}}}" for folder in candidates],
        ", or install Debian's package: `apt-get install dataset-fashion-mnist`",
    )


def _mnist(cfg) -> Loaded:
    folder = _data_dir(cfg)
    if folder is not None:
        if not (folder / "mnist.npz").is_file():
            raise _lacks(cfg, folder, ["mnist.npz"], "Keras' mnist.npz")
        return _read_mnist(folder / "mnist.npz")
    path = keras_cache() / "mnist.npz"
    if path.exists():
        return _read_mnist(path)
    return _download(cfg, "mnist", [str(path)])


def _cifar10(cfg) -> Loaded:
    folder = _data_dir(cfg)
    if folder is not None:
        # the batches folder itself, or the folder the archive was extracted into
        if not any((folder / name).exists() for name in CIFAR_FILES):
            if (folder / "cifar-10-batches-py").is_dir():
                folder = folder / "cifar-10-batches-py"
            else:
                raise _lacks(
                    cfg,
                    folder,
                    [*CIFAR_FILES, "a cifar-10-batches-py/ folder"],
                    "the extracted cifar-10-batches-py folder (or its six batches)",
                )
        # read_cifar10 names any batch still missing
        return _read_cifar(folder)
    cache = keras_cache()
    # Keras 3 extracts its download into cifar-10-batches-py-target/, older versions straight
    # into the cache
    candidates = [
        cache / "cifar-10-batches-py",
        cache / "cifar-10-batches-py-target" / "cifar-10-batches-py",
    ]
    for path in candidates:
        if (path / "test_batch").exists():
            return _read_cifar(path)
    return _download(cfg, "cifar10", [f"{p}/{{data_batch_1..5,test_batch}}" for p in candidates])


def _download_cifar10(keras) -> Path:
    """Keras' CIFAR-10 download, read by our restricted unpickler, not keras.datasets.cifar10.

    Keras' loader pickle.loads whatever lies in its cache folder (a download it made, or files
    someone put there), which can run code; we fetch the same archive, checked against the same
    hash, and read the batches ourselves.
    """
    folder = keras.utils.get_file(
        fname="cifar-10-batches-py-target",
        origin="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        extract=True,
        file_hash="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    )
    return Path(folder) / "cifar-10-batches-py"


def _download(cfg, name: str, searched: list[str], extra: str = "") -> Loaded:
    """The Keras download, the last resort; offline or disabled, a message saying where files go."""
    where = "; ".join(searched)
    if cfg.download:
        import keras

        try:
            if name == "cifar10":
                return _read_cifar(_download_cifar10(keras))
            (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
            return Loaded(x_train, y_train, x_test, y_test, files=[KERAS_DOWNLOAD])
        except DataError:
            raise
        except Exception as error:  # any failure of the download is reported the same way
            reason = f"the Keras download failed ({type(error).__name__}: {error})"
    else:
        reason = "dataset.download=false"
    raise DataError(
        f"No {name} files were found (searched: {where}) and {reason}. Put the files "
        "in one of those places, or set `dataset.data_dir=/path/to/folder` to a folder "
        f"that holds them{extra}."
    )


_SOURCES = {"fashion_mnist": _fashion_mnist, "mnist": _mnist, "cifar10": _cifar10}


def load(cfg) -> Loaded:
    """The named image dataset's raw splits, checked, images with a channel axis, and its files."""
    name = cfg.name.value
    loaded = _SOURCES[name](cfg)
    expected = IMAGE_SHAPES[name]
    where = f"The {name} files ({', '.join(loaded.files)})"
    fix = "Replace them with the original files."
    arrays = []
    splits = ((loaded.x_train, loaded.y_train, "train"), (loaded.x_test, loaded.y_test, "test"))
    for x, y, split in splits:
        readers.check_examples(where, f"x_{split}", x, f"y_{split}", y, fix)
        if x.dtype != np.uint8:
            raise DataError(
                f"{where}: the {split} images are {x.dtype}; expected uint8 pixels "
                f"(0..255) as in the original files. {fix}"
            )
        x = x.reshape(*x.shape, 1) if x.ndim == 3 else x
        if x.shape[1:] != expected:
            raise DataError(
                f"{where}: the {split} images have shape {x.shape[1:]}; expected {expected}. {fix}"
            )
        arrays += [x, np.asarray(y, np.int64).reshape(-1)]
    return Loaded(*arrays, files=loaded.files)


def load_files(cfg) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """load(cfg).arrays: (x_train, y_train, x_test, y_test), for callers that need no file list."""
    return load(cfg).arrays


# label -> name of each published dataset (legends of latent scatters, messages)
CLASS_NAMES = {
    "mnist": tuple(str(digit) for digit in range(10)),
    "fashion_mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    "cifar10": (
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ),
}


class PublishedFiles(DataSource):
    """mnist, fashion_mnist and cifar10, read from their original files (of known, small size)."""

    @classmethod
    def read(cls, cfg, seed: int) -> Loaded:
        return load(cfg)

    @classmethod
    def class_names(cls, cfg) -> tuple[str, ...]:
        return CLASS_NAMES[cfg.name.value]
