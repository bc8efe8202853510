"""What a run leaves behind: the trained networks, metrics.json, and the terminal's view of both."""

import json
import math
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from aecli.console import console
from aecli.rundir.atomic import MemoryFile, write_bytes, write_json
from aecli.rundir.faults import fault_point
from aecli.rundir.layout import RunFolder


def save_networks(model, folder: RunFolder) -> None:
    """encoder.keras and decoder.keras, reloadable with keras.saving.load_model (safe_mode on);
    each written beside its target and renamed, so a kill leaves the old file or the new."""
    for index, (network, path) in enumerate(
        zip((model.encoder, model.decoder), folder.networks, strict=True)
    ):
        if index:
            fault_point("saving")
        buffer = MemoryFile(path.name)  # see MemoryFile: HDF5 never writes to the disk
        network.save(buffer)
        write_bytes(path, buffer.getvalue())


def write_metrics(folder: RunFolder, metrics: dict) -> None:
    write_json(folder.metrics, metrics)


# what metrics.json records of the run's config and placement beside its measurements: the run
# line names them already, so the terminal's table leaves them out
_RUN_FACTS = (
    "model",
    "dataset",
    "beta",
    "seed",
    "name",
    "tags",
    "jit_compile",
    "steps_per_execution",
    "fuse_steps",
    "precision",
)


def print_metrics(metrics: dict, title: str = "test metrics") -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        if isinstance(value, (list, dict)):  # per-dimension values and file lists: in metrics.json
            continue
        if name in _RUN_FACTS:
            continue
        shown = f"{value:.6g}" if isinstance(value, float) and math.isfinite(value) else str(value)
        table.add_row(escape(name), escape(shown))
    console.print(table)


def report_run(folder: RunFolder, log_dir, sweep_job: bool = False) -> None:
    """The end of a run in the terminal: its metrics table, then where it is and what to run next.
    A sweep's job under -q says one line instead (the sweep ends with its summary)."""
    from aecli.console import QUIET, verbosity

    try:
        metrics = json.loads(folder.metrics.read_text())
    except (OSError, ValueError):  # a multi-worker run's other workers write no metrics
        return
    if sweep_job and verbosity() <= QUIET:
        shown = "  ".join(
            f"{key} {metrics[key]:.4g}"
            for key in ("val_loss", "test_elbo", "test_recon_mse", "test_roc_auc")
            if isinstance(metrics.get(key), float)
        )
        console.print(f"{_shown(folder.path)}: completed  {shown}", markup=False, soft_wrap=True)
        return
    print_metrics(metrics)
    if sweep_job or verbosity() <= QUIET:
        return
    run, logs = _shown(folder.path), _shown(Path(log_dir))
    console.print(
        f"results in {run}; next:\n  aecli tensorboard {logs}\n  aecli sample {run}\n"
        f"  aecli eval {run}\n  aecli predict {run} input=PATH",
        markup=False,
        soft_wrap=True,
    )


def _shown(path: Path) -> Path:
    """`path` relative to the working folder where it lies below it (as the user typed it)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path
