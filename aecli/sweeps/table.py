"""The sweep's tables in the terminal: one row per run, and one per group of replicates."""

from rich.table import Table

from aecli.sweeps.aggregate import is_number

# shown when some run has them: the key metrics, then those of denoising, anomaly and
# disentanglement runs (before any run completes, the table still names each run and its status)
SHORT_NAMES = {
    "test_recon_mse": "recon MSE",
    "test_kl": "KL",
    "test_elbo": "ELBO",
    "active_units": "active",
    "test_psnr_db": "PSNR dB",
    "test_psnr_noisy_db": "noisy PSNR dB",
    "test_ssim_denoised": "SSIM",
    "test_roc_auc": "ROC-AUC",
    "test_pr_auc": "PR-AUC",
    "test_mig": "MIG",
    "test_dci_disentanglement": "DCI dis.",
    "test_factor_vae_score": "FactorVAE",
}


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def label(values: dict) -> str:
    """What sets a run or a group apart, e.g. `beta=0.5 seed=1`."""
    return " ".join(f"{key}={_number(value)}" for key, value in values.items() if value is not None)


def run_table(records: list[dict], swept: list[str], title: str) -> Table:
    """One row per run: the values that differ between runs, its status, its key metrics."""
    table = Table(title=title)
    for column in ("run", "swept", "status"):
        table.add_column(column, no_wrap=True)
    shown = [m for m in SHORT_NAMES if any(m in record for record in records)]
    for metric in shown:
        table.add_column(SHORT_NAMES[metric], justify="right", no_wrap=True)
    for record in records:
        status = "[red]failed[/]" if record["status"] == "failed" else record["status"]
        cells = [
            f"{record[m]:.4g}" if isinstance(record.get(m), float) else str(record.get(m, ""))
            for m in shown
        ]
        table.add_row(record["run"], label({key: record.get(key) for key in swept}), status, *cells)
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
    table = Table(title=f"{title}: mean ± std (ddof=1) over {', '.join(replicates)}")
    table.add_column("group", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True)
    shown = [m for m in SHORT_NAMES if any(is_number(row.get(f"{m}_mean")) for row in aggregates)]
    for metric in shown:
        table.add_column(SHORT_NAMES[metric], justify="right", no_wrap=True)
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
