"""The sweep's tables in the terminal: one row per run, and one per group of replicates."""

from rich.table import Table

from aecli.console import COMPACT_TABLE
from aecli.sweeps.aggregate import is_number

# shown when some run has them: the key metrics, then those of denoising, anomaly and
# disentanglement runs (before any run completes, the table still names each run and its status);
# headers on two lines, so a column is as wide as its numbers
SHORT_NAMES = {
    "test_recon_mse": "recon\nMSE",
    "test_kl": "KL",
    "test_elbo": "ELBO",
    "active_units": "active",
    "test_psnr_db": "PSNR\ndB",
    "test_psnr_noisy_db": "noisy\nPSNR dB",
    "test_ssim_denoised": "SSIM",
    "test_roc_auc": "ROC-\nAUC",
    "test_pr_auc": "PR-\nAUC",
    "test_mig": "MIG",
    "test_dci_disentanglement": "DCI\ndis.",
    "test_dci_extra_trees_disentanglement": "DCI-ET\ndis.",
    "test_factor_vae_score": "Factor\nVAE",
}


def _number(value, digits: int = 6) -> str:
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def label(values: dict, digits: int = 6) -> str:
    """What sets a run or a group apart, e.g. `beta=0.5 seed=1`, floats to `digits` significant
    digits."""
    return " ".join(
        f"{key}={_number(value, digits)}" for key, value in values.items() if value is not None
    )


# the swept values wrap within at least this many characters
_LABEL_WIDTH = 16


def _job(run: str) -> str:
    """A job folder's number (`3` of `3_beta=4,seed=1`): the swept column says the rest."""
    number, _, rest = run.partition("_")
    return number if number.isdigit() and rest else run


def _metric_column(table: Table, header: str) -> None:
    # never narrower than its header: in a narrow terminal the swept values wrap instead
    table.add_column(
        header, justify="right", no_wrap=True, min_width=max(map(len, header.split("\n")))
    )


def run_table(
    records: list[dict],
    swept: list[str],
    title: str,
    objective: str | None = None,
    best: str | None = None,
    digits: int = 6,
) -> Table:
    """One row per run: its job number, the values that differ between runs (floats to `digits`
    significant digits), its status, its key metrics. A search's table (`objective`: the metric it
    optimised) shows that metric first, and marks the `best` run. In a narrow terminal the swept
    values wrap; numbers never lose digits."""
    table = Table(title=title, **COMPACT_TABLE)
    table.add_column("job", no_wrap=True)
    table.add_column("swept", overflow="fold", min_width=_LABEL_WIDTH)
    table.add_column("status", no_wrap=True)
    shown = [m for m in SHORT_NAMES if any(m in record for record in records)]
    if objective is not None:
        shown = [objective, *(m for m in shown if m != objective)]
    for metric in shown:
        _metric_column(table, SHORT_NAMES.get(metric, metric))
    for record in records:
        status = "[red]failed[/]" if record["status"] == "failed" else record["status"]
        if record["run"] == best:
            status = f"[bold green]{status}, best[/]"
        cells = [
            f"{record[m]:.4g}" if isinstance(record.get(m), float) else str(record.get(m, ""))
            for m in shown
        ]
        table.add_row(
            _job(record["run"]),
            label({key: record.get(key) for key in swept}, digits),
            status,
            *cells,
        )
    return table


def mean_pm_std(mean, std) -> str:
    """`0.0123 ± 0.0004`; the mean alone where there is no spread (one run), blank where no
    mean."""
    if not is_number(mean):
        return ""
    return f"{mean:.4g} ± {std:.2g}" if is_number(std) else f"{mean:.4g}"


def group_table(
    aggregates: list[dict], keys: list[str], replicates: list[str], title: str
) -> Table:
    """One row per group: its values, completed/all runs, mean ± sample std of the key metrics."""
    title = f"{title}: mean ± std (ddof=1) over {', '.join(replicates)}"
    table = Table(title=title, **COMPACT_TABLE)
    table.add_column("group", overflow="fold", min_width=_LABEL_WIDTH)
    table.add_column("n", justify="right", no_wrap=True)
    shown = [m for m in SHORT_NAMES if any(is_number(row.get(f"{m}_mean")) for row in aggregates)]
    for metric in shown:
        _metric_column(table, SHORT_NAMES[metric])
    for row in aggregates:
        count = (
            f"{row['n']}" if row["n"] == row["n_runs"] else f"[red]{row['n']}/{row['n_runs']}[/]"
        )
        table.add_row(
            label({key: row[key] for key in keys}) or "all runs",
            count,
            *(mean_pm_std(row.get(f"{m}_mean"), row.get(f"{m}_std")) for m in shown),
        )
    return table
