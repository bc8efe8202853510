"""The user's own data: image folders, .npz archives and CSV tables, in the real file formats."""

import contextlib
import csv
import os
import threading

import numpy as np
import pytest

from aecli.config.dataset import CsvConfig, DatasetName
from aecli.data import load_arrays, user_files
from aecli.errors import ConfigError, DataError


def _png(path, pixels):
    """A PNG file of `pixels` (h, w, c) uint8, encoded by TensorFlow as any image tool would."""
    import tensorflow as tf

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tf.io.encode_png(pixels).numpy())
    return path


def _jpeg(path, pixels):
    import tensorflow as tf

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tf.io.encode_jpeg(pixels, quality=100).numpy())
    return path


def _image_folder(root, counts=None, size=(6, 5), channels=3):
    """One subfolder per class; image i of class c is the constant 10 * c + i (traceable)."""
    counts = counts or {"cat": 5, "dog": 10}
    for label, (name, count) in enumerate(counts.items()):
        for i in range(count):
            _png(root / name / f"{i:03}.png", np.full((*size, channels), 10 * label + i, np.uint8))
    return root


def _csv(path, header, rows):
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --- image folders ------------------------------------------------------------------------


def test_an_image_folder_is_read_exactly_with_a_stratified_seeded_test_split(tmp_path):
    root = _image_folder(tmp_path / "imgs")
    loaded = user_files.read_image_folder(root, test_fraction=0.2, seed=3)
    assert loaded.class_names == ["cat", "dog"] and loaded.files == [str(root)]
    assert loaded.x_train.dtype == np.uint8 and loaded.x_train.shape[1:] == (6, 5, 3)
    assert loaded.y_train.dtype == np.int64
    # 20% of each class: 1 of 5 cats, 2 of 10 dogs
    assert sorted(loaded.y_test.tolist()) == [0, 1, 1] and len(loaded.x_train) == 12
    # pixels are the PNG's bytes: the label is recoverable from the constant value
    values = np.concatenate([loaded.x_train[:, 0, 0, 0], loaded.x_test[:, 0, 0, 0]])
    labels = np.concatenate([loaded.y_train, loaded.y_test])
    np.testing.assert_array_equal(values // 10, labels)
    assert len(set(values.tolist())) == 15
    again = user_files.read_image_folder(root, test_fraction=0.2, seed=3)
    other = user_files.read_image_folder(root, test_fraction=0.2, seed=4)
    np.testing.assert_array_equal(loaded.x_test, again.x_test)
    assert not np.array_equal(loaded.x_test, other.x_test)


def test_grayscale_and_a_resize_give_the_asked_shape(tmp_path):
    root = _image_folder(tmp_path / "imgs", size=(8, 8))
    loaded = user_files.read_image_folder(root, image_size=4, color_mode="grayscale")
    assert loaded.x_train.shape[1:] == (4, 4, 1) and loaded.x_train.dtype == np.uint8


@pytest.mark.parametrize("encode", [_png, _jpeg])
def test_single_channel_images_train_as_grayscale_by_default_and_say_so(tmp_path, capsys, encode):
    suffix = ".png" if encode is _png else ".jpg"
    for i in range(4):
        encode(tmp_path / "imgs" / "a" / f"{i}{suffix}", np.full((6, 5, 1), 40 * i, np.uint8))
    loaded = user_files.read_image_folder(tmp_path / "imgs", test_fraction=0.25)
    assert loaded.x_train.shape[1:] == (6, 5, 1)
    assert "every image is single-channel: they train as grayscale" in capsys.readouterr().out
    # asked for, three channels stay; one colour image among them keeps all three too
    assert user_files.read_image_folder(tmp_path / "imgs", color_mode="rgb").x_train.shape[-1] == 3
    encode(tmp_path / "imgs" / "a" / f"colour{suffix}", np.full((6, 5, 3), 9, np.uint8))
    mixed = user_files.read_image_folder(tmp_path / "imgs", image_size=4, test_fraction=0.2)
    assert mixed.x_train.shape[1:] == (4, 4, 3) and "single-channel" not in capsys.readouterr().out


def test_jpeg_images_are_read_too(tmp_path):
    for i in range(3):
        _jpeg(tmp_path / "imgs" / "only" / f"{i}.jpg", np.full((8, 8, 3), 100, np.uint8))
    loaded = user_files.read_image_folder(tmp_path / "imgs", test_fraction=0.34)
    assert loaded.x_train.shape == (2, 8, 8, 3) and abs(int(loaded.x_test.mean()) - 100) <= 2


def test_ragged_images_without_image_size_ask_for_it(tmp_path):
    root = _image_folder(tmp_path / "imgs", size=(6, 5))
    _png(root / "dog" / "big.png", np.zeros((9, 7, 3), np.uint8))
    with pytest.raises(DataError, match=r"big.png is 7x9 .*Set dataset.image_size=N") as error:
        user_files.read_image_folder(root)
    assert "is 5x6" in str(error.value)
    # with a size, the same folder loads
    assert user_files.read_image_folder(root, image_size=6).x_train.shape[1:] == (6, 6, 3)


@pytest.mark.parametrize(
    "make, problem",
    [
        (lambda root: None, "does not exist"),
        (lambda root: root.write_text("x"), "is a file, not a folder"),
        (lambda root: root.mkdir(), "is empty: it has no class subfolders"),
        (
            lambda root: _png(root / "loose.png", np.zeros((4, 4, 3), np.uint8)),
            r"holds images \(loose.png, ...\) but no class subfolders",
        ),
        (lambda root: (_image_folder(root), (root / "bird").mkdir()), r"bird hold no images"),
    ],
    ids=["missing", "a file", "empty", "no class folders", "an empty class"],
)
def test_image_folder_problems_are_named(tmp_path, make, problem):
    root = tmp_path / "imgs"
    make(root)
    with pytest.raises(DataError, match=problem):
        user_files.read_image_folder(root)


def test_an_undecodable_image_is_named(tmp_path):
    root = _image_folder(tmp_path / "imgs")
    (root / "cat" / "broken.png").write_bytes(b"not an image at all")
    with pytest.raises(DataError, match=r"cat/broken.png could not be decoded .*Replace or remove"):
        user_files.read_image_folder(root)
    with pytest.raises(DataError, match=r"cat/broken.png could not be decoded"):
        user_files.read_image_folder(root, image_size=4)


def test_hidden_folders_are_not_classes(tmp_path):
    root = _image_folder(tmp_path / "imgs")
    (root / ".ipynb_checkpoints").mkdir()
    assert user_files.read_image_folder(root).class_names == ["cat", "dog"]


@pytest.mark.parametrize(
    "keys, problem",
    [
        (dict(color_mode="rgba"), "dataset.color_mode=rgba is not one of auto, grayscale, rgb"),
        (dict(image_size=0), "dataset.image_size=0 is not a positive integer"),
        (dict(test_fraction=1.0), r"dataset.test_fraction=1.0 is out of range"),
    ],
)
def test_bad_image_folder_settings_are_config_errors(tmp_path, keys, problem):
    root = _image_folder(tmp_path / "imgs")
    with pytest.raises(ConfigError, match=problem):
        user_files.read_image_folder(root, **keys)


def test_too_few_images_for_a_test_split(tmp_path):
    root = _image_folder(tmp_path / "imgs", counts={"a": 1, "b": 1})
    with pytest.raises(DataError, match="holds 2 examples, too few to hold out a test share"):
        user_files.read_image_folder(root)


# --- .npz archives ------------------------------------------------------------------------


def test_npz_with_both_splits_keeps_uint8_and_adds_a_channel_axis(tmp_path):
    x = np.arange(12 * 16, dtype=np.uint8).reshape(12, 4, 4)
    np.savez(
        tmp_path / "d.npz", x_train=x, y_train=np.arange(12) % 3, x_test=x[:4], y_test=[0, 1, 2, 0]
    )
    loaded = user_files.read_npz(tmp_path / "d.npz")
    assert loaded.x_train.dtype == np.uint8 and loaded.x_train.shape == (12, 4, 4, 1)
    assert loaded.y_test.tolist() == [0, 1, 2, 0] and loaded.y_test.dtype == np.int64
    assert loaded.files == [str(tmp_path / "d.npz")]


def test_npz_without_test_or_labels_carves_a_seeded_test_split(tmp_path):
    np.savez(tmp_path / "d.npz", x_train=np.arange(50, dtype=np.float64).reshape(10, 5))
    first = user_files.read_npz(tmp_path / "d.npz", test_fraction=0.3, seed=1)
    assert first.x_train.dtype == np.float32 and first.x_train.shape == (7, 5)
    assert first.x_test.shape == (3, 5) and not first.y_train.any() and not first.y_test.any()
    rows = np.concatenate([first.x_train[:, 0], first.x_test[:, 0]])
    assert sorted(rows.tolist()) == list(range(0, 50, 5))
    again = user_files.read_npz(tmp_path / "d.npz", 0.3, 1)
    np.testing.assert_array_equal(first.x_test, again.x_test)


def test_npz_test_split_is_stratified_by_labels(tmp_path):
    y = np.array([0] * 18 + [1] * 2)
    np.savez(tmp_path / "d.npz", x_train=np.zeros((20, 3)), y_train=y)
    loaded = user_files.read_npz(tmp_path / "d.npz", test_fraction=0.5)
    assert sorted(loaded.y_test.tolist()) == [0] * 9 + [1]


def test_npz_object_arrays_are_refused_not_unpickled(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    labels = np.array([Payload()] * 4, dtype=object)
    np.savez(tmp_path / "d.npz", x_train=np.zeros((4, 2)), y_train=labels)
    with pytest.raises(DataError, match=r"d.npz: y_train is an object array .*never loaded"):
        user_files.read_npz(tmp_path / "d.npz")
    assert not marker.exists()


@pytest.mark.parametrize(
    "arrays, problem",
    [
        (dict(X_train=np.zeros((4, 2))), r"has no array named x_train \(it holds X_train\)"),
        (dict(x_train=np.zeros((4, 2)), y_test=np.zeros(2, int)), "holds y_test but no x_test"),
        (dict(x_train=np.zeros((0, 2))), r"x_train holds no examples"),
        (
            dict(x_train=np.zeros((4, 2)), y_train=np.zeros(3, int)),
            "x_train holds 4 examples but y_train 3",
        ),
        (
            dict(x_train=np.zeros((4, 2)), y_train=np.array(list("abcd"))),
            r"y_train holds strings \(<U1\)",
        ),
        (
            dict(x_train=np.array([[1.0, np.nan]] * 4)),
            "x_train holds NaN or infinite values .*example 0",
        ),
        (
            dict(x_train=np.zeros((4, 2)), x_test=np.array([[0, 1], [np.inf, 0]])),
            "x_test holds NaN or infinite values .*first in example 1",
        ),
        (
            dict(x_train=np.zeros((4, 2)), x_test=np.zeros((2, 3))),
            r"x_test examples are float32 of shape \(3,\) "
            r"but x_train examples float32 of shape \(2,\)",
        ),
        (dict(x_train=np.array([["a", "b"]] * 4)), "x_train holds <U1 values, not numbers"),
    ],
    ids=[
        "no x_train",
        "y_test alone",
        "empty",
        "length mismatch",
        "string labels",
        "nan",
        "inf",
        "shape mismatch",
        "strings",
    ],
)
def test_npz_problems_name_the_file_and_the_array(tmp_path, arrays, problem):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(DataError, match=problem) as error:
        user_files.read_npz(tmp_path / "d.npz")
    assert str(tmp_path / "d.npz") in str(error.value) and "np.savez" in str(error.value)


@pytest.mark.parametrize(
    "make, problem",
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.mkdir(), "is a folder, not an .npz archive"),
        (lambda p: p.write_bytes(b"PK\x03\x04 truncated"), "is not a readable .npz archive"),
    ],
    ids=["missing", "a folder", "truncated"],
)
def test_npz_file_problems_are_named(tmp_path, make, problem):
    make(tmp_path / "d.npz")
    with pytest.raises(DataError, match=problem):
        user_files.read_npz(tmp_path / "d.npz")


