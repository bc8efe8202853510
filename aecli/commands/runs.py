"""`aecli runs [DIR]`: every run under a folder as a table, newest first."""

import argparse
from pathlib import Path

from rich.table import Table

from aecli.console import console
from aecli.errors import UserError
from aecli.rundir.listing import find_runs

# each shown when some listed run has it (anomaly runs have ROC-AUC, not every run an ELBO)
COLUMNS = {"test_recon_mse": "recon MSE", "test_kl": "KL", "test_elbo": "ELBO", "test_psnr_db": "PSNR dB",
           "test_roc_auc": "ROC-AUC"}


def _cell(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else "" if value is None else str(value)


def main(args) -> int:
    parser = argparse.ArgumentParser(prog="aecli runs", description="List the runs under a folder, newest first.")
    parser.add_argument("root", nargs="?", type=Path, default=Path("outputs"), help="folder to search (default outputs/)")
    root = parser.parse_args(args).root
    if not root.is_dir():
        raise UserError(f"{root} is not a folder; pass the folder that holds your runs, e.g. `aecli runs outputs` "
                        "(where `aecli train` writes them, relative to the current folder).")
    runs = find_runs(root)
    table = Table(title=f"{len(runs)} runs under {root}")
    metrics = [key for key in COLUMNS if any(key in run.metrics for run in runs)]
    for column in ("dir", "model", "dataset", "β", "status", "epochs", *(COLUMNS[key] for key in metrics)):
        table.add_column(column, overflow="fold", min_width=18 if column == "dir" else None)
    for run in runs:
        model, dataset = run.config.get("model", {}), run.config.get("dataset", {})
        beta = model.get("beta")
        status = {"failed": "[red]failed[/]", "interrupted": "[yellow]interrupted[/]"}.get(run.status, run.status)
        table.add_row(str(run.path.relative_to(root)), model.get("name", ""), dataset.get("name", ""), _cell(beta),
                      status, _cell(run.metrics.get("epochs_completed")),
                      *(_cell(run.metrics.get(key)) for key in metrics))
    console.print(table)
    return 0
