"""A sweep's summary: one row per run, as a terminal table, summary.csv/json, a plot and TensorBoard HParams.

Built from files alone (each run's .hydra/overrides.yaml, status.json and metrics.json), so
it is the same whether written at the end of `aecli train -m` or rebuilt by `aecli summarize`,
and whichever launcher ran the jobs.
"""

import csv
import math
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException
from rich.table import Table

from aecli.console import console
from aecli.errors import UserError
from aecli.rundir.atomic import write_json
from aecli.rundir.layout import RunFolder
from aecli.rundir.listing import Run, read_run
from aecli.sweeps.latents import write_latent_scatters

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
            if p.is_dir() and (RunFolder(p).config_dir.is_dir() or RunFolder(p).status.exists())]
    return [read_run(p) for p in sorted(jobs, key=lambda p: (len(p.name), p.name))]


def _value(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def declared_sweep_keys(sweep_dir: Path) -> list[str]:
    """The keys the sweep was asked to vary (`beta=0.5,1,2` on the command line or an experiment's
    `hydra.sweeper.params`), read from the multirun.yaml Hydra writes, parsed by Hydra's own parser."""
    path = Path(sweep_dir) / "multirun.yaml"
    if not path.exists():
        return []
    hydra_cfg = (yaml.safe_load(path.read_text()) or {}).get("hydra", {})
    requested = list(hydra_cfg.get("overrides", {}).get("task") or [])
    requested += [f"{key}={value}" for key, value in (hydra_cfg.get("sweeper", {}).get("params") or {}).items()]
    try:
        overrides = OverridesParser.create().parse_overrides(requested)
    except OverrideParseException:  # written by another Hydra version: the varying keys still tell
        return []
    return [override.get_key_element() for override in overrides if override.is_sweep_override()]


def swept_values(runs: list[Run], declared: list[str] = ()) -> dict[str, list]:
    """The declared sweep keys and any other override whose value differs between runs, with each
    run's value (None where absent)."""
    per_run = [dict(item.split("=", 1) for item in run.overrides if "=" in item) for run in runs]
    keys = sorted({key for overrides in per_run for key in overrides})
    varying = [key for key in keys if len({overrides.get(key) for overrides in per_run}) > 1]
    return {key: [_value(overrides[key]) if key in overrides else None for overrides in per_run]
            for key in dict.fromkeys([*declared, *varying])}


def rows(runs: list[Run], swept: dict[str, list]) -> list[dict]:
    """Flat records: run folder, overrides, status, first error line, the swept values (kept for runs
    that failed before writing metrics), then every metric."""
    return [{"run": run.path.name, "overrides": " ".join(run.overrides), "status": run.status,
             "error": run.first_error_line, **{key: values[index] for key, values in swept.items()},
             **run.metrics} for index, run in enumerate(runs)]


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
            xs = sorted({x for x, _ in points})
            if xs and xs[0] > 0 and xs[-1] / xs[0] >= 10:
                axis.set_xscale("log")
            if len(xs) <= 12:  # the swept values themselves, not powers of ten
                axis.set_xticks(xs, [f"{x:g}" for x in xs])
                axis.minorticks_off()
            axis.set_xlabel(key)
            axis.set_ylabel(metric)
            axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return True


def _tag(metric: str) -> str:
    return "test/" + metric.removeprefix("test_")


def final_metrics(metrics: dict) -> dict:
    """The numbers a run ends with on its test split (every `test_*` key, and the active units)."""
    return {key: value for key, value in metrics.items() if (key.startswith("test_") or key == "active_units")
            and isinstance(value, (int, float)) and not isinstance(value, bool)}


def _seconds(timestamp: str | None) -> float | None:
    return datetime.fromisoformat(timestamp).timestamp() if timestamp else None


def write_hparams(sweep_dir: Path, runs: list[Run], swept: dict[str, list]) -> None:
    """TensorBoard HParams, one session per run in RUN/tensorboard/hparams: the swept values as
    hyperparameters, the final test metrics, and how the run ended.

    No experiment summary is written: TensorBoard shows only one of those (the first it finds), so
    with several sweeps under one log folder the others' hyperparameters would vanish from the
    dashboard; without one it collects the hyperparameters and metrics of every session. The trial
    id names the sweep too, because TensorBoard averages sessions that share one.
    """
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp
    from tensorboard.plugins.hparams import api_pb2
    from tensorboard.plugins.hparams.summary import session_end_pb

    ends = {"completed": api_pb2.STATUS_SUCCESS, "failed": api_pb2.STATUS_FAILURE}
    for index, run in enumerate(runs):
        folder = RunFolder(run.path).tensorboard_run("hparams")
        shutil.rmtree(folder, ignore_errors=True)
        writer = tf.summary.create_file_writer(str(folder))
        with writer.as_default():
            hp.hparams({key: values[index] for key, values in swept.items() if values[index] is not None},
                       trial_id=f"{sweep_dir.name}/{run.path.name}", start_time_secs=_seconds(run.started))
            for name, value in final_metrics(run.metrics).items():
                tf.summary.scalar(_tag(name), value, step=0)
            end = session_end_pb(ends.get(run.status, api_pb2.STATUS_UNKNOWN), _seconds(run.ended))
            tf.summary.experimental.write_raw_pb(end.SerializeToString(), step=0)
        writer.close()


def swept_label(swept: dict[str, list], index: int) -> str:
    """What sets run `index` apart, e.g. `beta=0.5`."""
    return " ".join(f"{key}={values[index]:g}" if isinstance(values[index], float) else f"{key}={values[index]}"
                    for key, values in swept.items() if values[index] is not None)


def summary_table(records: list[dict], swept: dict[str, list], title: str) -> Table:
    """One row per run: the values that differ between runs, its status, its key metrics."""
    table = Table(title=title)
    for column in ("run", "swept", "status"):
        table.add_column(column, no_wrap=True)
    shown = [m for m in SHORT_NAMES if any(m in record for record in records)]
    for metric in shown:
        table.add_column(SHORT_NAMES[metric], justify="right", no_wrap=True)
    for index, record in enumerate(records):
        status = "[red]failed[/]" if record["status"] == "failed" else record["status"]
        cells = [f"{record[m]:.4g}" if isinstance(record.get(m), float) else str(record.get(m, "")) for m in shown]
        table.add_row(record["run"], swept_label(swept, index), status, *cells)
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
    """Write summary.json, summary.csv, means.json, sweep_plot.png, latent_scatter.png (2-D codes) and HParams
    into `sweep_dir`, print the table."""
    sweep_dir = Path(sweep_dir)
    runs = sweep_runs(sweep_dir)
    swept = swept_values(runs, declared_sweep_keys(sweep_dir))
    records = rows(runs, swept)
    write_json(sweep_dir / "summary.json", records)
    _write_csv(sweep_dir / "summary.csv", records)
    _plot(sweep_dir / "sweep_plot.png", swept, records)
    write_latent_scatters(sweep_dir / "latent_scatter.png", runs, [swept_label(swept, i) for i in range(len(runs))])
    if runs:
        write_hparams(sweep_dir, runs, swept)
    console.print(summary_table(records, swept, f"sweep {sweep_dir}"))
    means = metric_means(records)
    write_json(sweep_dir / "means.json", means)
    if "test_roc_auc" in means:
        console.print(f"mean ROC-AUC over {means['completed_runs']} runs: {means['test_roc_auc']:.4f}")
    failed = sum(record["status"] != "completed" for record in records)
    console.print(f"{len(records) - failed} of {len(records)} runs completed; summary in {sweep_dir}/summary.csv")
    return records


def _describe(record: dict) -> str:
    return f"{record['run']} ({record['overrides']}): {(record['error'] or record['status']).rstrip('.')}"


def unfinished_runs_error(records: list[dict]) -> UserError | None:
    """The one paragraph that ends a sweep in which some runs did not complete (None when all did)."""
    unfinished = [record for record in records if record["status"] != "completed"]
    if not unfinished:
        return None
    error = UserError(f"{len(unfinished)} of {len(records)} runs did not complete: "
                      + "; ".join(_describe(record) for record in unfinished)
                      + ". The table above summarizes every run; each run's full error is in its status.json.")
    error.exit_code = 1
    return error


def stopped_sweep_error(sweep_dir: Path, exit_code: int) -> UserError:
    """Summarize a sweep a signal stopped, and the paragraph that says what ran and how to go on."""
    records = summarize(sweep_dir)
    completed = sum(record["status"] == "completed" for record in records)
    stopped = [str(sweep_dir / record["run"]) for record in records if record["status"] in ("interrupted", "running")]
    resume = (f"Continue the stopped run with `aecli resume {stopped[0]}`. " if len(stopped) == 1 else
              f"Continue the stopped runs with `aecli resume` on each of: {', '.join(stopped)}. " if stopped else "")
    error = UserError(f"The sweep was stopped by a signal: {completed} of the {len(records)} runs it started "
                      f"completed, and the jobs it had not started were not run. {resume}"
                      f"The summary of the runs so far is in {sweep_dir}/summary.csv.")
    error.exit_code = exit_code
    return error
