"""`aecli compare RUN_A RUN_B [...]`: the config keys in which the runs differ, their metrics side
by side with the difference from RUN_A, and, for two or more runs of one dataset, the validation
loss per epoch of each in one PNG."""

import argparse
import os
import string
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from aecli.compare.differences import Row, config_differences, metric_rows
from aecli.console import COMPACT_TABLE, console
from aecli.errors import UserError
from aecli.rundir.fields import config_fields, run_fields
from aecli.rundir.layout import RunFolder
from aecli.rundir.listing import read_run

DEFAULT_PLOT = Path("compare_val_loss.png")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aecli compare",
        description="Compare runs: the config keys that differ, the metrics side by side with "
        "their difference from the first run, and the validation loss per epoch of the runs of "
        "each dataset in one PNG.",
        epilog="example: aecli compare outputs/train/RUN_A outputs/train/RUN_B",
    )
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders, 2 or more")
    parser.add_argument(
        "--plot",
        type=Path,
        default=DEFAULT_PLOT,
        metavar="PNG",
        help=f"where the plot of validation losses goes (default ./{DEFAULT_PLOT}, replaced)",
    )
    return parser


def _check(options) -> None:
    """Refuse before printing or writing anything."""
    if len(options.runs) < 2:
        raise UserError(
            "aecli compare needs two run folders or more, e.g. `aecli compare "
            "outputs/train/RUN_A outputs/train/RUN_B` (`aecli runs` lists them)."
        )
    for path in options.runs:
        folder = RunFolder(path)
        if not (
            path.is_dir()
            and (folder.config.exists() or folder.status.exists() or folder.metrics.exists())
        ):
            raise UserError(
                f"{path} is not a run folder: it holds no .hydra/config.yaml, status.json or "
                "metrics.json. Pass the folders `aecli runs` lists, e.g. outputs/train/<run>."
            )
    plot = options.plot
    parent = plot.parent if str(plot.parent) else Path(".")
    if plot.suffix.lower() != ".png" or plot.is_dir():
        raise UserError(f"--plot {plot}: give a file name ending in .png, e.g. --plot runs.png.")
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise UserError(
            f"--plot {plot}: its folder {parent} does not exist or cannot be written; pick another "
            "with --plot DIR/NAME.png. Nothing was written."
        )


def _table(title: str, labels: list[str], rows: list[Row], with_deltas: bool) -> Table:
    table = Table(title=f"[bold]{title}[/]", title_justify="left", **COMPACT_TABLE)
    table.add_column("key", overflow="fold")
    for label in labels:
        table.add_column(label, justify="right", overflow="fold")
    if with_deltas:
        for label in labels[1:]:
            table.add_column(f"{label} − {labels[0]}", justify="right", no_wrap=True)
    for row in rows:
        table.add_row(
            escape(row.key), *map(escape, row.values), *(row.deltas if with_deltas else ())
        )
    return table


def main(args) -> int:
    options = _parser().parse_args(args)
    _check(options)
    runs = [read_run(path) for path in options.runs]
    records = [run_fields(run, str(run.path)) for run in runs]
    config_keys = list(dict.fromkeys(key for run in runs for key in config_fields(run)))
    labels = (
        list(string.ascii_uppercase[: len(runs)])
        if len(runs) <= 26
        else [str(index + 1) for index in range(len(runs))]
    )
    for label, record in zip(labels, records, strict=True):
        reason = record["damage"] or (record["error"] or "").strip().split("\n", 1)[0]
        console.print(
            f"[bold]{label}[/]  {escape(record['run'])}  ({record['status']}"
            + (f": {escape(reason)}" if reason else "")
            + ")",
            soft_wrap=True,
        )
    differences = config_differences(records, config_keys)
    if differences:
        console.print()
        console.print(_table("config that differs", labels, differences, False))
    else:
        console.print("\nThe runs' configs are the same (seed included).")
    metrics = metric_rows(records, config_keys)
    if metrics:
        console.print()
        console.print(_table("metrics", labels, metrics, True))
    else:
        console.print("\nNo run has metrics (none completed).")
    _plot(runs, records, labels, options.plot)
    return 0


def _plot(runs, records: list[dict], labels: list[str], path: Path) -> None:
    """The validation losses of the runs of each dataset that two runs or more logged."""
    from aecli.compare.history import validation_losses

    by_dataset: dict[str, dict[str, list]] = {}
    for label, run, record in zip(labels, runs, records, strict=True):
        losses = validation_losses(run.path)
        if losses:
            dataset = str(record.get("dataset.name", "unknown dataset"))
            by_dataset.setdefault(dataset, {})[f"{label}: {run.path.name}"] = losses
    panels = {dataset: series for dataset, series in by_dataset.items() if len(series) >= 2}
    if not panels:
        console.print(
            "\nNo plot: it needs two runs or more of one dataset with a validation loss per "
            "epoch (tensorboard/validation in the run folder)."
        )
        return
    from aecli.compare.plot import write_loss_plot

    write_loss_plot(panels, path)
    console.print(f"\nvalidation loss per epoch: {escape(str(path))}", soft_wrap=True)