# --- CSV tables ---------------------------------------------------------------------------


def _table(path, n=20, anomalies=4):
    """`a` = row number, `b` = 2 x row + 1, `const` = 7, `label` 1 for the last `anomalies` rows."""
    rows = [[i, 2 * i + 1, 7, int(i >= n - anomalies)] for i in range(n)]
    return _csv(path, ["a", "b", "const", "label"], rows)


def test_csv_features_are_standardised_by_the_training_rows_only(tmp_path):
    path = _table(tmp_path / "t.csv")
    loaded = user_files.read_csv(path, label_column="label", test_fraction=0.25, seed=0)
    assert loaded.feature_names == ["a", "b", "const"] and loaded.x_train.shape == (15, 3)
    assert sorted(loaded.y_test.tolist()) == [0, 0, 0, 0, 1] and loaded.y_train.dtype == np.int64
    cfg = CsvConfig(name=DatasetName.csv, path=str(path), label_column="label", test_fraction=0.25)
    arrays = load_arrays(cfg, seed=0)
    train = np.concatenate([arrays.train.x, arrays.val.x])
    assert train.dtype == np.float32 and train.shape == (15, 3)
    np.testing.assert_allclose(train[:, :2].mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(train[:, :2].std(axis=0), 1, atol=1e-6)
    # the constant column has std 0: scaled by 1, so it is zero everywhere
    assert not train[:, 2].any() and not arrays.test.x[:, 2].any()
    # the test rows are scaled with the training statistics, not their own: `a` is the row
    # number, so the raw training values come from the same seeded split
    rows, test = user_files.stratified_split(np.array([0] * 16 + [1] * 4), 0.25, 0, "t.csv")
    mean, std = rows.mean(), rows.std()
    np.testing.assert_allclose(arrays.test.x[:, 0], (test - mean) / std, rtol=1e-5)
    # and the record a trained run keeps holds exactly those statistics, column by column
    record = arrays.preprocessing
    assert record["input"] == "table" and record["columns"] == ["a", "b", "const"]
    np.testing.assert_allclose([record["mean"][0], record["std"][0]], [mean, std])
    assert record["std"][2] == 1.0 and record["label_column"] == "label"
    assert loaded.files == [str(path)]


def test_csv_columns_choose_the_features_and_labels_are_optional(tmp_path):
    path = _table(tmp_path / "t.csv")
    loaded = user_files.read_csv(path, columns=["b"])
    assert loaded.x_train.shape == (16, 1) and not loaded.y_train.any() and not loaded.y_test.any()
    everything = user_files.read_csv(path)  # no label column: every column is a feature
    assert everything.x_train.shape == (16, 4)


def test_csv_with_a_byte_order_mark_and_spaces_reads(tmp_path):
    path = tmp_path / "t.csv"
    rows = b"".join(b"%d, %d\n" % (i, i % 2) for i in range(10))
    path.write_bytes("\ufeffx, label\n".encode() + rows)
    loaded = user_files.read_csv(path, label_column="label")
    assert loaded.x_train.shape == (8, 1) and set(loaded.y_test.tolist()) == {0, 1}


@pytest.mark.parametrize(
    "edit, problem",
    [
        (
            lambda rows: rows[4].__setitem__(1, "abc"),
            r"column 'b' holds 'abc', not a number on line 6",
        ),
        (lambda rows: rows[2].__setitem__(0, ""), "column 'a' is empty on line 4"),
        (lambda rows: rows[7].__setitem__(0, "NaN"), "column 'a' holds 'NaN' on line 9"),
        (lambda rows: rows[7].__setitem__(0, "inf"), "column 'a' holds 'inf' on line 9"),
        (
            lambda rows: rows[3].__setitem__(3, "fraud"),
            r"column 'label' holds 'fraud', not a number on line 5",
        ),
        (
            lambda rows: rows[3].__setitem__(3, "0.5"),
            r"column 'label' holds '0.5', not an integer on line 5",
        ),
        (lambda rows: rows[9].pop(), "line 11 has 3 cells but the header 4"),
    ],
    ids=["text", "empty", "nan", "inf", "text label", "fractional label", "short row"],
)
def test_csv_bad_cells_name_the_column_and_the_first_bad_line(tmp_path, edit, problem):
    rows = [[i, 2 * i + 1, 7, i % 2] for i in range(20)]
    edit(rows)
    if len(rows[9]) == 4:
        rows[15][1] = "later"  # a second bad cell: the first one is reported
    path = _csv(tmp_path / "t.csv", ["a", "b", "const", "label"], rows)
    with pytest.raises(DataError, match=problem) as error:
        user_files.read_csv(path, label_column="label")
    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    "keys, problem",
    [
        (
            dict(label_column="class"),
            r"no column 'class' for the labels .*columns are a, b, const, label",
        ),
        (dict(columns=["a", "z"]), r"no columns 'z' \(dataset.columns\)"),
        (dict(columns=["a", "label"], label_column="label"), "lists the label column 'label'"),
        (dict(columns=[]), "leaves no feature columns"),
    ],
)
def test_csv_column_choices_are_checked(tmp_path, keys, problem):
    path = _table(tmp_path / "t.csv")
    with pytest.raises(DataError, match=problem):
        user_files.read_csv(path, **keys)


