"""What a run leaves behind: the trained networks, metrics.json, and the terminal's view of both."""

import math

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


def print_metrics(metrics: dict, title: str = "test metrics") -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        if isinstance(value, (list, dict)):  # per-dimension values and file lists: in metrics.json
            continue
        shown = f"{value:.6g}" if isinstance(value, float) and math.isfinite(value) else str(value)
        table.add_row(escape(name), escape(shown))
    console.print(table)
