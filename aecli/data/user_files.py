"""The user's own data, read without running any of it: an image folder, an .npz archive, a CSV.

Each reader returns a datasource.Loaded: raw (x_train, y_train, x_test, y_test), int64 labels, and
the files read. None of these formats has a fixed train/test split unless the user gave one, so a
test share (`test_fraction`) is carved out with a seeded stratified draw: every label keeps its
proportion in both splits, and the same seed gives the same split on every machine.

Every problem a user can fix (a missing folder, ragged images, a text cell in a numeric column,
a NaN) is a DataError naming the file, the array or column, and what to do.
"""

import csv
import errno
import math
import os
import stat
import zipfile
import zlib
from pathlib import Path

import numpy as np

from aecli.console import say
from aecli.data import footprint
from aecli.data.datasource import DataSource, Loaded
from aecli.data.readers import check_examples
from aecli.errors import ConfigError, DataError

# the formats Keras' directory loader decodes (keras.utils.image_dataset_from_directory)
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
COLOR_MODES = ("auto", "grayscale", "rgb")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_fraction(test_fraction: float) -> None:
    if not 0 < test_fraction < 1:
        raise ConfigError(
            f"dataset.test_fraction={test_fraction} is out of range; it is the share "
            "of the examples held out for testing, in (0, 1), e.g. 0.2."
        )


def stratified_split(y: np.ndarray, test_fraction: float, seed: int, where: str):
    """(train_index, test_index), both in file order: round(n * test_fraction) of each label's n.

    A label with a single example keeps it for training (nothing can be learnt from a class
    that only the test split holds); `where` names the data in the error when nothing is left
    for one of the splits.
    """
    _check_fraction(test_fraction)
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        count = min(round(len(members) * test_fraction), len(members) - 1)
        test.append(rng.permutation(members)[:count])
    test_index = np.sort(np.concatenate(test)).astype(np.int64)
    train_index = np.setdiff1d(np.arange(len(y)), test_index)
    if len(test_index) == 0:
        raise DataError(
            f"{where} holds {len(y)} examples, too few to hold out a test share of "
            f"{test_fraction}; add examples or raise dataset.test_fraction."
        )
    return train_index, test_index


# errors of reading a file that say nothing about its content
_REFUSED = (errno.EACCES, errno.EPERM, errno.ELOOP, errno.EIO)


def unreadable(path, error: OSError, what: str) -> DataError:
    """`what` at `path` exists (or is named) but the system refuses to read it: say why in the
    user's terms, not as a problem of the file's content."""
    reason = error.strerror or type(error).__name__
    if error.errno in (errno.EACCES, errno.EPERM):
        fix = "Make it readable to this user (e.g. `chmod a+r`, and `a+x` on its folders)."
    elif error.errno == errno.ELOOP:
        fix = (
            "A symbolic link on its path points back at itself; point the dataset at the real path."
        )
    else:
        fix = "Check the disk it is on, or copy it somewhere readable and point the dataset there."
    where = f" ({error.filename})" if error.filename and str(error.filename) != str(path) else ""
    return DataError(f"{what} {path} cannot be read: {reason}{where}. {fix}")


