"""A run.lock that aecli cannot replace (a folder of that name) is refused in one paragraph, the
folder left as it was."""

import pytest

from aecli.errors import UserError
from aecli.rundir.claim import lock
from aecli.rundir.layout import RunFolder


def test_a_folder_named_run_lock_is_refused_and_left_in_place(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.lock.mkdir(parents=True)
    (folder.lock / "kept").write_text("x")
    with pytest.raises(UserError) as error:
        lock(folder)
    message = str(error.value)
    assert f"{folder.lock} is in the way of the run's lock and cannot be removed" in message
    assert "Is a directory" in message and "rm -r" in message
    assert (folder.lock / "kept").read_text() == "x"
    assert sorted(p.name for p in folder.path.iterdir()) == ["run.lock"]
