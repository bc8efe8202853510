"""Every subcommand explains itself without loading TensorFlow, and `aecli -sc` completes
`aecli train`."""

import subprocess
import sys

import pytest

# what each command's --help must name: its options
OPTIONS = {
    "eval": ["eval.k=", "eval.bound_limit=", "eval.split=", "dataset.limit="],
    "sample": ["sample.count=", "dataset.limit="],
    "encode": ["encode.split=", "dataset.limit="],
    "export": ["export.format="],
    "resume": ["run_dir"],
    "runs": ["root", "--where", "--sort", "--columns", "--format", "--sweep"],
    "compare": ["--plot"],
    "summarize": ["sweep_dir"],
    "tensorboard": ["--host", "--port"],
    "bench": ["--steps", "--repeats", "--steps-per-execution"],
}

_HELP = """
import sys, aecli.cli
try:
    code = aecli.cli.main([{command!r}, "--help"])
except SystemExit as stop:
    code = stop.code
print("exit", code, "tensorflow loaded:", "tensorflow" in sys.modules)
"""


@pytest.mark.parametrize("command", list(OPTIONS))
def test_help_lists_the_options_without_loading_tensorflow(command, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", _HELP.format(command=command)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.rstrip().endswith("exit 0 tensorflow loaded: False"), result.stdout
    for option in OPTIONS[command]:
        assert option in result.stdout, option


@pytest.mark.parametrize(
    "line, expected",
    [
        ("aecli train mod", "model="),
        ("aecli train model=", "model=vanilla"),
        ("aecli ev", "eval"),
    ],
)
def test_shell_completion_query_completes_train_overrides_and_commands(aecli, line, expected):
    result = aecli("-sc", "query=bash", env={"COMP_LINE": line, "COMP_POINT": str(len(line))})
    assert result.returncode == 0, result.stderr[-2000:]
    assert expected in result.stdout.split()


def test_shell_completion_install_script_completes_the_aecli_program(aecli):
    result = aecli("-sc", "install=bash")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.rstrip().endswith("-F hydra_bash_completion aecli")
    assert "aecli train" not in result.stdout
