"""Files the system refuses to read (no permission, a symbolic link loop) and arrays of the wrong
rank: each is one DataError that says why, never a traceback or a message about the content.

chmod 000 denies nothing to root, so as root the read runs with the effective user `nobody`
(seteuid, undone after): the denial is the kernel's, not a simulated one. Not as root, chmod alone
denies it.
"""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from aecli.data import user_files
from aecli.errors import DataError

NOBODY = 65534


@pytest.fixture
def shared_dir():
    """A folder every user may enter (pytest's own tmp folders are root's alone, which would deny
    `nobody` every path and prove nothing about the one file denied)."""
    folder = Path(tempfile.mkdtemp(prefix="aecli-unreadable-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def as_unprivileged_user():
    if os.geteuid() != 0:
        yield
        return
    import tensorflow  # noqa: F401  imported while its files are still readable to us

    try:
        os.seteuid(NOBODY)
    except PermissionError:
        pytest.skip("root without CAP_SETUID: chmod 000 cannot deny a read here")
    try:
        yield
    finally:
        os.seteuid(0)


def _png_folder(root: Path) -> Path:
    import tensorflow as tf

    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            pixels = np.full((8, 8, 3), 10 * i, np.uint8)
            (root / name / f"{i}.png").write_bytes(tf.io.encode_png(pixels).numpy())
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


@pytest.mark.parametrize("image_size", [None, 8], ids=["own size", "resized"])
def test_an_unreadable_image_is_named_as_unreadable_not_undecodable(shared_dir, image_size):
    root = _png_folder(shared_dir / "imgs")
    (root / "a" / "1.png").chmod(0)
    with as_unprivileged_user(), pytest.raises(DataError) as error:
        user_files.read_image_folder(root, image_size)
    message = str(error.value)
    assert f"The image {root / 'a' / '1.png'} cannot be read: Permission denied." in message
    assert "chmod a+r" in message and "decoded" not in message


def test_an_unreadable_class_folder_is_named_not_called_empty(shared_dir):
    root = _png_folder(shared_dir / "imgs")
    (root / "b").chmod(0)
    with as_unprivileged_user(), pytest.raises(DataError) as error:
        user_files.read_image_folder(root)
    message = str(error.value)
    assert f"cannot be read: Permission denied ({root / 'b'})" in message
    assert "hold no images" not in message


def test_an_unreadable_csv_is_not_told_to_be_saved_as_utf8(shared_dir):
    path = shared_dir / "t.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    path.chmod(0)
    with as_unprivileged_user(), pytest.raises(DataError) as error:
        user_files.read_csv(path)
    assert f"The file {path} cannot be read: Permission denied." in str(error.value)
    assert "UTF-8" not in str(error.value)


def test_an_unreadable_npz_is_not_called_a_bad_archive(shared_dir):
    path = shared_dir / "d.npz"
    np.savez(path, x_train=np.zeros((4, 2)))
    path.chmod(0)
    with as_unprivileged_user(), pytest.raises(DataError) as error:
        user_files.read_npz(path)
    assert f"The file {path} cannot be read: Permission denied." in str(error.value)
    assert "np.savez" not in str(error.value)


@pytest.mark.parametrize(
    "read",
    [user_files.read_image_folder, user_files.read_npz, user_files.read_csv],
    ids=["image folder", "npz", "csv"],
)
def test_a_symbolic_link_loop_is_named_as_a_loop_not_as_missing(tmp_path, read):
    loop = tmp_path / "data"
    loop.symlink_to(loop)
    with pytest.raises(DataError) as error:
        read(loop)
    assert f"{loop} cannot be read: Too many levels of symbolic links" in str(error.value)
    assert "points back at itself" in str(error.value)
    assert "does not exist" not in str(error.value)


@pytest.mark.parametrize(
    "x_train, problem",
    [
        (np.zeros(5), r"x_train has shape \(5,\), one number per example with no features"),
        (np.float32(3), "x_train is a single number, not an array of examples"),
    ],
    ids=["1-D", "0-D"],
)
def test_an_x_train_without_a_feature_axis_says_so_not_that_it_is_empty(tmp_path, x_train, problem):
    np.savez(tmp_path / "d.npz", x_train=x_train)
    with pytest.raises(DataError, match=problem) as error:
        user_files.read_npz(tmp_path / "d.npz")
    assert "holds no examples" not in str(error.value)
