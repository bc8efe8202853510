"""A sweep's summary: the terminal tables, summary.csv/json (one row per run), aggregate.csv/json
(one row per group of replicates, aecli/sweeps/aggregate.py), sweep_plot.png, latent_scatter.png
and TensorBoard HParams.

An Optuna search's summary is read by its objective (aecli/sweeps/study.py): the table is sorted
by it, best first and marked, its sampled values shown to 4 significant digits (summary.csv/json
keep them whole, in job order, with a `best` column); optimization_history.png and
param_importances.png take the place of sweep_plot.png, whose panels assume a grid (each sampled
value would be a group of its own).

Built from files alone (aecli/sweeps/discover.py), so it is the same whether written at the end of
`aecli train -m` or rebuilt by `aecli summarize`, and whichever launcher ran the jobs.
"""

import csv
import io
from pathlib import Path

import yaml

from aecli.console import console
from aecli.errors import DiskFull, UserError, disk_full
from aecli.rundir.atomic import write_json, write_text
from aecli.sweeps.aggregate import REPLICATE_KEYS, aggregate, group_keys, metric_names
from aecli.sweeps.discover import declared_sweep_keys, rows, sweep_runs, swept_values
from aecli.sweeps.hparams import write_hparams
from aecli.sweeps.latents import write_latent_scatters
from aecli.sweeps.plots import write_sweep_plot
from aecli.sweeps.study import Search, best_run, optuna_search, ranked, write_study_plots
from aecli.sweeps.table import group_table, label, mean_pm_std, run_table


def _write_csv(path: Path, records: list[dict]) -> None:
    columns = list(dict.fromkeys(key for record in records for key in record))
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=columns)
    writer.writeheader()
    writer.writerows(records)
    write_text(path, text.getvalue())


def _unwritable(sweep_dir: Path, error: Exception) -> UserError:
    """The paragraph for a sweep folder that cannot take its summary (full, read-only)."""
    if disk_full(error):
        return DiskFull(
            f"No space left on the device holding {sweep_dir}: the sweep's summary could not be "
            "written (its runs and any earlier summary files are intact). Free space and rebuild "
            f"it with `aecli summarize {sweep_dir}`."
        )
    reason = getattr(error, "strerror", None) or str(error).strip().splitlines()[-1]
    return UserError(
        f"Cannot write the summary into {sweep_dir} ({reason}); its runs and any earlier "
        "summary files are intact. Make the folder writable (e.g. remount a read-only disk "
        f"read-write) and rebuild it with `aecli summarize {sweep_dir}`."
    )


def _write_problem(error: Exception) -> bool:
    """Whether an error is the disk refusing a write: an OSError, or TensorFlow's own for the
    HParams event files (not an OSError; errno only in the message)."""
    text = str(error)
    return (
        isinstance(error, OSError)
        or disk_full(error)
        or "Read-only file system" in text
        or "Permission denied" in text
    )


