"""A full disk, for real: runs, sweeps and summaries on a small tmpfs end with the one paragraph
that says so, exit status 2, and every earlier record intact, whichever write met the full disk.

The disk fills either by itself (tmpfs of 1, 3 and 8 MB: a run's writes outgrow each at another
moment) or at a named point of the run (AECLI_FAULT_FILL, aecli/rundir/faults.py), so each kind
of write (TensorBoard events and images, checkpoints, networks, metrics.json, status.json, the
lock, a sweep's summary) is the one that fails. Mounting needs root; elsewhere the tests skip.
"""

import errno
import hashlib
import json
import subprocess
from pathlib import Path

import h5py
import pytest

# checkpoints of ~2.4 MB (weights and Adam's two moments of the 784-128-2 VAE)
LARGE = ["debug=tiny", "model.hidden_units=[128]", "trainer.epochs=3"]
SMALL = ["debug=tiny", "trainer.epochs=2"]


@pytest.fixture
def tmpfs(tmp_path):
    """mount(size) -> a fresh real tmpfs of that size under tmp_path, unmounted afterwards; the
    test is skipped where mounting is not permitted."""
    mounted = []

    def mount(size: str, name: str = "disk") -> Path:
        point = tmp_path / name
        point.mkdir()
        try:
            result = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                capture_output=True,
                text=True,
            )
        except FileNotFoundError:
            pytest.skip("no mount command here")
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def _fill(disk: Path) -> None:
    """Write a filler file until the disk has no block left."""
    with open(disk / "filler", "ab", buffering=0) as stream:
        try:
            while True:
                stream.write(b"\0" * 4096)
        except OSError as error:
            assert error.errno == errno.ENOSPC


