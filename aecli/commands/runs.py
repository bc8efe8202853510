"""`aecli runs [DIR]`: the runs under a folder, one line each, filtered, sorted, grouped by sweep,
or as CSV/JSON for pandas. What a field is and how it is named: aecli/rundir/fields.py; the
table's choice of columns: aecli/rundir/runs_table.py; --where and --sort: aecli/rundir/query.py.
"""

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from rich.text import Text

from aecli.console import console
from aecli.errors import UserError
from aecli.rundir.fields import config_fields, plain, resolve, run_fields
from aecli.rundir.listing import Run, find_runs
from aecli.rundir.query import parse_where, sort_key, sorted_records
from aecli.rundir.runs_table import render

EXAMPLES = """examples:
  aecli runs --where 'model=vae status=completed' --sort -test_elbo --columns beta,seed,test_elbo
  aecli runs --sweep outputs/train-multirun --sort val_loss
  aecli runs outputs --format csv > runs.csv     # pandas.read_csv('runs.csv')

KEY: a config key (model.beta, or a unique ending: beta, epochs), a config group (model,
dataset), a metric (test_elbo, val_loss) or run, status, error, started, ended."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aecli runs",
        description="List the runs under a folder (newest first), one line per run: the values "
        "all share above the table, a column for each that tells them apart, as saved in each "
        "run's config (an extension by `aecli resume` included).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("root", nargs="?", type=Path, help="folder to search (default outputs/)")
    parser.add_argument(
        "--sweep",
        nargs="?",
        const=True,
        metavar="DIR",
        help="group the runs by the sweep that made them, one table each (of DIR, or of ROOT)",
    )
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="'KEY OP VALUE ...'",
        help="keep the runs for which every condition holds; OP: = != < <= > >=",
    )
    parser.add_argument("--sort", metavar="KEY", help="order by KEY; -KEY for descending")
    parser.add_argument("--desc", action="store_true", help="sort descending")
    parser.add_argument(
        "--columns", metavar="KEY,KEY,...", help="these columns, in this order, after the run"
    )
    parser.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="csv and json carry every field of every run, flattened (default table)",
    )
    parser.add_argument(
        "--errors", action="store_true", help="the whole error of each failed run, not its gist"
    )
    return parser


def _root(options) -> Path:
    if isinstance(options.sweep, str) and options.root is not None:
        raise UserError(
            f"give the folder once: `aecli runs {options.root} --sweep` groups the runs under "
            f"{options.root} by sweep, `aecli runs --sweep {options.sweep}` those under "
            f"{options.sweep}."
        )
    root = Path(options.sweep) if isinstance(options.sweep, str) else options.root
    root = root if root is not None else Path("outputs")
    if not root.is_dir():
        raise UserError(
            f"{root} is not a folder; pass the folder that holds your runs, "
            "e.g. `aecli runs outputs` "
            "(where `aecli train` writes them, relative to the current folder)."
        )
    return root


def _overridden(runs: list[Run], keys: list[str]) -> set[str]:
    """The keys some run set on its command line, resolved (`beta=4` sets `model.beta`)."""
    found = set()
    for name in {item.split("=", 1)[0].lstrip("+~") for run in runs for item in run.overrides}:
        try:
            found.add(resolve(name, keys, "overrides"))
        except UserError:  # hydra.* and keys this version no longer has
            continue
    return found


def _sweep_of(run: Run, root: Path, cache: dict) -> Path | None:
    """The nearest folder above the run, up to `root`, that a sweep made."""
    from aecli.sweeps.discover import is_sweep_dir

    for folder in run.path.parents:
        if folder not in cache:
            cache[folder] = is_sweep_dir(folder)
        if cache[folder]:
            return folder
        if folder == root:
            return None
    return None


def _ordered_keys(records: list[dict]) -> list[str]:
    return list(dict.fromkeys(key for record in records for key in record))


def _csv(records: list[dict], keys: list[str]) -> str:
    """Every field a column; lists as JSON text, missing, null and NaN as empty cells."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    for record in records:
        values = {key: plain(value) for key, value in record.items()}
        writer.writerow(
            {
                key: json.dumps(value) if isinstance(value, (list, dict)) else value
                for key, value in values.items()
            }
        )
    return out.getvalue()


