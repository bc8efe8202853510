"""`aecli runs [DIR]`: every run under a folder as a table, newest first."""

import argparse
from pathlib import Path

from rich.table import Table

from aecli.console import console
from aecli.runs import find_runs

COLUMNS = {"test_recon_mse": "recon MSE", "test_elbo": "ELBO", "test_psnr_db": "PSNR dB"}


def _cell(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else "" if value is None else str(value)


def main(args) -> int:
    parser = argparse.ArgumentParser(prog="aecli runs", description="List the runs under a folder, newest first.")
    parser.add_argument("root", nargs="?", type=Path, default=Path("outputs"), help="folder to search (default outputs/)")
    root = parser.parse_args(args).root
    runs = find_runs(root) if root.is_dir() else []
    table = Table(title=f"{len(runs)} runs under {root}")
    for column in ("dir", "model", "dataset", "β", "status", "epochs", *COLUMNS.values()):
        table.add_column(column, overflow="fold", min_width=18 if column == "dir" else None)
    for run in runs:
        model, dataset = run.config.get("model", {}), run.config.get("dataset", {})
        beta = run.config.get("beta") if "default_beta" in model else None
        status = {"failed": "[red]failed[/]", "interrupted": "[yellow]interrupted[/]"}.get(run.status, run.status)
        table.add_row(str(run.path.relative_to(root)), model.get("name", ""), dataset.get("name", ""), _cell(beta),
                      status, _cell(run.metrics.get("epochs_completed")),
                      *(_cell(run.metrics.get(key)) for key in COLUMNS))
    console.print(table)
    return 0
