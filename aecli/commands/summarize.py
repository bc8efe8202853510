"""`aecli summarize SWEEP_DIR`: rebuild a sweep's tables, summary and aggregate files, plots and
HParams."""

import argparse
from pathlib import Path

from aecli.errors import UserError


def main(args) -> int:
    parser = argparse.ArgumentParser(
        prog="aecli summarize", description="Rebuild the summary of a sweep folder."
    )
    parser.add_argument(
        "sweep_dir",
        type=Path,
        help="a folder made by `aecli train -m` or an Optuna search, e.g. "
        "outputs/train-multirun/...",
    )
    sweep_dir = parser.parse_args(args).sweep_dir
    from aecli.sweeps.discover import is_sweep_dir

    if not is_sweep_dir(sweep_dir):
        raise UserError(
            f"{sweep_dir} is not a sweep folder (it has no multirun.yaml, no "
            "optimization_results.yaml and no run of a sweep). Pass a folder made by "
            "`aecli train -m` or `hparams_search=...`, e.g. one under outputs/train-multirun/."
        )
    from aecli.sweeps.summary import summarize

    records = summarize(sweep_dir)
    return 0 if all(record["status"] == "completed" for record in records) else 1
