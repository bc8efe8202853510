"""New data for a trained run, read in batches and checked against the run's preprocessing record.

Every format aecli trains from: a CSV (for a run trained on a table), an image folder or a single
image file, an .npz archive, an IDX file (for runs trained on images or arrays). Each example
keeps a key that finds it in the input again: its `row` (position among the data rows, as
pandas numbers them) and any id column for a CSV, its `file` for images, its `index` otherwise.
The raw values become the model's input exactly as at training time: a table's columns
standardised by the training rows' mean and std, 8-bit pixels divided by 255. Whatever does not
fit the run (missing, extra or renamed columns, a text cell, a NaN, another image size) is
refused with one paragraph naming it, before anything is scored or written.
"""

import csv
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aecli.data import readers
from aecli.data.user_files import IMAGE_SUFFIXES, finite_float32
from aecli.errors import DataError

NPZ_KEYS = ("x", "x_test", "x_train")


@dataclass
class Batch:
    """`keys`: column -> one value per example; `x`: the model's input (float32)."""

    keys: dict[str, list]
    x: np.ndarray


@dataclass
class NewInput:
    """An input file or folder, its example count, and how to read it in batches."""

    path: Path
    kind: str  # csv | images | npz | idx
    count: int
    key_names: list[str]
    read: object = field(repr=False)  # (batch_size) -> Iterator[Batch]

    def batches(self, batch_size: int) -> Iterator[Batch]:
        return self.read(batch_size)


def open_input(
    path: str, record: dict, id_column: str | None = None, resize: bool = False
) -> NewInput:
    """The input at `path`, checked against what the run was trained on (`record`)."""
    source = Path(path).expanduser()
    if not source.exists():
        raise DataError(f"The input {path} does not exist. Point input= at a file or folder.")
    trained_on = record["input"]
    if source.is_dir() or source.suffix.lower() in IMAGE_SUFFIXES:
        _expect(trained_on, "image", source, "images")
        return _images(source, record, resize)
    if not source.is_file():
        raise DataError(
            f"The input {path} is not a regular file or folder (a pipe or device): aecli reads "
            "files it can measure first. Copy the data into a file."
        )
    suffix = source.suffix.lower()
    if suffix == ".csv":
        _expect(trained_on, "table", source, "a CSV table")
        return _table(source, record, id_column)
    if suffix == ".npz":
        _expect(trained_on, ("image", "array"), source, "an .npz archive")
        return _arrays(source, _npz_array(source), "npz", record)
    if suffix == ".gz" or "ubyte" in source.name:
        _expect(trained_on, ("image", "array"), source, "an IDX file")
        return _arrays(source, readers.read_idx(source), "idx", record)
    raise DataError(
        f"The input {path} is of a kind aecli does not read ({source.suffix or 'no suffix'}); "
        "give a .csv table, an .npz archive, an IDX .gz file, an image "
        f"({', '.join(IMAGE_SUFFIXES)}) or a folder of images."
    )


def _described(record: dict) -> str:
    if record["input"] == "table":
        columns = record["columns"]
        shown = ", ".join(columns[:8]) + (", ..." if len(columns) > 8 else "")
        return f"a table of {len(columns)} columns ({shown})"
    shape = "x".join(str(n) for n in record["shape"])
    return f"{'images' if record['input'] == 'image' else 'arrays'} of shape {shape}"


def _expect(trained_on: str, allowed, source: Path, given: str) -> None:
    if trained_on not in ((allowed,) if isinstance(allowed, str) else allowed):
        record_kind = {"table": "a table", "image": "images", "array": "arrays"}[trained_on]
        wanted = {
            "table": "a .csv with the same columns",
            "image": "an image folder, an image file, an .npz or an IDX file",
            "array": "an .npz archive",
        }[trained_on]
        raise DataError(
            f"The run was trained on {record_kind}, and the input {source} is {given}. Give "
            f"{wanted}."
        )


# --- tables --------------------------------------------------------------------------------


def _csv_reader(path: Path):
    stream = open(path, newline="", encoding="utf-8-sig")
    return stream, csv.reader(stream)


