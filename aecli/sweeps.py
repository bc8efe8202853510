"""A sweep's summary: one row per run, as a terminal table, summary.csv/json, a plot and TensorBoard HParams.

Built from files alone (each run's .hydra/overrides.yaml, status.json and metrics.json), so
it is the same whether written at the end of `aecli train -m` or rebuilt by `aecli summarize`,
and whichever launcher ran the jobs.
"""

import csv
import json
import math
from pathlib import Path

import numpy as np
from rich.table import Table

from aecli.console import console
from aecli.runs import Run, read_run

KEY_METRICS = ("test_recon_mse", "test_kl", "test_elbo", "active_units", "test_psnr_db")
# shown in the table when some run has them: the key metrics, then those of denoising and anomaly runs
# (before any run completes, the table still names each run and its status)
SHORT_NAMES = {"test_recon_mse": "recon MSE", "test_kl": "KL", "test_elbo": "ELBO", "active_units": "active",
               "test_psnr_db": "PSNR dB", "test_psnr_noisy_db": "noisy PSNR dB", "test_ssim_denoised": "SSIM",
               "test_roc_auc": "ROC-AUC", "test_pr_auc": "PR-AUC"}
PLOTTED = ("test_recon_mse", "test_kl")


def sweep_runs(sweep_dir: Path) -> list[Run]:
    """The job folders of a sweep, in job order."""
    jobs = [p for p in Path(sweep_dir).iterdir()
            if p.is_dir() and ((p / ".hydra").is_dir() or (p / "status.json").exists())]
    return [read_run(p) for p in sorted(jobs, key=lambda p: (len(p.name), p.name))]


def _value(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def swept_values(runs: list[Run]) -> dict[str, list]:
    """Override keys whose value differs between runs, with each run's value (None where absent)."""
    per_run = [dict(item.split("=", 1) for item in run.overrides if "=" in item) for run in runs]
    keys = sorted({key for overrides in per_run for key in overrides})
    varying = [key for key in keys if len({overrides.get(key) for overrides in per_run}) > 1]
    return {key: [_value(overrides[key]) if key in overrides else None for overrides in per_run] for key in varying}


def rows(runs: list[Run]) -> list[dict]:
    """Flat records: run folder, overrides, status, first error line, then every metric."""
    return [{"run": run.path.name, "overrides": " ".join(run.overrides), "status": run.status,
             "error": run.first_error_line, **{k: v for k, v in run.metrics.items()}} for run in runs]


def _write_csv(path: Path, records: list[dict]) -> None:
    columns = list(dict.fromkeys(key for record in records for key in record))
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows(records)


def _plot(path: Path, swept: dict[str, list], records: list[dict]) -> bool:
    """Each numeric swept value against reconstruction error and KL (the chapter's exercise 22)."""
    numeric = {key: values for key, values in swept.items() if all(isinstance(v, float) for v in values)}
    metrics = [m for m in PLOTTED if any(isinstance(r.get(m), (int, float)) for r in records)]
    if not numeric or not metrics:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(numeric), len(metrics), figsize=(5 * len(metrics), 3.5 * len(numeric)),
                                squeeze=False)
    for row, (key, values) in enumerate(numeric.items()):
        for column, metric in enumerate(metrics):
            points = sorted((x, r.get(metric)) for x, r in zip(values, records)
                            if isinstance(r.get(metric), (int, float)) and math.isfinite(r[metric]))
            axis = axes[row][column]
            axis.plot([x for x, _ in points], [y for _, y in points], "o-")
            if points and min(x for x, _ in points) > 0 and max(x for x, _ in points) / min(x for x, _ in points) >= 10:
                axis.set_xscale("log")
            axis.set_xlabel(key)
            axis.set_ylabel(metric)
            axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return True


def _tag(metric: str) -> str:
    return "test/" + metric.removeprefix("test_")


