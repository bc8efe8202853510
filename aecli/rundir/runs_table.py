"""The table of `aecli runs`: one line per run at any width, columns chosen by what varies.

Fifty runs are read down a column, so each run is one line: a value the listed runs share goes
once into a line above the table (`same in all: model=vae dataset=synthetic`), and the columns are
the values that tell the runs apart, taken in order of use while they fit the terminal's width:
the status when it varies, the `--sort` and `--where` keys, the config keys some run set on its
command line, the headline metrics, then the other keys that vary. Those left out are named under
the table. A run that failed, or whose record is damaged, says why on a second line, cut to the
width (`--errors` prints the whole text). Headers are the names `--where`, `--sort` and
`--columns` take (aecli/rundir/fields.py).
"""

from dataclasses import dataclass

from rich.text import Text

from aecli.rundir.fields import alias, is_number, shown

# the metrics a reader compares runs by, in the order they earn a column
HEADLINE = (
    "test_elbo",
    "val_loss",
    "test_recon_mse",
    "test_roc_auc",
    "test_mig",
    "test_psnr_db",
    "epochs_completed",
)
# headline metrics shown above the table, not as a column, when every run has the same value
SHARED = ("epochs_completed",)
GAP = "  "
# the run column keeps at least this share of the width before other columns are added
RUN_SHARE = 4
MISSING = "-"
# fields that are no column: the run's own column, its reason line, and its timestamps
UNLISTED = ("run", "error", "damage", "started", "ended")
# a run's line, cut with an ellipsis where the terminal ends, never folded
ONE_LINE = {"no_wrap": True, "overflow": "ellipsis"}
_STATUS_STYLE = {"failed": "red", "interrupted": "yellow", "unknown": "yellow", "running": "cyan"}


@dataclass
class Column:
    key: str
    header: str
    cells: list[str]
    numeric: bool

    @property
    def width(self) -> int:
        return max(len(self.header), *(len(cell) for cell in self.cells))


def _cell(record: dict, key: str) -> str:
    return MISSING if key not in record else shown(record[key])


def _column(key: str, records: list[dict], keys: list[str]) -> Column:
    values = [record.get(key) for record in records]
    return Column(
        key=key,
        header=alias(key, keys),
        cells=[_cell(record, key) for record in records],
        numeric=all(is_number(value) or value is None for value in values),
    )


def _varies(key: str, records: list[dict]) -> bool:
    """Whether the runs that have `key` differ in it (a run without it, e.g. a damaged record or
    a model without a β, tells nothing of the others)."""
    return len({shown(record[key]) for record in records if key in record}) > 1


def candidates(
    records: list[dict],
    keys: list[str],
    config_keys: list[str],
    overridden: set[str],
    asked: list[str],
) -> list[str]:
    """The keys that earn a column, most useful first (the module docstring says the order):
    `asked` are the --sort and --where keys."""
    varying = [key for key in keys if key not in UNLISTED and _varies(key, records)]
    present = [key for key in keys if any(key in record for record in records)]
    # a list-valued metric (test_kl_per_dim) is no column: a table cell cannot hold it
    metrics = [
        key
        for key in present
        if key not in config_keys
        and key not in UNLISTED
        and not any(isinstance(record.get(key), (list, dict)) for record in records)
    ]
    order = [
        *(["status"] if "status" in varying else []),
        *(key for key in asked if key in varying or key in metrics),
        *(key for key in config_keys if key in overridden and key in varying),
        # metrics are what runs are compared by: a column even when one run is listed
        *(key for key in HEADLINE if key in metrics and (key in varying or key not in SHARED)),
        *(key for key in config_keys if key in varying),
        *(key for key in metrics if key.startswith(("test_", "val_"))),
        *(key for key in metrics if key in varying),
    ]
    return list(dict.fromkeys(order))


