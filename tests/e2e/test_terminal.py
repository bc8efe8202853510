"""What a plain `aecli train` prints: its own lines only, none wider than 100 columns."""

import os

import pytest

TINY = ["debug=tiny", "trainer.epochs=2"]

# start-up lines of TensorFlow's C++ side, XLA, the CUDA stubs and Hydra that a plain run must
# not show (each appears on this CPU-only machine without the filter)
FRAMEWORK_LINES = [
    "All log messages before absl::InitializeLog()",
    "oneDNN custom operations are on",
    "cudart_stub.cc",
    "Could not find cuda drivers",
    "failed call to cuInit",
    "cuda_platform.cc",
    "To enable the following instructions",
    "This TensorFlow binary is optimized",
    "XLA service",
    "StreamExecutor",
    "Compiled cluster using XLA",
    "UserWarning",
    "HydraConfig was not set",
]


def _as_a_user(aecli, *args):
    # no TF_CPP_MIN_LOG_LEVEL: as a user's shell has it
    return aecli(*args, env={"TF_CPP_MIN_LOG_LEVEL": None})


def test_a_plain_run_prints_no_framework_lines_and_no_line_over_100_columns(aecli):
    # with XLA, whose service announces itself
    result = _as_a_user(aecli, "train", *TINY, "hardware.jit_compile=on")
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    for line in FRAMEWORK_LINES:
        assert line not in output, line
    assert [line for line in output.splitlines() if len(line) > 100] == []
    lines = result.stdout.splitlines()
    # the run line names the overrides (short enough here to fit on it)
    assert lines[0].startswith("run outputs/train/") and "trainer.epochs=2" in lines[0]
    assert [line.split()[1] for line in lines if line.startswith("epoch ")] == ["1/2", "2/2"]
    assert "XLA off" not in output  # an INFO log: shown with -v
    assert "val_loss" in result.stdout  # the final metrics table
    # which holds metrics, not the config the run line shows
    assert not any(line.startswith(("│ model ", "│ seed ", "│ beta ")) for line in lines)
    # and the run ends saying where its results are and what to run next
    run = lines[0].split()[1]
    assert f"results in {run}; next:" in result.stdout
    assert f"  aecli sample {run}" in lines and f"  aecli predict {run} input=PATH" in lines


def test_epoch_lines_keep_their_terms_and_fit_80_columns(aecli):
    result = aecli("train", *TINY, "trainer.epochs=3", "model=beta_tcvae", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr[-3000:]
    epochs = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 3 and all(len(line) <= 80 for line in epochs)
    # the same term names in every line (the values between them change)
    assert len({tuple(line.split()[3::2]) for line in epochs}) == 1
    assert " C " not in epochs[0] and "β" not in epochs[0]  # no schedule moves them


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "aecli", "train", "--help"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.close()  # as `| head` does once it has its lines
    _, stderr = process.communicate(timeout=120)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
    assert process.returncode in (0, 141)


def test_quiet_prints_only_the_final_metrics_and_verbose_the_info_logs(aecli):
    quiet = _as_a_user(aecli, "train", "-q", *TINY)
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert not any(line.startswith(("epoch ", "run ")) for line in quiet.stdout.splitlines())
    assert "test metrics" in quiet.stdout and quiet.stderr == ""
    verbose = _as_a_user(aecli, "train", "-v", *TINY)
    assert verbose.returncode == 0, verbose.stderr[-3000:]
    assert "XLA off, 1 step per call: hardware.jit_compile=off" in verbose.stdout
    # aecli asks TensorFlow for its oneDNN kernels on every CPU (on by itself only on some)
    assert "oneDNN custom operations are on" in verbose.stdout + verbose.stderr


@pytest.mark.skipif(os.path.exists("/dev/nvidia0"), reason="needs a machine without a GPU")
def test_asking_for_a_missing_gpu_names_the_gpu_extra(aecli):
    result = _as_a_user(aecli, "train", *TINY, "hardware=gpu")
    assert result.returncode == 2
    assert "pip install 'aecli[gpu]'" in result.stderr