def _table(path: Path, record: dict, id_column: str | None) -> NewInput:
    columns, label = record["columns"], record.get("label_column")
    try:
        stream, reader = _csv_reader(path)
        with stream:
            header = [cell.strip() for cell in next(reader, [])]
            count = sum(1 for row in reader if any(cell.strip() for cell in row))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(
            f"The input {path} cannot be read as CSV text ({type(error).__name__}: {error})."
        ) from None
    if not header:
        raise DataError(f"The input {path} is empty; it needs a header row naming the columns.")
    missing = [name for name in columns if name not in header]
    keys = [name for name in (id_column, label) if name is not None and name in header]
    extra = [name for name in header if name not in columns and name not in keys]
    if id_column is not None and id_column not in header:
        raise DataError(
            f"The input {path} has no column {id_column!r} (predict.id_column); its columns "
            f"are {', '.join(header)}."
        )
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"lacks the feature columns {', '.join(map(repr, missing))}")
        if extra:
            problems.append(f"has columns the run never saw: {', '.join(map(repr, extra))}")
        raise DataError(
            f"The input {path} does not fit the run, which was trained on the columns "
            f"{', '.join(columns)}: it {' and '.join(problems)}. Rename or add the columns to "
            "match; keep an id column as the predictions' key with `predict.id_column=NAME`, "
            "or drop it."
        )
    if count == 0:
        raise DataError(f"The input {path} has a header but no rows; there is nothing to score.")
    feature_at = [header.index(name) for name in columns]
    key_at = {name: header.index(name) for name in keys}
    mean, std = np.asarray(record["mean"]), np.asarray(record["std"])

    def read(batch_size: int) -> Iterator[Batch]:
        stream, reader = _csv_reader(path)
        with stream:
            next(reader)
            position, lines, rows = 0, [], []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                lines.append(reader.line_num)
                rows.append(row)
                if len(rows) == batch_size:
                    yield _table_batch(path, header, rows, lines, position, feature_at, key_at)
                    position += len(rows)
                    lines, rows = [], []
            if rows:
                yield _table_batch(path, header, rows, lines, position, feature_at, key_at)

    def standardised(batches):
        for keys, raw in batches:
            yield Batch(keys, ((raw - mean) / std).astype(np.float32))

    return NewInput(
        path,
        "csv",
        count,
        ["row", *keys],
        lambda batch_size: standardised(read(batch_size)),
    )


def _table_batch(path, header, rows, lines, position, feature_at, key_at):
    """(keys, raw float64 features) of one batch; the first bad cell is an error naming its line
    and column."""
    for line, row in zip(lines, rows, strict=True):
        if len(row) != len(header):
            raise DataError(
                f"The input {path}: line {line} has {len(row)} cells but the header "
                f"{len(header)}; every row needs one cell per column."
            )
    cells = [[row[index].strip() for index in feature_at] for row in rows]
    try:
        raw = np.asarray(cells, dtype=np.float64)
        bad = not np.isfinite(raw).all()
    except ValueError:
        bad = True
    if bad:
        for line, row_cells in zip(lines, cells, strict=True):
            for index, cell in zip(feature_at, row_cells, strict=True):
                try:
                    value = float(cell)
                except ValueError:
                    value = None
                if value is None or not math.isfinite(value):
                    shown = f"{cell!r}, not a number" if value is None else repr(cell)
                    raise DataError(
                        f"The input {path}: column {header[index]!r} holds {shown} on line "
                        f"{line}; every feature cell must be a finite number. Fix or drop that "
                        "row."
                    )
    keys = {"row": list(range(position, position + len(rows)))}
    for name, index in key_at.items():
        keys[name] = [row[index].strip() for row in rows]
    return keys, raw


# --- images and arrays ---------------------------------------------------------------------


def _scaled(raw: np.ndarray, record: dict) -> np.ndarray:
    """float32 model input: 8-bit values divided by 255 in float32, as training divided them
    (data.arrays._scaled), so the same pixels give the same bits; other numbers as they are."""
    divisor = np.float32(round(1 / record["scale"]))
    return np.divide(raw, divisor, dtype=np.float32)


def _image_files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    files = []
    for root, dirs, names in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files += [Path(root) / n for n in sorted(names) if n.lower().endswith(IMAGE_SUFFIXES)]
    if not files:
        raise DataError(
            f"The input folder {source} holds no images ({', '.join(IMAGE_SUFFIXES)}); there is "
            "nothing to score."
        )
    return files