def constants(
    records: list[dict], keys: list[str], config_keys: list[str], overridden: set[str], asked
) -> str:
    """`same in all: model=vae ...`: the values every listed run shares, of the keys a reader
    looks for (the model, the dataset, the status and what some command line set)."""
    notable = {
        "status",
        *SHARED,
        *asked,
        *overridden,
        *(key for key in config_keys if key == "name" or key.endswith(".name")),
    }
    shared = [
        f"{alias(key, keys)}={_cell(records[0], key)}"
        for key in keys
        if key in notable
        and all(record.get(key) is not None for record in records)
        and not _varies(key, records)
    ]
    return f"same in all: {' '.join(shared)}" if shared else ""


def fit(columns: list[Column], run: Column, width: int) -> tuple[list[Column], list[Column]]:
    """The columns that fit beside the run column (kept at least 1/RUN_SHARE of the width, or
    whole when shorter), in the order given, and those left out."""
    room = width - min(run.width, max(width // RUN_SHARE, len(run.header)))
    shown_columns, left_out = [], []
    for column in columns:
        if column.width + len(GAP) <= room:
            shown_columns.append(column)
            room -= column.width + len(GAP)
        else:
            left_out.append(column)
    return shown_columns, left_out


def _truncated_left(text: str, width: int) -> str:
    """The end of a folder's path, which names the run (`…/3_beta=4,seed=1`)."""
    return text if len(text) <= width else "…" + text[len(text) - width + 1 :]


def _reason(record: dict, whole: bool) -> str:
    """Why a run did not complete and what of its record is damaged; the first sentence unless
    `whole`."""
    error = (record.get("error") or "").strip()
    if error and not whole:
        error = error.splitlines()[0].split(". ", 1)[0].rstrip(".")
    parts = [f"{record['status']}: {error}" if error else "", record.get("damage") or ""]
    return "; ".join(part for part in parts if part and part != f"{record['status']}: ")


def render(
    records: list[dict],
    keys: list[str],
    config_keys: list[str],
    width: int,
    *,
    overridden: set[str] = frozenset(),
    asked: tuple[str, ...] = (),
    chosen: list[str] | None = None,
    whole_errors: bool = False,
) -> list[Text]:
    """The table's lines: shared values, header, rule, a line per run (a second when it has a
    reason), and the columns left out for width. `chosen` (--columns) replaces the automatic
    choice."""
    if not records:
        return []
    lines = []
    shared = "" if chosen else constants(records, keys, config_keys, overridden, asked)
    if shared:
        lines.append(Text(shared, style="dim"))
    wanted = chosen or candidates(records, keys, config_keys, overridden, list(asked))
    run = _column("run", records, keys)
    shown_columns, left_out = fit([_column(key, records, keys) for key in wanted], run, width)
    # shown in reading order: the config that tells the runs apart, the status, the metrics
    if not chosen:
        rank = {"status": (1, 0), **{key: (0, i) for i, key in enumerate(config_keys)}}
        shown_columns.sort(key=lambda column: rank.get(column.key, (2, 0)))
    run_width = min(run.width, width - sum(c.width + len(GAP) for c in shown_columns))
    header = Text(run.header.ljust(run_width), style="bold", **ONE_LINE)
    for column in shown_columns:
        text = (
            column.header.rjust(column.width)
            if column.numeric
            else column.header.ljust(column.width)
        )
        header.append(GAP + text, style="bold")
    lines += [header, Text("─" * min(width, len(header)), style="dim", **ONE_LINE)]
    for row, record in enumerate(records):
        line = Text(_truncated_left(run.cells[row], run_width).ljust(run_width), **ONE_LINE)
        for column in shown_columns:
            cell = column.cells[row]
            padded = cell.rjust(column.width) if column.numeric else cell.ljust(column.width)
            style = _STATUS_STYLE.get(cell, "") if column.key == "status" else ""
            line.append(GAP)
            line.append(padded, style=style)
        line.rstrip()
        lines.append(line)
        reason = _reason(record, whole_errors)
        if reason:
            style = _STATUS_STYLE.get(record["status"], "yellow")
            lines.append(Text("  ↳ " + reason, style=style, **({} if whole_errors else ONE_LINE)))
    if left_out:
        names = ", ".join(column.header for column in left_out)
        lines.append(
            Text(f"not shown for width (choose with --columns): {names}", style="dim", **ONE_LINE)
        )
    return lines
