"""A wheel (what `pip install .` installs) carries every Hydra config, so aecli runs outside the
source tree."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_every_config(tmp_path):
    # a copy, so the build's own folders (build/, *.egg-info) never land in the checkout
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "outputs", "build", "*.egg-info", "__pycache__", ".pytest_cache"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("aecli-*.whl")
    shipped = {
        name
        for name in zipfile.ZipFile(wheel).namelist()
        if name.startswith("aecli/conf/") and name.endswith(".yaml")
    }
    # every depth: experiment/ (a link to experiments/) holds folders of studies too
    expected = {
        f"aecli/conf/{(Path(folder) / name).relative_to(ROOT / 'conf').as_posix()}"
        for folder, _, names in os.walk(ROOT / "conf", followlinks=True)
        for name in names
        if name.endswith(".yaml")
    }
    assert "aecli/conf/experiment/dsprites_study/factor_vae.yaml" in expected
    assert "aecli/conf/experiment/denoiser.yaml" in expected
    assert shipped == expected