_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _refuse_special(
    path: Path,
    wanted: str,
    fix: str = "Save the data to a regular file and point dataset.path at it.",
) -> None:
    """Refuse, before opening it, a path that is neither a regular file nor a folder: opening a
    named pipe waits for a writer that may never come, and a device or socket is no dataset."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # missing, unreadable or a symlink loop: the reader's own error says which
    for test, kind in _SPECIAL_FILES:
        if test(mode):
            raise DataError(
                f"{path} is {kind}, not {wanted}: aecli reads datasets from files on disk only "
                f"(it would wait forever on a pipe). {fix}"
            )


# --- image folders -------------------------------------------------------------------------


def _class_folders(folder: Path, given: str) -> dict[str, list[Path]]:
    """Class name -> its image files, sorted, as Keras' loader finds them (recursively)."""
    try:
        folder.stat()
    except FileNotFoundError:
        pass  # said below, with what the folder should hold
    except OSError as error:  # a symbolic link loop, a folder this user may not enter
        raise unreadable(given, error, "The image folder") from None
    if not folder.exists():
        raise DataError(
            f"The image folder {given} does not exist. Point the dataset at a folder "
            "with one subfolder per class holding its PNG/JPEG images."
        )
    _refuse_special(
        folder,
        "a folder of images",
        "Point dataset.path at a folder with one subfolder per class.",
    )
    if not folder.is_dir():
        raise DataError(
            f"The image folder {given} is a file, not a folder. Point the dataset at a "
            "folder with one subfolder per class holding its PNG/JPEG images."
        )
    # hidden folders (.ipynb_checkpoints, .git) are not classes
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        loose = [p.name for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
        if loose:
            raise DataError(
                f"The image folder {folder} holds images ({loose[0]}, ...) but no "
                "class subfolders. Move them into one subfolder per class (a single "
                "subfolder when the images have no classes)."
            )
        raise DataError(
            f"The image folder {folder} is empty: it has no class subfolders. Put one "
            "subfolder per class there, each holding its PNG/JPEG images."
        )
    classes = {}
    for name in names:
        files = []
        # a class folder that cannot be listed is an error, not a class without images
        for root, dirs, filenames in os.walk(folder / name, onerror=_raise):
            dirs.sort()
            files += [
                Path(root) / f for f in sorted(filenames) if f.lower().endswith(IMAGE_SUFFIXES)
            ]
        for path in files:
            _refuse_special(path, "an image file", "Replace it with the image, or remove it.")
        classes[name] = files
    empty = [name for name, files in classes.items() if not files]
    if empty:
        raise DataError(
            f"The class folders {', '.join(str(folder / n) for n in empty)} hold no "
            f"images ({', '.join(IMAGE_SUFFIXES)}). Add images or remove the folders."
        )
    return classes


def _raise(error: OSError) -> None:
    raise error


def _undecodable(path: Path, error: Exception) -> DataError:
    # TensorFlow's messages run to several lines of op context; the first says what failed
    detail = (str(error).strip().splitlines() or ["no detail"])[0]
    return DataError(
        f"The image {path} could not be decoded ({type(error).__name__}: {detail}). "
        "Replace or remove it."
    )


# PNG colour types (IHDR byte 25) that decode to one channel: greyscale without alpha
_PNG_GREY = 0


def _image_shape(path: Path) -> tuple[int, int, int]:
    """(height, width, channels) of one image, from the header where the format allows."""
    import tensorflow as tf

    try:
        with open(path, "rb") as stream:
            head = stream.read(26)
    except OSError as error:
        raise unreadable(path, error, "The image") from None
    # PNG's IHDR chunk opens the file: width and height, big-endian, at bytes 16..24, then the
    # bit depth and the colour type
    if head[:8] == _PNG_SIGNATURE and head[12:16] == b"IHDR" and len(head) == 26:
        channels = 1 if head[25] == _PNG_GREY else 3
        return int.from_bytes(head[20:24], "big"), int.from_bytes(head[16:20], "big"), channels
    try:
        if head[:3] == b"\xff\xd8\xff":  # JPEG: the SOF header alone gives the shape
            shape = tf.io.extract_jpeg_shape(tf.io.read_file(str(path))).numpy()
        else:
            shape = tf.io.decode_image(tf.io.read_file(str(path)), expand_animations=False).shape
    except (tf.errors.OpError, ValueError) as error:
        raise _undecodable(path, error) from None
    return int(shape[0]), int(shape[1]), 1 if int(shape[2]) == 1 else 3


def _shapes(classes: dict[str, list[Path]], need_size: bool) -> tuple[tuple[int, int], bool]:
    """The one (height, width) all images share (ragged sizes need dataset.image_size; not
    asked when need_size is False), and whether every image has a single channel."""
    first, first_size, grey = None, None, True
    for files in classes.values():
        for path in files:
            height, width, channels = _image_shape(path)
            grey = grey and channels == 1
            if first is None:
                first, first_size = path, (height, width)
            elif need_size and (height, width) != first_size:
                raise DataError(
                    f"The images differ in size: {first} is {first_size[1]}x{first_size[0]} and "
                    f"{path} is {width}x{height} (width x height). Set dataset.image_size=N to "
                    "resize every image to NxN (e.g. dataset.image_size=64), or resize them "
                    "beforehand."
                )
    return first_size, grey


def read_image_folder(
    path,
    image_size: int | None = None,
    color_mode: str = "auto",
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Loaded:
    """Images in one subfolder per class, decoded by Keras' directory loader.

    image_size: resize every image to image_size x image_size (bilinear); None keeps the size
    the images share and refuses ragged ones. color_mode: grayscale (1 channel), rgb (3), or auto:
    grayscale when every image has one channel (a greyscale PNG or JPEG), said in one line, since
    training such images as RGB triples the input for nothing; else rgb.
    Returns uint8 images (n, h, w, c), int64 labels = index into class_names (the subfolder
    names, sorted), and files = [the folder] (its images can number in the tens of thousands).
    """
    import keras
    import tensorflow as tf

    if color_mode not in COLOR_MODES:
        raise ConfigError(
            f"dataset.color_mode={color_mode} is not one of {', '.join(COLOR_MODES)}."
        )
    if image_size is not None and (
        isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1
    ):
        raise ConfigError(
            f"dataset.image_size={image_size} is not a positive integer (pixels per "
            "side), or null to keep the images' own size."
        )
    folder = Path(path).expanduser()
    try:
        classes = _class_folders(folder, str(path))
    except OSError as error:  # a folder this user may not list, a class folder's link loop
        raise unreadable(folder, error, "The image folder") from None
    size, grey = (None, False)
    if image_size is None or color_mode == "auto":
        size, grey = _shapes(classes, need_size=image_size is None)
    if image_size is not None:
        size = (image_size, image_size)
    if color_mode == "auto":
        color_mode = "grayscale" if grey else "rgb"
        if grey:
            say(
                "every image is single-channel: they train as grayscale "
                "(dataset.color_mode=rgb keeps three channels)"
            )
    dataset = keras.utils.image_dataset_from_directory(
        str(folder),
        labels="inferred",
        label_mode="int",
        class_names=list(classes),
        color_mode=color_mode,
        batch_size=None,
        image_size=size,
        shuffle=False,
        verbose=False,
    )
    images, labels = [], []
    try:
        for x, y in dataset.batch(256).as_numpy_iterator():
            # decoded pixels arrive as float32 0..255; resizing makes them fractional
            images.append(np.clip(np.rint(x), 0, 255).astype(np.uint8))
            labels.append(y.astype(np.int64))
    except tf.errors.OpError as error:
        # the pipeline's error does not say which file; decode each to name it
        for files in classes.values():
            for file in files:
                try:
                    open(file, "rb").close()
                except OSError as refused:  # the system's refusal, not an undecodable image
                    raise unreadable(file, refused, "The image") from None
                try:
                    tf.io.decode_image(tf.io.read_file(str(file)), expand_animations=False)
                except (tf.errors.OpError, ValueError) as culprit:
                    raise _undecodable(file, culprit) from None
        raise DataError(
            f"The images in {folder} could not be read ({type(error).__name__}: "
            f"{error}). Check that every file is a PNG, JPEG, BMP or GIF image."
        ) from None
    x, y = np.concatenate(images), np.concatenate(labels)
    train, test = stratified_split(y, test_fraction, seed, f"The image folder {folder}")
    return Loaded(
        x[train], y[train], x[test], y[test], files=[str(folder)], class_names=list(classes)
    )


# --- .npz archives -------------------------------------------------------------------------


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    _refuse_special(path, "an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {}
            for key in archive.files:
                try:
                    arrays[key] = archive[key]
                except ValueError as error:
                    if "allow_pickle" not in str(error):
                        raise
                    # an object array is a pickle, and unpickling can run code: never loaded
                    raise DataError(
                        f"The file {path}: {key} is an object array (pickled "
                        "Python objects), which is never loaded since unpickling can "
                        f"run code. Save {key} as a numeric array (e.g. "
                        f"np.asarray({key}, np.float32))."
                    ) from None
            return arrays
    except FileNotFoundError:
        raise DataError(
            f"The file {path} does not exist. Point the dataset at an .npz archive "
            "holding x_train (and optionally y_train, x_test, y_test)."
        ) from None
    except IsADirectoryError:
        raise DataError(
            f"{path} is a folder, not an .npz archive. Point the dataset at the .npz file itself."
        ) from None
    except OSError as error:
        if error.errno in _REFUSED:  # by the system, not for the file's content
            raise unreadable(path, error, "The file") from None
        raise DataError(
            f"The file {path} is not a readable .npz archive "
            f"({type(error).__name__}: {error}). Write it with "
            "np.savez(path, x_train=..., y_train=...)."
        ) from None
    except (ValueError, zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise DataError(
            f"The file {path} is not a readable .npz archive "
            f"({type(error).__name__}: {error}). Write it with "
            "np.savez(path, x_train=..., y_train=...)."
        ) from None


def finite_float32(x: np.ndarray, where: str, fix: str = "") -> np.ndarray:
    """`x` as float32, refused when an example holds NaN, infinity or a value beyond float32;
    `where` names the array in the error (`The file data.npz: x_train`)."""
    with np.errstate(over="ignore"):
        x = x.astype(np.float32)
    bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if bad.any():
        raise DataError(
            f"{where} holds NaN or infinite values (or values beyond float32), first in example "
            f"{int(np.argmax(bad))}. Replace them with finite numbers or drop those examples."
            + (f" {fix}" if fix else "")
        )
    return x


def _npz_images(path: Path, key: str, x: np.ndarray, fix: str) -> np.ndarray:
    """uint8 kept for load_arrays to scale by 1/255; any other number as float32, finite."""
    if x.dtype != np.uint8:
        x = finite_float32(x, f"The file {path}: {key}", fix)
    # (n, h, w): single-channel images, given the channel axis convolutions expect
    return x[..., None] if x.ndim == 3 else x


def read_npz(path, test_fraction: float = 0.2, seed: int = 0) -> Loaded:
    """x_train, optional y_train, x_test and y_test from an .npz archive, never unpickled.

    Missing labels are zeros; without x_test a seeded stratified test share of the training
    examples is held out. uint8 arrays stay uint8 (load_arrays scales them by 1/255); other
    numbers become float32 and are used as they are.
    """
    path = Path(path).expanduser()
    arrays = _npz_arrays(path)
    fix = "Rewrite it with np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)."
    if "x_train" not in arrays:
        raise DataError(
            f"The file {path} has no array named x_train (it holds "
            f"{', '.join(arrays) or 'no arrays'}). {fix}"
        )
    if "y_test" in arrays and "x_test" not in arrays:
        raise DataError(f"The file {path} holds y_test but no x_test; give both or neither. {fix}")
    x_train = arrays["x_train"]
    y_train = arrays.get("y_train", np.zeros(len(x_train) if x_train.ndim else 0, np.int64))
    check_examples(f"The file {path}", "x_train", x_train, "y_train", y_train, fix)
    x_train = _npz_images(path, "x_train", x_train, fix)
    y_train = y_train.astype(np.int64).reshape(-1)
    if "x_test" not in arrays:
        train, test = stratified_split(y_train, test_fraction, seed, f"The file {path}")
        return Loaded(
            x_train[train], y_train[train], x_train[test], y_train[test], files=[str(path)]
        )
    x_test = arrays["x_test"]
    y_test = arrays.get("y_test", np.zeros(len(x_test) if x_test.ndim else 0, np.int64))
    check_examples(f"The file {path}", "x_test", x_test, "y_test", y_test, fix)
    x_test = _npz_images(path, "x_test", x_test, fix)
    if x_test.shape[1:] != x_train.shape[1:] or x_test.dtype != x_train.dtype:
        raise DataError(
            f"The file {path}: x_test examples are {x_test.dtype} of shape "
            f"{x_test.shape[1:]} but x_train examples {x_train.dtype} of shape "
            f"{x_train.shape[1:]}; both splits must match. {fix}"
        )
    return Loaded(x_train, y_train, x_test, y_test.astype(np.int64).reshape(-1), files=[str(path)])


# --- CSV tables ----------------------------------------------------------------------------


def _csv_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and (line number, cells) of each non-blank row."""
    _refuse_special(path, "a CSV file")
    try:
        # utf-8-sig: spreadsheet programs often start a CSV with a byte-order mark
        with open(path, newline="", encoding="utf-8-sig") as stream:
            reader = csv.reader(stream)
            header = next(reader, None)
            rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except FileNotFoundError:
        raise DataError(
            f"The file {path} does not exist. Point the dataset at a CSV file with a header row."
        ) from None
    except IsADirectoryError:
        raise DataError(
            f"{path} is a folder, not a CSV file. Point the dataset at the .csv file itself."
        ) from None
    except OSError as error:  # the system refuses it: no re-saving would help
        raise unreadable(path, error, "The file") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(
            f"The file {path} is not a readable CSV text file ({type(error).__name__}: "
            f"{error}). Save it as UTF-8 CSV with a header row."
        ) from None
    if not header or not any(cell.strip() for cell in header):
        raise DataError(
            f"The file {path} is empty; expected a header row naming the columns, then "
            "one row per example."
        )
    return [cell.strip() for cell in header], rows


def _fast_column(cells: list[str], integer: bool) -> np.ndarray | None:
    """The column parsed by NumPy in one call, or None if some cell is bad."""
    try:
        values = np.asarray(cells, dtype=np.float64)
    except ValueError:
        return None
    if not np.isfinite(values).all() or (integer and (values != np.round(values)).any()):
        return None
    return values.astype(np.int64) if integer else values


def _cell_problem(cell: str, integer: bool) -> str | None:
    if not cell:
        return "is empty"
    try:
        value = float(cell)
    except ValueError:
        return f"holds {cell!r}, not a number"
    if not math.isfinite(value):
        return f"holds {cell!r}"
    if integer and value != round(value):
        return f"holds {cell!r}, not an integer"
    return None


def _numeric_columns(path: Path, rows, specs: list[tuple[str, int, bool]]) -> list[np.ndarray]:
    """Each (name, index, integer) column as numbers; else the earliest bad cell is an error.

    NumPy parses each whole column (fast); only when one fails are the cells walked, row by
    row, so the message names the first bad line of the file whatever its column.
    """
    columns = [[row[index].strip() for _, row in rows] for _, index, _ in specs]
    parsed = [
        _fast_column(cells, integer) for cells, (_, _, integer) in zip(columns, specs, strict=True)
    ]
    if all(values is not None for values in parsed):
        return parsed
    for position, (line, _) in enumerate(rows):
        for cells, (name, _, integer) in zip(columns, specs, strict=True):
            problem = _cell_problem(cells[position], integer)
            if problem:
                what = (
                    "integer labels (0 = normal, nonzero = anomalous for anomaly detection)"
                    if integer
                    else "numbers"
                )
                leave_out = "" if integer else ", or leave the column out with dataset.columns"
                raise DataError(
                    f"The file {path}: column {name!r} {problem} on line {line}; the "
                    f"column must hold {what} in every row. Fix or drop that row"
                    f"{leave_out}."
                )
    raise AssertionError("unreachable: NumPy refused a column whose every cell parses")


def read_csv(
    path,
    label_column: str | None = None,
    columns: list[str] | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Loaded:
    """A table with a header row: the raw features (float64) and their column names.

    columns: the feature columns (default: all but the label). label_column: integer labels;
    None gives zeros. `data.arrays.load_arrays` standardises the features by the training rows
    (the normal ones of an anomaly run), so nothing about the test rows leaks into training.
    """
    path = Path(path).expanduser()
    header, rows = _csv_rows(path)
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise DataError(
            f"The file {path} names the columns {', '.join(duplicated)} more than "
            "once; rename them so that each column can be chosen by name."
        )
    known = ", ".join(header)
    if label_column is not None and label_column not in header:
        raise DataError(
            f"The file {path} has no column {label_column!r} for the labels "
            f"(dataset.label_column); its columns are {known}."
        )
    if columns is not None:
        unknown = [name for name in columns if name not in header]
        if unknown:
            raise DataError(
                f"The file {path} has no columns {', '.join(map(repr, unknown))} "
                f"(dataset.columns); its columns are {known}."
            )
        if label_column in columns:
            raise DataError(
                f"dataset.columns lists the label column {label_column!r} of {path} as "
                "a feature; a model that sees the label learns nothing. Drop it there."
            )
    features = list(columns) if columns is not None else [n for n in header if n != label_column]
    if not features:
        raise DataError(
            f"The file {path} leaves no feature columns (its columns are {known}); "
            "list them in dataset.columns."
        )
    if not rows:
        raise DataError(f"The file {path} has a header but no rows; add one row per example.")
    for line, row in rows:
        if len(row) != len(header):
            raise DataError(
                f"The file {path}: line {line} has {len(row)} cells but the header "
                f"{len(header)}; every row needs one cell per column."
            )
    specs = [(name, header.index(name), False) for name in features]
    if label_column is not None:
        specs.append((label_column, header.index(label_column), True))
    values = _numeric_columns(path, rows, specs)
    x = np.column_stack(values[: len(features)])
    y = values[-1] if label_column is not None else np.zeros(len(rows), np.int64)
    train, test = stratified_split(y, test_fraction, seed, f"The file {path}")
    return Loaded(x[train], y[train], x[test], y[test], files=[str(path)], feature_names=features)


class ImageFolder(DataSource):
    @classmethod
    def read(cls, cfg, seed: int) -> Loaded:
        return read_image_folder(
            cfg.path, cfg.image_size, cfg.color_mode.value, cfg.test_fraction, cfg.split_seed
        )

    @classmethod
    def check_memory(cls, cfg, seed: int, available: int | None = None) -> None:
        footprint.check_image_folder(cfg, available)

    @classmethod
    def preprocessing(cls, cfg, shape: list[int]) -> dict:
        # the mode the images were read in (auto resolves to one of the two)
        mode = "grayscale" if shape[-1] == 1 else "rgb"
        return {"color_mode": mode, "image_size": cfg.image_size}


def _own_labels(labels: list[int]) -> bool:
    """The user's own integer labels: 0 and 1 are normal and anomalous, as in the credit-card
    data."""
    return labels == [0, 1]


class Npz(DataSource):
    @classmethod
    def read(cls, cfg, seed: int) -> Loaded:
        return read_npz(cfg.path, cfg.test_fraction, cfg.split_seed)

    @classmethod
    def check_memory(cls, cfg, seed: int, available: int | None = None) -> None:
        footprint.check_npz(cfg, available)

    @classmethod
    def labels_mark_anomalies(cls, labels: list[int]) -> bool:
        return _own_labels(labels)


class Csv(DataSource):
    @classmethod
    def read(cls, cfg, seed: int) -> Loaded:
        columns = None if cfg.columns is None else list(cfg.columns)
        return read_csv(cfg.path, cfg.label_column, columns, cfg.test_fraction, cfg.split_seed)

    @classmethod
    def check_memory(cls, cfg, seed: int, available: int | None = None) -> None:
        footprint.check_csv(cfg, available)

    @classmethod
    def labels_mark_anomalies(cls, labels: list[int]) -> bool:
        return _own_labels(labels)

    @classmethod
    def labels_named(cls, cfg) -> str:
        return f"the column {cfg.label_column!r}"
