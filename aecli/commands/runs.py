"""`aecli runs [DIR]`: every run under a folder as a table, newest first."""

import argparse
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from aecli.console import COMPACT_TABLE, console
from aecli.errors import UserError
from aecli.rundir.listing import Run, find_runs

# each shown when some listed run has it (anomaly runs have ROC-AUC, not every run an ELBO)
COLUMNS = {  # headers on two lines, so a column is as wide as its numbers
    "test_recon_mse": "recon\nMSE",
    "test_kl": "KL",
    "test_elbo": "ELBO",
    "test_psnr_db": "PSNR\ndB",
    "test_roc_auc": "ROC-\nAUC",
    "test_mig": "MIG",
}
# a failed run's reason in the table: its first sentence, cut to this many characters (the whole
# error is in the run's status.json)
REASON_CHARS = 160


def _cell(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else "" if value is None else str(value)


def reason(run: Run) -> str:
    """The first sentence of the first line of why a run did not complete."""
    line = run.first_error_line
    sentence = line.split(". ", 1)[0].rstrip(".")
    return sentence if len(sentence) <= REASON_CHARS else sentence[: REASON_CHARS - 1] + "…"


def tags(run: Run) -> str:
    """The run's own name and tags (top-level `name=` and `tags=[...]`)."""
    value = run.config.get("tags")
    labels = [str(tag) for tag in value] if isinstance(value, list) else []
    name = "" if run.config.get("name") is None else str(run.config["name"])
    if name and labels:
        return f"{name}: {', '.join(labels)}"
    return name or ", ".join(labels)


def status(run: Run) -> str:
    """The status, coloured, with the reason a failed run gave."""
    colour = {"failed": "red", "interrupted": "yellow"}.get(run.status)
    shown = f"[{colour}]{run.status}[/]" if colour else run.status
    if run.first_error_line:
        shown += f": {escape(reason(run))}"
    if run.damage and run.damage != run.first_error_line:  # the failure's reason came first
        shown += f"\n[yellow]{escape(run.damage)}[/]"
    return shown


def runs_table(runs: list[Run], root: Path) -> Table:
    """One row per run; under its folder, dimmed, the overrides it ran with."""
    table = Table(title=f"{len(runs)} runs under {root}", **COMPACT_TABLE)
    metrics = [key for key in COLUMNS if any(key in run.metrics for run in runs)]
    with_tags = any(tags(run) for run in runs)
    table.add_column("dir / overrides", overflow="fold", min_width=20)
    table.add_column("model\ndataset", overflow="fold")
    table.add_column("β", no_wrap=True)
    if with_tags:
        table.add_column("tags", overflow="fold")
    table.add_column("status", overflow="fold", min_width=9)
    for column in ("epochs", *(COLUMNS[key] for key in metrics)):
        table.add_column(column, no_wrap=True, justify="right")
    for run in runs:
        model, dataset = run.config.get("model", {}), run.config.get("dataset", {})
        where = escape(str(run.path.relative_to(root)))
        if run.overrides:
            where += f"\n[dim]{escape(' '.join(run.overrides))}[/]"
        table.add_row(
            where,
            f"{model.get('name', '')}\n{dataset.get('name', '')}",
            _cell(model.get("beta")),
            *((tags(run),) if with_tags else ()),
            status(run),
            _cell(run.metrics.get("epochs_completed")),
            *(_cell(run.metrics.get(key)) for key in metrics),
        )
    return table


def main(args) -> int:
    parser = argparse.ArgumentParser(
        prog="aecli runs", description="List the runs under a folder, newest first."
    )
    parser.add_argument(
        "root",
        nargs="?",
        type=Path,
        default=Path("outputs"),
        help="folder to search (default outputs/)",
    )
    root = parser.parse_args(args).root
    if not root.is_dir():
        raise UserError(
            f"{root} is not a folder; pass the folder that holds your runs, "
            "e.g. `aecli runs outputs` "
            "(where `aecli train` writes them, relative to the current folder)."
        )
    console.print(runs_table(find_runs(root), root))
    return 0