def _images(source: Path, record: dict, resize: bool) -> NewInput:
    files = _image_files(source)
    height, width, channels = record["shape"]
    # an image folder run decoded every image to its colour mode and, with dataset.image_size,
    # resized it: the same is done here, as training did
    converts = record.get("color_mode") is not None
    resizes = resize or record.get("image_size") is not None

    def decode(path: Path) -> np.ndarray:
        import tensorflow as tf

        try:
            image = tf.io.decode_image(
                tf.io.read_file(str(path)),
                channels=channels if converts or resize else 0,
                expand_animations=False,
            )
        except (tf.errors.OpError, ValueError) as error:
            detail = (str(error).strip().splitlines() or ["no detail"])[0]
            raise DataError(
                f"The image {path} could not be decoded ({type(error).__name__}: {detail})."
            ) from None
        if image.shape[-1] != channels:
            raise DataError(
                f"The image {path} has {image.shape[-1]} channel(s), and the run was trained on "
                f"{channels} ({height}x{width}x{channels}). Convert it, or let aecli convert and "
                "resize with predict.resize=true."
            )
        if tuple(image.shape[:2]) != (height, width):
            if not resizes:
                raise DataError(
                    f"The image {path} is {image.shape[1]}x{image.shape[0]} (width x height), "
                    f"and the run was trained on {width}x{height} images. Resize it, or let "
                    "aecli resize (bilinear, as Keras' image loader does) with "
                    "predict.resize=true."
                )
            image = tf.image.resize(image, (height, width), method="bilinear")
            image = np.clip(np.rint(image.numpy()), 0, 255).astype(np.uint8)
        return np.asarray(image)

    def read(batch_size: int) -> Iterator[Batch]:
        for start in range(0, len(files), batch_size):
            chunk = files[start : start + batch_size]
            pixels = np.stack([decode(path) for path in chunk])
            names = [
                str(path.relative_to(source)) if source.is_dir() else path.name for path in chunk
            ]
            yield Batch({"file": names}, _scaled(pixels, record))

    return NewInput(source, "images", len(files), ["file"], read)


def _npz_array(path: Path) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            name = next((key for key in NPZ_KEYS if key in names), None)
            if name is None and len(names) == 1:
                name = names[0]
            if name is None:
                raise DataError(
                    f"The input {path} holds the arrays {', '.join(names) or 'none'}; name the "
                    "examples x (np.savez(path, x=...)), or keep a single array in it."
                )
            return archive[name]
    except ValueError as error:
        raise DataError(
            f"The input {path} holds an object array (pickled Python objects), never loaded "
            f"since unpickling can run code ({error}). Save it as a numeric array."
        ) from None
    except (OSError, EOFError) as error:
        raise DataError(
            f"The input {path} is not a readable .npz archive ({type(error).__name__}: {error})."
        ) from None


def _arrays(source: Path, x: np.ndarray, kind: str, record: dict) -> NewInput:
    shape = tuple(record["shape"])
    if x.ndim == len(shape) and shape[-1] == 1 and x.shape[1:] == shape[:-1]:
        x = x[..., None]  # (n, h, w) single-channel images, as training read them
    if x.ndim == 0 or len(x) == 0:
        raise DataError(f"The input {source} holds no examples; there is nothing to score.")
    if tuple(x.shape[1:]) != shape:
        raise DataError(
            f"The input {source} holds examples of shape {'x'.join(map(str, x.shape[1:]))}, and "
            f"the run was trained on {_described(record)}. Reshape or resize them to match."
        )
    if record["dtype"] == "uint8" and x.dtype != np.uint8:
        raise DataError(
            f"The input {source} holds {x.dtype} values, and the run was trained on 8-bit pixels "
            "(0-255, scaled by 1/255). Give them as uint8, as at training time."
        )
    if record["dtype"] != "uint8":
        if x.dtype == np.uint8:
            raise DataError(
                f"The input {source} holds 8-bit values, and the run was trained on float32 "
                "numbers used as they are. Give them as the same float numbers."
            )
        x = finite_float32(x, f"The input {source}")

    def read(batch_size: int) -> Iterator[Batch]:
        for start in range(0, len(x), batch_size):
            chunk = x[start : start + batch_size]
            indices = list(range(start, start + len(chunk)))
            yield Batch({"index": indices}, _scaled(chunk, record))

    return NewInput(source, kind, len(x), ["index"], read)
