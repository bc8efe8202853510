"""`aecli` entry point: dispatches subcommands without importing TensorFlow, so help is instant."""

import contextlib
import importlib
import io
import os
import sys

from rich.table import Table

from aecli.console import (
    NORMAL,
    QUIET,
    VERBOSE,
    console,
    native_filter,
    report_error,
    set_verbosity,
)
from aecli.errors import DiskFull, UserError, disk_full
from aecli.rundir.signals import Stopped, guard

COMMANDS = {
    "train": (
        "aecli.commands.train",
        "Train a model from Hydra overrides; `-m` sweeps (e.g. beta=0.5,1,2,4,10).",
    ),
    "eval": (
        "aecli.commands.eval",
        "Reload a finished run: test metrics, ELBO and importance-weighted log p(x).",
    ),
    "sample": (
        "aecli.commands.sample",
        "Images from a finished run: prior samples, interpolations, traversals.",
    ),
    "encode": (
        "aecli.commands.encode",
        "Latent codes of a split as .npy, with the compression ratio.",
    ),
    "predict": (
        "aecli.commands.predict",
        "Apply a completed run to new data: scores, flags, codes, reconstructions.",
    ),
    "anomaly": (
        "aecli.commands.anomaly",
        "Train on normal data only and detect anomalies (tabular or one-class images).",
    ),
    "export": (
        "aecli.commands.export",
        "A finished run as a SavedModel (or TFLite) taking raw inputs, with metadata.json.",
    ),
    "resume": (
        "aecli.commands.resume",
        "Continue a stopped or crashed run from its last checkpoint.",
    ),
    "runs": (
        "aecli.commands.runs",
        "The runs under a folder, one line each: filter, sort, group by sweep, CSV/JSON.",
    ),
    "compare": (
        "aecli.commands.compare",
        "Runs side by side: config that differs, metrics and their difference, loss curves.",
    ),
    "summarize": (
        "aecli.commands.summarize",
        "Rebuild a sweep's summary: tables, summary and aggregate CSV/JSON, plot, HParams.",
    ),
    "tensorboard": (
        "aecli.commands.tensorboard",
        "Serve TensorBoard on a folder of runs (localhost by default).",
    ),
    "bench": (
        "aecli.commands.bench",
        "Measure training samples/s with XLA off and on, side by side; writes bench.json.",
    ),
}


# commands that are Hydra apps: they take -q / -v, and Hydra's shell completion
HYDRA_COMMANDS = ("train", "anomaly")
# commands that load TensorFlow: its native start-up lines are filtered out of their stderr
TENSORFLOW_COMMANDS = (
    *("train", "anomaly", "resume", "eval", "sample", "encode", "predict", "export", "bench"),
    *("summarize", "tensorboard"),  # the sweep's HParams are written, and served, by TensorFlow
    "compare",  # TensorBoard's event reader loads TensorFlow
)
# Set before TensorFlow loads (a user's own value wins). TensorFlow turns oneDNN's CPU kernels on
# by itself only on CPUs with AVX512_VNNI, AVX512_BF16 or AMX and runs Eigen's elsewhere, yet
# oneDNN's kernels are faster on AVX2-only CPUs too, for convolutions and for steps XLA does not
# compile (docs/speed.md).
TENSORFLOW_ENVIRONMENT = {"TF_ENABLE_ONEDNN_OPTS": "1"}
_LEVELS = {"-q": QUIET, "--quiet": QUIET, "-v": VERBOSE, "--verbose": VERBOSE}


def _verbosity(rest: list[str]) -> tuple[int, list[str]]:
    """-q / -v taken out of a Hydra command's arguments (Hydra would read them as overrides)."""
    levels = [_LEVELS[a] for a in rest if a in _LEVELS]
    return (levels[-1] if levels else NORMAL), [a for a in rest if a not in _LEVELS]


