"""Crashes, signals and divergence: a run never loses more than an epoch, and always says what
happened."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aecli_process
import h5py
import keras
import pytest
from aecli_process import refusal
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from tensorboard_events import scalar_series

from aecli.config.store import CONF_DIR, register
from aecli.config.validate import load_run_config, validate

LONG_RUN = [
    "train",
    "dataset=synthetic",
    "dataset.size=4000",
    "model.hidden_units=[64]",
    "model.latent_dim=4",
    "trainer.epochs=25",
    "trainer.batch_size=64",
]


def _start(run_dir: Path, *extra) -> subprocess.Popen:
    return aecli_process.start(
        *LONG_RUN,
        *extra,
        f"hydra.run.dir={run_dir}",
        cwd=run_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, process: subprocess.Popen, timeout=120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def _status(run_dir: Path) -> dict:
    return json.loads((run_dir / "status.json").read_text())


def _checkpoint(run_dir: Path, name: str) -> dict:
    """The metadata stored inside a checkpoint file."""
    with h5py.File(run_dir / "checkpoints" / f"{name}.weights.h5", "r") as stream:
        return json.loads(stream.attrs["aecli_checkpoint"])


TINY = [
    "dataset=synthetic",
    "dataset.kind=circle",
    "dataset.size=300",
    "model.hidden_units=[8]",
    "trainer.batch_size=32",
    "hardware.jit_compile=off",
]


def test_sigkill_mid_run_then_resume_completes_without_duplicated_steps(tmp_path, aecli):
    run_dir = tmp_path / "run"
    process = _start(run_dir)
    _wait_for(run_dir / "checkpoints" / "previous.weights.h5", process)
    time.sleep(0.3)  # into a later epoch
    process.kill()
    process.wait()
    status = _status(run_dir)
    assert status["status"] == "running"  # a killed process records nothing more
    saved = _checkpoint(run_dir, "last")
    saved_epoch = saved["epoch"]
    # recorded after every epoch, once its checkpoint is written (a kill may fall in between)
    assert status["epochs_completed"] in (saved_epoch, saved_epoch + 1)
    assert saved_epoch < 24, "the run finished before it was killed; make LONG_RUN longer"

    result = aecli("resume", str(run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resuming after epoch {saved_epoch + 1}" in result.stdout + result.stderr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 25 and _status(run_dir)["status"] == "completed"
    # the whole run's training time, not only the resumed part's
    assert metrics["train_seconds"] > saved["train_seconds"] > 0
    steps = [step for step, _ in scalar_series(run_dir / "tensorboard" / "train", "epoch_loss")]
    assert len(steps) == len(set(steps)) and max(steps) == 24
    assert keras.saving.load_model(run_dir / "encoder.keras", safe_mode=True) is not None


def test_sigint_stops_after_the_step_saves_a_checkpoint_and_exits_130(tmp_path):
    run_dir = tmp_path / "run"
    process = _start(run_dir)
    _wait_for(run_dir / "checkpoints" / "last.weights.h5", process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    status = _status(run_dir)
    assert status["status"] == "interrupted" and "aecli resume" in status["error"]
    assert (run_dir / "checkpoints" / "last.weights.h5").exists()
    assert "Traceback" not in stderr


def test_sigterm_exits_143(tmp_path):
    run_dir = tmp_path / "run"
    process = _start(run_dir)
    _wait_for(run_dir / "checkpoints" / "last.weights.h5", process)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=120)
    assert process.returncode == 143 and _status(run_dir)["status"] == "interrupted"


def test_a_diverging_run_stops_failed_naming_the_term(aecli, tmp_path):
    result = aecli(
        "train",
        "model=vanilla",
        "model.likelihood=gaussian",
        "dataset=synthetic",
        "dataset.size=600",
        "trainer.learning_rate=1e12",
        "trainer.epochs=3",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert result.returncode == 3
    status = _status(tmp_path / "run")
    assert status["status"] == "failed" and "`recon` became non-finite" in status["error"]
    assert "trainer.learning_rate" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_resume_of_a_completed_run_is_refused(aecli, tmp_path):
    args = [
        "train",
        "dataset=synthetic",
        "dataset.size=300",
        "trainer.epochs=1",
        "trainer.batch_size=32",
        "model.hidden_units=[8]",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    assert aecli(*args).returncode == 0
    result = aecli("resume", str(tmp_path / "run"))
    assert result.returncode == 2 and "already completed" in result.stderr


def test_resume_with_an_edited_config_or_corrupt_checkpoints_says_so(aecli, tmp_path):
    run_dir = tmp_path / "run"
    # SIGKILLed by itself once its second epoch's checkpoint is on disk: `last` and `previous`
    killed = aecli(
        "train",
        "debug=tiny",
        "trainer.epochs=4",
        f"hydra.run.dir={run_dir}",
        env={"AECLI_FAULT_POINT": "epoch-end:2"},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert (run_dir / "checkpoints" / "previous.weights.h5").exists()
    config = run_dir / ".hydra" / "config.yaml"
    config.write_text(config.read_text().replace("latent_dim: 2", "latent_dim: 7"))
    result = aecli("resume", str(run_dir))
    assert (
        result.returncode == 2
        and "No checkpoint" in result.stderr
        and "config.yaml" in result.stderr
    )
    assert "Traceback" not in result.stderr

    config.write_text(config.read_text().replace("latent_dim: 7", "latent_dim: 2"))
    (run_dir / "checkpoints" / "last.weights.h5").write_bytes(b"not an h5 file")
    fallback = aecli("resume", str(run_dir))
    assert fallback.returncode == 0, fallback.stderr[-2000:]
    assert "from checkpoint `previous`" in fallback.stdout + fallback.stderr


def test_rerunning_a_sweep_into_its_folder_is_refused_and_writes_nothing(aecli, tmp_path):
    sweep = [
        "train",
        "-m",
        *TINY,
        "trainer.epochs=1",
        "seed=0,1",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]
    assert aecli(*sweep).returncode == 0
    before = {path: path.read_bytes() for path in (tmp_path / "sweep").rglob("*") if path.is_file()}
    again = aecli(*sweep)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "already holds an earlier sweep" in again.stderr and "aecli resume" in again.stderr
    after = {path: path.read_bytes() for path in (tmp_path / "sweep").rglob("*") if path.is_file()}
    assert after == before


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MiB filesystem (tmpfs), unmounted afterwards; skipped where mounting is not
    allowed."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_two_resumes_of_one_run_started_together_train_it_once(aecli, tmp_path):
    run_dir = tmp_path / "run"
    killed = aecli(
        "train",
        *TINY,
        "trainer.epochs=3",
        f"hydra.run.dir={run_dir}",
        env={"AECLI_FAULT_POINT": "epoch-end:1"},
    )
    assert killed.returncode == -signal.SIGKILL
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    both = [
        subprocess.Popen(
            [sys.executable, "-m", "aecli", "resume", str(run_dir)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = sorted((process.wait(timeout=300), process.communicate()[1]) for process in both)
    assert [code for code, _ in results] == [0, 2], results
    assert "Another aecli process" in results[1][1] and "Traceback" not in results[1][1]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    batch = load_run_config(run_dir).trainer.batch_size  # TINY's, or a --train-override's
    assert metrics["optimizer_steps"] == 3 * (metrics["train_examples"] // batch)


def test_a_run_locked_on_another_host_is_resumed_only_with_force(aecli, tmp_path):
    run_dir = tmp_path / "run"
    killed = aecli(
        "train",
        *TINY,
        "trainer.epochs=2",
        f"hydra.run.dir={run_dir}",
        env={"AECLI_FAULT_POINT": "epoch-end:1"},
    )
    assert killed.returncode == -signal.SIGKILL
    # as a node sharing the disk leaves it: its PID means nothing on this host
    (run_dir / "run.lock").write_text("999999 other-node 4242\n")
    status = (run_dir / "status.json").read_bytes()
    refused = aecli("resume", str(run_dir))
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert "process 999999 on host other-node" in refused.stderr
    assert f"`aecli resume {run_dir} --force`" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert (run_dir / "run.lock").read_text() == "999999 other-node 4242\n"
    assert (run_dir / "status.json").read_bytes() == status
    forced = aecli("resume", str(run_dir), "--force")
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert _status(run_dir)["status"] == "completed" and not (run_dir / "run.lock").exists()


def test_two_trains_into_one_folder_started_together_one_is_refused(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    both = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aecli",
                "train",
                *TINY,
                "trainer.epochs=2",
                f"seed={seed}",
                f"hydra.run.dir={run_dir}",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    results = [(process.wait(timeout=300), process.communicate()[1]) for process in both]
    assert sorted(code for code, _ in results) == [0, 2], results
    refused = next(stderr for code, stderr in results if code == 2)
    assert "Traceback" not in refused
    winner = 1 if results[0][0] == 0 else 2
    config = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    assert (
        config.seed == winner
        and f"seed={winner}" in (run_dir / ".hydra" / "overrides.yaml").read_text()
    )
    assert json.loads((run_dir / "metrics.json").read_text())["seed"] == winner
    assert _status(run_dir)["status"] == "completed"


def _saved_config(tmp_path: Path) -> str:
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[f"paths.root_dir={tmp_path}", *TINY])
    return OmegaConf.to_yaml(OmegaConf.structured(validate(cfg)))


@pytest.mark.parametrize(
    "content",
    ["model: [unclosed\n", "- just\n- a list\n", "", "foo: 1\n"],
    ids=["malformed", "a-list", "empty", "foreign"],
)
def test_resume_of_a_run_whose_config_is_damaged_says_so_in_one_paragraph(tmp_path, content):
    config = tmp_path / "run" / ".hydra" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(content)
    refused = refusal("resume", tmp_path / "run")
    assert "config.yaml" in str(refused)
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == [".hydra"]


def test_a_truncated_status_is_listed_as_unknown_and_resume_still_works(aecli, tmp_path):
    run_dir = tmp_path / "outputs" / "train" / "run"
    killed = aecli(
        "train",
        *TINY,
        "trainer.epochs=2",
        f"hydra.run.dir={run_dir}",
        env={"AECLI_FAULT_POINT": "epoch-end:1"},
    )
    assert killed.returncode == -signal.SIGKILL
    (run_dir / "status.json").write_text('{"status": "runn')
    listed = aecli("runs", str(tmp_path / "outputs"))
    assert listed.returncode == 0 and "Traceback" not in listed.stderr
    assert "unknown" in listed.stdout
    resumed = aecli("resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _status(run_dir)["status"] == "completed"


def test_resume_on_a_read_only_filesystem_says_so(aecli, small_disk, tmp_path):
    run_dir = small_disk / "run"
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "config.yaml").write_text(_saved_config(tmp_path))
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    result = aecli("resume", str(run_dir))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (
        "Cannot write in the run folder" in result.stderr and "read-only" in result.stderr.lower()
    )


def test_an_unwritable_default_run_folder_is_one_paragraph_without_warnings(aecli, tmp_path):
    # the default run folder, ${hydra:runtime.cwd}/outputs/..., with `outputs` not a folder
    (tmp_path / "outputs").write_text("")
    result = aecli("train", "debug=smoke", cwd=tmp_path)
    assert result.returncode == 2
    assert "Cannot create the run folder" in result.stderr
    assert "Warning" not in result.stderr and "Traceback" not in result.stderr


def test_an_override_syntax_error_names_the_override(aecli):
    result = aecli("train", "trainer.epochs=2", "beta=${oops")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "`beta=${oops`" in result.stderr


def test_a_yaml_error_in_a_config_dir_file_is_one_paragraph(aecli, tmp_path):
    (tmp_path / "conf" / "trainer").mkdir(parents=True)
    (tmp_path / "conf" / "trainer" / "broken.yaml").write_text("epochs: [1\n")
    result = aecli("train", "--config-dir", str(tmp_path / "conf"), "trainer=broken")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "broken.yaml" in result.stderr and "not valid YAML" in result.stderr


def test_the_divergence_step_is_the_same_whatever_steps_per_execution(aecli, tmp_path):
    if any(o.startswith("trainer.steps_per_execution=") for o in aecli_process.TRAIN_OVERRIDES):
        pytest.skip("a --train-override sets the steps per call this test compares")
    diverging = [
        "model=vanilla",
        "model.likelihood=gaussian",
        *TINY,
        "trainer.learning_rate=1e12",
        "trainer.epochs=2",
    ]
    one = aecli(
        "train", *diverging, "trainer.steps_per_execution=1", f"hydra.run.dir={tmp_path / 'a'}"
    )
    four = aecli(
        "train", *diverging, "trainer.steps_per_execution=4", f"hydra.run.dir={tmp_path / 'b'}"
    )
    assert one.returncode == four.returncode == 3
    exact = _status(tmp_path / "a")["error"]
    ranged = _status(tmp_path / "b")["error"]
    step = int(re.search(r"at step (\d+)", exact).group(1))
    low, high = map(int, re.search(r"between steps (\d+) and (\d+)", ranged).groups())
    assert low <= step <= high and "steps_per_execution=4" in ranged


def test_a_diverging_kl_term_blames_beta_not_only_the_learning_rate(aecli, tmp_path):
    result = aecli(
        "train",
        "model=vae",
        "beta=1e30",
        *TINY,
        "trainer.epochs=2",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert result.returncode == 3, result.stderr[-2000:]
    error = _status(tmp_path / "run")["error"]
    assert "`kl" in error and "beta" in error