def summarize(sweep_dir: Path) -> list[dict]:
    """Write the summary files, plots and HParams into `sweep_dir`, print the tables; the per-run
    records. A folder that refuses the writes (full, read-only) raises a UserError; every file is
    replaced whole, so the earlier summary stays as it was."""
    sweep_dir = Path(sweep_dir)
    runs = sweep_runs(sweep_dir)
    search = optuna_search(runs)
    swept = swept_values(runs, declared_sweep_keys(sweep_dir))
    records = rows(runs, swept)
    best = best_run(records, search) if search is not None else None
    if search is not None:
        for record in records:
            record["best"] = record["run"] == best
    digits = 6 if search is None else 4  # a sampler's floats shown shorter (files keep them)
    keys = group_keys(list(swept))
    aggregates = aggregate(
        records, keys, metric_names([run.metrics for run in runs], exclude=list(swept))
    )
    replicates = [key for key in REPLICATE_KEYS if key in swept]
    try:
        write_json(sweep_dir / "summary.json", records)
        _write_csv(sweep_dir / "summary.csv", records)
        write_json(sweep_dir / "aggregate.json", aggregates)
        _write_csv(sweep_dir / "aggregate.csv", aggregates)
        # older summaries' mean over every run, whatever its β
        (sweep_dir / "means.json").unlink(missing_ok=True)
        notes = []
        if search is None:
            write_sweep_plot(sweep_dir / "sweep_plot.png", aggregates, keys, replicates)
        else:
            (sweep_dir / "sweep_plot.png").unlink(missing_ok=True)
            notes = write_study_plots(sweep_dir, records, list(swept), search)
        write_latent_scatters(
            sweep_dir / "latent_scatter.png",
            runs,
            [label({key: record[key] for key in swept}, digits) for record in records],
        )
        if runs:
            write_hparams(sweep_dir, runs, swept)
    except Exception as error:
        if not _write_problem(error):
            raise
        raise _unwritable(sweep_dir, error) from None
    runs_in = f"{len(records)} run{'s' * (len(records) != 1)} in {sweep_dir}/"
    if search is None:
        console.print(run_table(records, list(swept), runs_in))
    else:
        console.print(
            run_table(
                ranked(records, search),
                list(swept),
                f"{runs_in}, {search.extreme} {search.objective} first",
                objective=search.objective,
                best=best,
                digits=digits,
            )
        )
        for note in notes:
            console.print(note, soft_wrap=True)
    if replicates:  # groups of several runs: the answer the sweep was run for
        console.print(group_table(aggregates, keys, replicates, "per group"))
        for row in aggregates:
            if row["n"] > 1 and row.get("test_roc_auc_mean") is not None:
                where = f" ({label({key: row[key] for key in keys})})" if keys else ""
                console.print(
                    f"mean ROC-AUC over {row['n']} runs{where}: "
                    f"{mean_pm_std(row['test_roc_auc_mean'], row['test_roc_auc_std'])}"
                )
    study_best = optuna_best(sweep_dir, runs, search)
    if study_best is not None:
        console.print(study_best, soft_wrap=True)
    failed = sum(record["status"] != "completed" for record in records)
    console.print(
        f"{len(records) - failed} of {len(records)} runs completed; "
        f"summary in {sweep_dir}/summary.csv"
        + (f", means per group in {sweep_dir}/aggregate.csv" if replicates else ""),
        soft_wrap=True,
    )
    return records


def optuna_best(sweep_dir: Path, runs, search: Search | None) -> str | None:
    """The line naming an Optuna search's best trial and its objective, from the
    optimization_results.yaml its sweeper writes once the study ends (None without one: a grid
    sweep, a study stopped early, or one whose every trial failed)."""
    try:
        results = yaml.safe_load((Path(sweep_dir) / "optimization_results.yaml").read_text())
    except (OSError, ValueError, yaml.YAMLError):
        return None
    if not isinstance(results, dict) or not isinstance(results.get("best_params"), dict):
        return None
    params = results["best_params"]
    # the trial's overrides are `key=value` with Python's own float text, as Optuna suggested it
    wanted = {f"{key}={value}" for key, value in params.items()}
    run = next((run.path.name for run in runs if wanted <= set(run.overrides)), None)
    where = f"run {run}" if run is not None else "a trial outside this folder (a continued study)"
    value = results.get("best_value")
    value = f"{value:g}" if isinstance(value, float) else value
    objective = (
        f"{search.objective} {value} (the {search.extreme})"
        if search is not None
        else f"objective {value}"
    )
    return (
        f"Optuna's best trial: {where}, {objective} with {label(params, 4)} "
        "(optimization_results.yaml)"
    )


def _describe(record: dict) -> str:
    reason = (record["error"] or record["status"]).rstrip(".")
    return f"{record['run']} ({record['overrides']}): {reason}"


def unfinished_runs_error(records: list[dict]) -> UserError | None:
    """The one paragraph that ends a sweep in which some runs did not complete (None when all
    did)."""
    unfinished = [record for record in records if record["status"] != "completed"]
    if not unfinished:
        return None
    error = UserError(
        f"{len(unfinished)} of {len(records)} runs did not complete: "
        + "; ".join(_describe(record) for record in unfinished)
        + ". The table above summarizes every run; each run's full error is in its status.json."
    )
    error.exit_code = 1
    return error


def stopped_sweep_error(sweep_dir: Path, exit_code: int) -> UserError:
    """Summarize a sweep a signal stopped, and the paragraph that says what ran and how to go on."""
    records = summarize(sweep_dir)
    completed = sum(record["status"] == "completed" for record in records)
    stopped = [
        str(sweep_dir / record["run"])
        for record in records
        if record["status"] in ("interrupted", "running")
    ]
    resume = (
        f"Continue the stopped run with `aecli resume {stopped[0]}`. "
        if len(stopped) == 1
        else f"Continue the stopped runs with `aecli resume` on each of: {', '.join(stopped)}. "
        if stopped
        else ""
    )
    error = UserError(
        f"The sweep was stopped by a signal: {completed} of the {len(records)} runs it started "
        f"completed, and the jobs it had not started were not run. {resume}"
        f"The summary of the runs so far is in {sweep_dir}/summary.csv."
    )
    error.exit_code = exit_code
    return error