def _one_paragraph(stderr: str, start: str) -> str:
    """The whole of stderr is the one error paragraph (no traceback, no warning, no h5py
    deallocator message), starting with `start`."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {start}"), stderr[-3000:]
    return lines[0]


def _status(run_dir: Path) -> dict:
    return json.loads((run_dir / "status.json").read_text())


def _temporaries(folder: Path) -> list[Path]:
    return [path for path in folder.rglob(".*tmp*")]


def _checkpoint_epoch(run_dir: Path, name: str) -> int | None:
    path = run_dir / "checkpoints" / f"{name}.weights.h5"
    if not path.exists():
        return None
    with h5py.File(path, "r") as stream:
        return json.loads(stream.attrs["aecli_checkpoint"])["epoch"]


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "filler"
    }


@pytest.mark.parametrize("size", ["1M", "3M", "8M"])
def test_a_disk_that_fills_during_a_run_ends_it_with_one_paragraph_and_exit_2(aecli, tmpfs, size):
    # 1 MB fills at the first checkpoint, 3 MB at the first `best` after the first `last`, 8 MB in
    # the second epoch's checkpoints: HDF5 met the full disk in each (exit 139 before)
    disk = tmpfs(size)
    run_dir = disk / "run"
    result = aecli("train", *LARGE, f"hydra.run.dir={run_dir}")
    assert result.returncode == 2, result.stderr[-3000:]
    _one_paragraph(result.stderr, f"No space left on the device holding {run_dir}:")
    assert f"aecli resume {run_dir}" in result.stderr
    status = _status(run_dir)
    assert status["status"] == "failed" and "No space left" in status["error"]
    assert _temporaries(run_dir) == []
    last = _checkpoint_epoch(run_dir, "last")  # every checkpoint left is whole and readable
    assert last is None or last + 1 >= status["epochs_completed"]
    assert not (run_dir / "metrics.json").exists()

    # room again: the run goes on from its last checkpoint and completes, each epoch trained once
    subprocess.run(["mount", "-o", "remount,size=64M", str(disk)], check=True)
    resumed = aecli("resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert _status(run_dir)["status"] == "completed" and metrics["epochs_completed"] == 3
    assert metrics["optimizer_steps"] == 3 * (metrics["train_examples"] // 32)


@pytest.mark.parametrize(
    "point, fails",
    [
        ("startup", "tensorboard"),  # the event files, then the first checkpoint
        ("epoch-end:1", "checkpoints"),  # the 2nd epoch's scalars, image grids and checkpoint
        ("evaluation", "encoder.keras"),
        ("saving", "decoder.keras"),
        ("networks-saved", "metrics.json"),
    ],
)
def test_a_disk_that_fills_before_each_write_of_a_run_ends_it_with_one_paragraph(
    aecli, tmpfs, point, fails
):
    disk = tmpfs("16M")
    run_dir = disk / "run"
    result = aecli(
        "train",
        *SMALL,
        f"hydra.run.dir={run_dir}",
        env={"AECLI_FAULT_POINT": point, "AECLI_FAULT_FILL": str(disk / "filler")},
    )
    assert result.returncode == 2, (point, result.stderr[-3000:])
    _one_paragraph(result.stderr, f"No space left on the device holding {run_dir}:")
    status = _status(run_dir)  # rewritten in place: no room for a new copy
    assert status["status"] == "failed" and "No space left" in status["error"], status
    assert _temporaries(run_dir) == []
    assert not (run_dir / "metrics.json").exists()
    if fails in ("decoder.keras", "metrics.json"):
        assert (run_dir / "encoder.keras").stat().st_size > 0
    if fails == "metrics.json":
        assert (run_dir / "decoder.keras").stat().st_size > 0


def test_a_disk_that_fills_once_the_metrics_are_written_still_records_completed(aecli, tmpfs):
    # status.json is rewritten in the blocks it holds when no new copy fits
    disk = tmpfs("16M")
    run_dir = disk / "run"
    result = aecli(
        "train",
        *SMALL,
        f"hydra.run.dir={run_dir}",
        env={"AECLI_FAULT_POINT": "metrics-written", "AECLI_FAULT_FILL": str(disk / "filler")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.strip() == ""
    assert _status(run_dir)["status"] == "completed"


def test_a_full_disk_at_start_refuses_the_run_and_leaves_nothing(aecli, tmpfs):
    disk = tmpfs("1M")
    _fill(disk)
    run_dir = disk / "run"
    result = aecli("train", *SMALL, f"hydra.run.dir={run_dir}")
    assert result.returncode == 2, result.stderr[-3000:]
    _one_paragraph(result.stderr, f"No space left on the device holding {run_dir}:")
    assert not run_dir.exists(), list(run_dir.rglob("*"))  # no empty run.lock, no folder


def test_a_full_disk_at_the_start_of_a_sweep_refuses_it_and_leaves_nothing(aecli, tmpfs):
    disk = tmpfs("1M")
    _fill(disk)
    sweep_dir = disk / "sweep"
    result = aecli("train", "-m", *SMALL, "seed=0,1", f"hydra.sweep.dir={sweep_dir}")
    assert result.returncode == 2, result.stderr[-3000:]
    _one_paragraph(result.stderr, f"No space left on the device holding {sweep_dir}:")
    assert not sweep_dir.exists()  # no empty multirun.yaml to make the folder look used


def test_a_full_or_read_only_sweep_folder_fails_its_summary_cleanly_and_keeps_the_last_one(
    aecli, tmpfs
):
    disk = tmpfs("16M")
    sweep_dir = disk / "sweep"
    sweep = ["train", "-m", *SMALL, "trainer.epochs=1", "seed=0,1", f"hydra.sweep.dir={sweep_dir}"]
    filled = {"AECLI_FAULT_POINT": "sweep-summary", "AECLI_FAULT_FILL": str(disk / "filler")}
    result = aecli(*sweep, env=filled)
    assert result.returncode == 2, result.stderr[-3000:]  # Hydra alone exits 0 with a warning
    _one_paragraph(result.stderr, f"No space left on the device holding {sweep_dir}:")
    assert f"aecli summarize {sweep_dir}" in result.stderr
    assert not (sweep_dir / "summary.json").exists() and _temporaries(sweep_dir) == []
    for run in ("0_seed=0", "1_seed=1"):
        assert _status(sweep_dir / run)["status"] == "completed"

    (disk / "filler").unlink()
    assert aecli("summarize", str(sweep_dir)).returncode == 0
    before = _digests(sweep_dir)
    assert "summary.json" in before and "summary.csv" in before

    _fill(disk)
    full = aecli("summarize", str(sweep_dir))
    assert full.returncode == 2, full.stderr[-3000:]
    _one_paragraph(full.stderr, f"No space left on the device holding {sweep_dir}:")
    assert _digests(sweep_dir) == before and _temporaries(sweep_dir) == []

    (disk / "filler").unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    read_only = aecli("summarize", str(sweep_dir))
    assert read_only.returncode == 2, read_only.stderr[-3000:]
    _one_paragraph(read_only.stderr, f"Cannot write the summary into {sweep_dir} (Read-only")
    assert _digests(sweep_dir) == before


def test_hparams_that_meet_a_full_disk_keep_the_earlier_session(tmpfs):
    from aecli.errors import disk_full
    from aecli.sweeps.hparams import write_session

    disk = tmpfs("1M")
    run_dir = disk / "run"
    write_session(run_dir, {"beta": 1.0}, "sweep/run", {"test_loss": 1.0}, "completed")
    before = _digests(run_dir)
    _fill(disk)
    with pytest.raises(Exception) as refused:
        write_session(run_dir, {"beta": 2.0}, "sweep/run", {"test_loss": 2.0}, "completed")
    assert disk_full(refused.value), refused.value
    assert _digests(run_dir) == before and _temporaries(run_dir) == []


def test_a_full_disk_under_the_step_cache_costs_the_cache_not_the_run(tmpfs, caplog):
    from aecli.training import autotune

    disk = tmpfs("1M")
    _fill(disk)
    autotune._remember(disk / "cache" / "steps.json", "key", {"jit": False})  # does not raise
    assert "was not cached" in caplog.text and "No space left" in caplog.text