def write_hparams(runs: list[Run], swept: dict[str, list], log_dir: Path) -> None:
    """TensorBoard HParams: one session per run (in its tensorboard/ folder) with the swept values as
    hyperparameters and its final test metrics, plus the experiment's definition at the sweep root."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    metric_names = [m for m in KEY_METRICS if any(m in run.metrics for run in runs)]
    hparams = {key: hp.HParam(key, hp.Discrete(sorted({v for v in values if v is not None}, key=str)))
               for key, values in swept.items()}
    with tf.summary.create_file_writer(str(log_dir)).as_default():
        hp.hparams_config(hparams=list(hparams.values()),
                          metrics=[hp.Metric(_tag(name), display_name=SHORT_NAMES[name]) for name in metric_names])
    for index, run in enumerate(runs):
        session = run.path / "tensorboard"
        with tf.summary.create_file_writer(str(session)).as_default():
            values = {hparams[key]: values[index] for key, values in swept.items() if values[index] is not None}
            hp.hparams(values, trial_id=run.path.name)
            for name in metric_names:
                if isinstance(run.metrics.get(name), (int, float)):
                    tf.summary.scalar(_tag(name), run.metrics[name], step=0)


def summary_table(records: list[dict], swept: dict[str, list], title: str) -> Table:
    """One row per run: the values that differ between runs, its status, its key metrics."""
    table = Table(title=title)
    for column in ("run", "swept", "status"):
        table.add_column(column, no_wrap=True)
    shown = [m for m in SHORT_NAMES if any(m in record for record in records)]
    for metric in shown:
        table.add_column(SHORT_NAMES[metric], justify="right", no_wrap=True)
    for index, record in enumerate(records):
        values = " ".join(f"{key}={values[index]:g}" if isinstance(values[index], float) else f"{key}={values[index]}"
                          for key, values in swept.items() if values[index] is not None)
        status = "[red]failed[/]" if record["status"] == "failed" else record["status"]
        cells = [f"{record[m]:.4g}" if isinstance(record.get(m), float) else str(record.get(m, "")) for m in shown]
        table.add_row(record["run"], values, status, *cells)
    return table


def metric_means(records: list[dict]) -> dict:
    """The mean of every numeric metric over the completed runs (e.g. the ten-class mean ROC-AUC)."""
    completed = [r for r in records if r["status"] == "completed"]
    keys = [k for k in dict.fromkeys(k for r in completed for k in r)
            if k.startswith("test_") or k == "active_units"]
    means = {k: float(np.mean([r[k] for r in completed if isinstance(r.get(k), (int, float))])) for k in keys
             if any(isinstance(r.get(k), (int, float)) for r in completed)}
    return {"completed_runs": len(completed), **means}


def summarize(sweep_dir: Path) -> list[dict]:
    """Write summary.json, summary.csv, means.json, sweep_plot.png and HParams into `sweep_dir`, print the table."""
    sweep_dir = Path(sweep_dir)
    runs = sweep_runs(sweep_dir)
    records = rows(runs)
    swept = swept_values(runs)
    (sweep_dir / "summary.json").write_text(json.dumps(records, indent=2) + "\n")
    _write_csv(sweep_dir / "summary.csv", records)
    _plot(sweep_dir / "sweep_plot.png", swept, records)
    if runs:
        write_hparams(runs, swept, sweep_dir / "hparams")
    console.print(summary_table(records, swept, f"sweep {sweep_dir}"))
    means = metric_means(records)
    (sweep_dir / "means.json").write_text(json.dumps(means, indent=2) + "\n")
    if "test_roc_auc" in means:
        console.print(f"mean ROC-AUC over {means['completed_runs']} runs: {means['test_roc_auc']:.4f}")
    failed = sum(record["status"] != "completed" for record in records)
    console.print(f"{len(records) - failed} of {len(records)} runs completed; summary in {sweep_dir}/summary.csv")
    return records