def _shell_completion(args: list[str]) -> int:
    """`aecli -sc install=bash` / `query=bash`: Hydra's completion of `aecli train` overrides.

    The installed script calls `aecli -sc query=bash` with the whole line in COMP_LINE; Hydra
    takes one word for the program, so `train` is removed from it here, and a line still
    choosing its command is completed with the command names.
    """
    words = os.environ.get("COMP_LINE", "").split()
    if any(a.startswith("query=") for a in args) and words:
        typing_command = len(words) == 1 or (
            len(words) == 2 and not os.environ["COMP_LINE"].endswith(" ")
        )
        if typing_command:
            partial = words[1] if len(words) == 2 else ""
            print(" ".join(name for name in COMMANDS if name.startswith(partial)))
            return 0
        name = words[1] if words[1] in HYDRA_COMMANDS else "train"
        line = os.environ["COMP_LINE"].replace(f" {name}", "", 1) if words[1] == name else None
        if line is not None:
            os.environ["COMP_LINE"] = line
            os.environ["COMP_POINT"] = str(len(line))
        return importlib.import_module(COMMANDS[name][0]).main(args) or 0
    script = io.StringIO()
    with contextlib.redirect_stdout(script):
        code = importlib.import_module(COMMANDS["train"][0]).main(args) or 0
    # Hydra names the program after argv[0], `aecli train`: complete the `aecli` program
    print(script.getvalue().replace("aecli train", "aecli"), end="")
    return code


def _print_help() -> None:
    table = Table(show_header=False, box=None, padding=(0, 2))
    for name, (_, summary) in COMMANDS.items():
        table.add_row(f"[bold]{name}[/]", summary)
    console.print(
        "usage: aecli COMMAND [ARGS]\n\nAutoencoder experiments driven by Hydra configs.\n"
    )
    console.print(table)
    console.print(
        "\n`aecli COMMAND --help` shows a command's options and config groups.\n"
        "`aecli train -q ...` prints only errors and the final metrics, `-v` the INFO logs too.\n"
        'Shell completion of `aecli train` overrides: eval "$(aecli -sc install=bash)".'
    )


def main(argv=None) -> int:
    """Run `aecli COMMAND ...`; user errors become one paragraph and exit code 2. A reader that
    goes away (`aecli train --help | head`) ends the command quietly, with the status a shell
    gives a program that SIGPIPE stops (141), never a traceback."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # inside the try: a closed pipe shows itself at this flush too
        return code
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at /dev/null so that flush is silent
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13


def _main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        _print_help()
        return 0
    if args[0] in ("-V", "--version"):  # the installed versions, without loading TensorFlow
        from aecli.rundir.provenance import version_line

        print(version_line())
        return 0
    if args[0] in ("-sc", "--shell-completion"):
        return _run(lambda: _shell_completion(args))
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        report_error(
            UserError(
                f"unknown command `{name}`; choose one of: {', '.join(COMMANDS)} "
                "(see `aecli --help`)."
            )
        )
        return 2
    level = NORMAL
    if name in HYDRA_COMMANDS:
        level, rest = _verbosity(rest)
    set_verbosity(level)
    if name in TENSORFLOW_COMMANDS:  # sweep jobs in other processes inherit it
        for variable, value in TENSORFLOW_ENVIRONMENT.items():
            os.environ.setdefault(variable, value)
    if name in TENSORFLOW_COMMANDS and level < VERBOSE and not {"-h", "--help"} & set(rest):
        native_filter.start()
    guard.install()  # SIGINT/SIGTERM end every command with one line and 130/143, never a traceback
    return _run(lambda: importlib.import_module(COMMANDS[name][0]).main(rest))


def _run(work) -> int:
    try:
        return work() or 0
    except UserError as error:
        report_error(error)
        return error.exit_code
    except OSError as error:  # a full disk under a write that has no message of its own
        if not disk_full(error):
            raise
        where = f" holding {error.filename}" if error.filename else ""
        report_error(
            DiskFull(f"No space left on the device{where}. Free space and run the command again.")
        )
        return DiskFull.exit_code
    except Stopped as stopped:
        report_error(
            UserError(
                f"Stopped by {stopped.name}. Every file aecli writes is replaced "
                "whole, so none is left half-written."
            )
        )
        return stopped.exit_code


if __name__ == "__main__":
    sys.exit(main())
