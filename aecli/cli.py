"""`aecli` entry point: dispatches subcommands without importing TensorFlow, so help is instant."""

import importlib
import sys

from rich.table import Table

from aecli.console import console, report_error
from aecli.errors import UserError
from aecli.rundir.signals import Stopped, guard

COMMANDS = {
    "train": ("aecli.commands.train", "Train a model from Hydra overrides; `-m` sweeps (e.g. beta=0.5,1,2,4,10)."),
    "eval": ("aecli.commands.eval", "Reload a finished run: test metrics, ELBO and importance-weighted log p(x)."),
    "sample": ("aecli.commands.sample", "Images from a finished run: prior samples, interpolations, traversals."),
    "encode": ("aecli.commands.encode", "Latent codes of a split as .npy, with the compression ratio."),
    "anomaly": ("aecli.commands.anomaly", "Train on normal data only and detect anomalies (tabular or one-class images)."),
    "resume": ("aecli.commands.resume", "Continue a stopped or crashed run from its last checkpoint."),
    "runs": ("aecli.commands.runs", "List the runs under a folder (default outputs/), newest first."),
    "summarize": ("aecli.commands.summarize", "Rebuild a sweep's summary: table, summary.csv/json, plot, HParams."),
    "tensorboard": ("aecli.commands.tensorboard", "Serve TensorBoard on a folder of runs (localhost by default)."),
    "bench": ("aecli.commands.bench", "Measure training samples/s with XLA off and on, side by side; writes bench.json."),
}


def _print_help() -> None:
    table = Table(show_header=False, box=None, padding=(0, 2))
    for name, (_, summary) in COMMANDS.items():
        table.add_row(f"[bold]{name}[/]", summary)
    console.print("usage: aecli COMMAND [ARGS]\n\nAutoencoder experiments driven by Hydra configs.\n")
    console.print(table)
    console.print("\n`aecli COMMAND --help` shows a command's options and config groups.")


def main(argv=None) -> int:
    """Run `aecli COMMAND ...`; user errors become one paragraph and exit code 2."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        _print_help()
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        report_error(UserError(f"unknown command `{name}`; choose one of: {', '.join(COMMANDS)} "
                               "(see `aecli --help`)."))
        return 2
    guard.install()  # SIGINT/SIGTERM end every command with one line and 130/143, never a traceback
    try:
        command = importlib.import_module(COMMANDS[name][0])
        return command.main(rest) or 0
    except UserError as error:
        report_error(error)
        return error.exit_code
    except Stopped as stopped:
        report_error(UserError(f"Stopped by {stopped.name}. Every file aecli writes is replaced "
                               "whole, so none is left half-written."))
        return stopped.exit_code


if __name__ == "__main__":
    sys.exit(main())