@pytest.mark.parametrize(
    "content, problem",
    [
        (None, "does not exist"),
        (b"", "is empty; expected a header row"),
        (b"a,b\n", "has a header but no rows"),
        (b"a,a\n1,2\n", "names the columns a more than once"),
        (b"a,b\n\xff\xfe,1\n", "not a readable CSV text file"),
    ],
    ids=["missing", "empty", "header only", "duplicate names", "not utf-8"],
)
def test_csv_file_problems_are_named(tmp_path, content, problem):
    path = tmp_path / "t.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=problem):
        user_files.read_csv(path)


def test_an_unreadable_image_folder_is_named(tmp_path, monkeypatch):
    root = _image_folder(tmp_path / "imgs")

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    # as root (CI containers) chmod cannot deny a read, so the denial is simulated
    monkeypatch.setattr(type(root), "iterdir", denied)
    with pytest.raises(
        DataError, match=r"imgs cannot be read: Permission denied\. Make it readable"
    ):
        user_files.read_image_folder(root)


# --- named pipes ---------------------------------------------------------------------------


@contextlib.contextmanager
def _pipe_nobody_writes(path):
    """A real FIFO at `path`. Should the reader open it (the defect: open() waits for a writer),
    a watcher opens the writing end and closes it at once, so the reader sees an empty stream
    and fails with some other message instead of hanging the suite; `opened` records it."""
    os.mkfifo(path)
    opened, done = [], threading.Event()

    def watch():
        while not done.is_set():
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader has it open
                done.wait(0.01)
                continue
            opened.append(True)
            os.close(descriptor)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield opened
    finally:
        done.set()
        watcher.join()


@pytest.mark.parametrize(
    "read, name, wanted",
    [
        (user_files.read_npz, "d.npz", "not an .npz archive"),
        (user_files.read_csv, "t.csv", "not a CSV file"),
        (user_files.read_image_folder, "imgs", "not a folder of images"),
    ],
    ids=["npz", "csv", "image folder"],
)
def test_a_named_pipe_as_the_dataset_path_is_refused_without_opening_it(
    tmp_path, read, name, wanted
):
    with _pipe_nobody_writes(tmp_path / name) as opened:
        with pytest.raises(DataError, match=f"is a named pipe \\(FIFO\\), {wanted}") as refused:
            read(tmp_path / name)
    assert not opened, "the reader opened the pipe"
    assert "dataset.path" in str(refused.value)


def test_a_named_pipe_among_the_images_is_refused_without_opening_it(tmp_path):
    root = _image_folder(tmp_path / "imgs")
    with _pipe_nobody_writes(root / "dog" / "999.png") as opened:
        with pytest.raises(DataError, match=r"999.png is a named pipe \(FIFO\), not an image"):
            user_files.read_image_folder(root)
    assert not opened, "the reader opened the pipe"