def _json(records: list[dict], keys: list[str]) -> str:
    """A list of flat objects, each with every key (null where a run lacks it)."""
    rows = [{key: plain(record.get(key)) for key in keys} for record in records]
    return json.dumps(rows, indent=1, default=str) + "\n"


def _descending_sort(args: list[str]) -> list[str]:
    """`--sort -test_elbo` as `--sort=-test_elbo`: argparse reads a lone `-test_elbo` as an
    option."""
    joined, rest = [], iter(args)
    for arg in rest:
        following = next(rest, None) if arg == "--sort" else None
        if following is not None and following.startswith("-") and following[1:2].isalpha():
            joined.append(f"--sort={following}")
        else:
            joined += [arg] if following is None else [arg, following]
    return joined


def main(args) -> int:
    options = _parser().parse_args(_descending_sort(list(args)))
    root = _root(options)
    runs = find_runs(root)
    records = [run_fields(run, str(run.path)) for run in runs]
    keys = _ordered_keys(records)
    config_keys = list(dict.fromkeys(key for run in runs for key in config_fields(run)))
    conditions = parse_where(options.where, keys)
    descending = options.desc
    if options.sort:
        sort, descending = sort_key(options.sort, keys, options.desc)
    else:
        sort = None
    chosen = (
        [
            resolve(key.strip(), keys, "--columns")
            for key in options.columns.split(",")
            if key.strip() and key.strip() != "run"  # always the first column
        ]
        if options.columns
        else None
    )
    kept = [
        (run, record)
        for run, record in zip(runs, records, strict=True)
        if all(c.holds(record) for c in conditions)
    ]
    if sort:
        order = sorted_records([record for _, record in kept], sort, descending)
        position = {id(record): index for index, record in enumerate(order)}
        kept.sort(key=lambda pair: position[id(pair[1])])
    groups: dict[Path | None, list] = {}
    cache: dict = {}
    for run, record in kept:
        sweep = _sweep_of(run, root, cache) if options.sweep else None
        if options.sweep:
            record["sweep"] = None if sweep is None else str(sweep)
        groups.setdefault(sweep, []).append((run, record))
    if options.format != "table":
        flat = [record for pairs in groups.values() for _, record in pairs]
        keys = _ordered_keys(flat) if flat else keys
        sys.stdout.write((_csv if options.format == "csv" else _json)(flat, keys))
        return 0
    title = (
        f"{len(kept)} runs under {root}"
        if not conditions
        else (
            f"{len(kept)} of {len(runs)} runs under {root} where {' '.join(map(str, conditions))}"
        )
    )
    if sort:
        title += f", by {sort}{' descending' if descending else ''}"
    console.print(Text(title, style="bold"), soft_wrap=True)
    asked = tuple(dict.fromkeys([*([sort] if sort else []), *(c.key for c in conditions)]))
    for sweep, pairs in groups.items():
        base = root if sweep is None else sweep
        if options.sweep:
            where = "" if sweep is None or sweep == root else sweep.relative_to(root)
            heading = "not in a sweep" if sweep is None else f"sweep {where or sweep}"
            console.print(Text(f"\n{heading}: {len(pairs)} runs", style="bold"), soft_wrap=True)
        table_records = [
            {**record, "run": str(run.path.relative_to(base))} for run, record in pairs
        ]
        lines = render(
            table_records,
            keys,
            config_keys,
            console.width,
            overridden=_overridden([run for run, _ in pairs], keys),
            asked=asked,
            chosen=chosen,
            whole_errors=options.errors,
        )
        for line in lines:  # rich's print overrides a Text's own wrapping unless passed it
            console.print(line, no_wrap=line.no_wrap, overflow=line.overflow)
    return 0
