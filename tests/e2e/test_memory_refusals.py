"""Data and models that cannot fit in memory are refused in one paragraph, exit 2, status
`failed` with the reason, before loading: run in a real memory cgroup of 1.5 GiB (as a container
or a job scheduler would limit the run), where without the estimate the kernel kills the process
with no message and its status stays `running`.

The cgroup needs root and a writable cgroup file system (v1 `memory` controller or v2); elsewhere
the tests that need it are skipped.
"""

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

LIMIT = 1536 * 2**20
TINY = ["trainer.epochs=1", "model.hidden_units=[32]", "trainer.batch_size=32"]


def _cgroup_root() -> Path | None:
    v1 = Path("/sys/fs/cgroup/memory")
    if (v1 / "memory.limit_in_bytes").exists():
        return v1
    v2 = Path("/sys/fs/cgroup")
    if (
        "memory" in (v2 / "cgroup.controllers").read_text()
        if (v2 / "cgroup.controllers").exists()
        else False
    ):
        return v2
    return None


@pytest.fixture
def limited(tmp_path):
    """Run `aecli ARGS` in a fresh memory cgroup of LIMIT bytes; the cgroup is removed after."""
    root = _cgroup_root()
    if root is None or os.geteuid() != 0:
        pytest.skip("needs root and a memory cgroup to create")
    group = root / f"aecli-test-{os.getpid()}-{tmp_path.name}"
    try:
        group.mkdir()
        limit_file = "memory.limit_in_bytes" if root.name == "memory" else "memory.max"
        (group / limit_file).write_text(str(LIMIT))
    except OSError as error:
        pytest.skip(f"cannot create a memory cgroup here ({error})")

    def enter():
        (group / "cgroup.procs").write_text(str(os.getpid()))

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "aecli", *args],
            cwd=tmp_path,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
            preexec_fn=enter,
            capture_output=True,
            text=True,
            timeout=600,
        )

    yield run
    group.rmdir()


def _assert_refused(result, run_dir: Path, *phrases):
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    text = " ".join(result.stderr.split())
    assert "of memory, and this machine has" in text and "available" in text
    for phrase in phrases:
        assert phrase in text
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "failed" and "of memory" in status["error"]


def test_generated_data_larger_than_the_memory_limit_is_refused(limited, tmp_path):
    # 300,000 28x28 float32 images and their float32 splits: 1.8 GiB; killed at 1.5 GiB without
    # the estimate
    run_dir = tmp_path / "run"
    result = limited(
        "train", "dataset=synthetic", "dataset.size=300000", *TINY, f"hydra.run.dir={run_dir}"
    )
    _assert_refused(result, run_dir, "dataset=synthetic with dataset.size=300000 needs about")


def test_the_whole_dsprites_grid_is_refused_under_the_limit(limited, tmp_path):
    run_dir = tmp_path / "run"
    result = limited(
        "train",
        "dataset=dsprites",
        "dataset.size=null",
        "dataset.resolution=64",
        *TINY,
        f"hydra.run.dir={run_dir}",
    )
    _assert_refused(result, run_dir, "dataset.resolution=32")


def _png_header(width: int, height: int) -> bytes:
    chunk = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + b"\0" * 64
    )


def test_images_that_declare_20000x20000_pixels_are_refused_before_decoding(limited, tmp_path):
    for name in ("a", "b"):
        (tmp_path / "imgs" / name).mkdir(parents=True)
        (tmp_path / "imgs" / name / "big.png").write_bytes(_png_header(20000, 20000))
    run_dir = tmp_path / "run"
    result = limited(
        "train",
        "dataset=image_folder",
        f"dataset.path={tmp_path / 'imgs'}",
        "dataset.image_size=32",
        *TINY,
        f"hydra.run.dir={run_dir}",
    )
    _assert_refused(result, run_dir, "Decoding the largest image in", "needs about 5.6 GiB")


def test_an_npz_that_declares_gigabytes_is_refused_from_its_headers(limited, tmp_path):
    # 300,000 64x64 float32 images declared in a file of a few hundred bytes
    with zipfile.ZipFile(tmp_path / "big.npz", "w") as archive:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<f4", "fortran_order": False, "shape": (300000, 64, 64)}
        )
        archive.writestr("x_train.npy", header.getvalue())
    run_dir = tmp_path / "run"
    result = limited(
        "train",
        "dataset=npz",
        f"dataset.path={tmp_path / 'big.npz'}",
        *TINY,
        f"hydra.run.dir={run_dir}",
    )
    _assert_refused(result, run_dir, "The archive", "save a subset of the examples")


def test_a_csv_of_a_hundred_million_empty_cells_is_refused(limited, tmp_path):
    row = b"," * 999 + b"\n"
    with open(tmp_path / "sparse.csv", "wb") as stream:
        stream.write(b",".join(b"c%d" % i for i in range(1000)) + b"\n")
        for _ in range(100):
            stream.write(row * 1000)
    run_dir = tmp_path / "run"
    result = limited(
        "train",
        "dataset=csv",
        f"dataset.path={tmp_path / 'sparse.csv'}",
        *TINY,
        f"hydra.run.dir={run_dir}",
    )
    _assert_refused(result, run_dir, "The table", "read as cells")


def test_a_model_of_a_billion_latent_units_is_refused_before_it_is_built(aecli, tmp_path):
    run_dir = tmp_path / "run"
    result = aecli(
        "train",
        "dataset=synthetic",
        "dataset.size=600",
        "model.latent_dim=1000000000",
        *TINY,
        f"hydra.run.dir={run_dir}",
    )
    _assert_refused(result, run_dir, "parameters with model.latent_dim=1000000000")
