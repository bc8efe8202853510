"""What a run leaves behind: the trained networks, metrics.json, and the terminal's view of both."""

import json
import math
from pathlib import Path

from rich.table import Table
from rich.tree import Tree

from aecli.console import console
from aecli.rundir.claim import CONFIG_DIR

METRICS_FILE = "metrics.json"


def save_networks(model, run_dir: Path) -> None:
    """encoder.keras and decoder.keras, reloadable with keras.saving.load_model (safe_mode on)."""
    model.encoder.save(run_dir / "encoder.keras")
    model.decoder.save(run_dir / "decoder.keras")


def write_metrics(run_dir: Path, metrics: dict) -> None:
    """A flat JSON object, written to a temporary file then renamed so no reader sees half of it."""
    temporary = run_dir / (METRICS_FILE + ".tmp")
    temporary.write_text(json.dumps(metrics, indent=2, allow_nan=True) + "\n")
    temporary.replace(run_dir / METRICS_FILE)


def _tree(node, branch: Tree) -> Tree:
    for key, value in node.items():
        if isinstance(value, dict):
            _tree(value, branch.add(f"[bold]{key}[/]"))
        else:
            branch.add(f"{key}: [cyan]{value}[/]")
    return branch


def print_config(run_dir: Path) -> None:
    """The composed config as a tree, read back from the file the run saved."""
    import yaml

    config = yaml.safe_load((run_dir / CONFIG_DIR / "config.yaml").read_text())
    console.print(_tree(config, Tree(f"[bold]run[/] {run_dir}")))


def print_metrics(metrics: dict) -> None:
    table = Table(title="test metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        shown = f"{value:.6g}" if isinstance(value, float) and math.isfinite(value) else str(value)
        table.add_row(name, shown)
    console.print(table)
