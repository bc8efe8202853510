"""The config keys in which runs differ and their metrics side by side, from their flat records
(aecli/rundir/fields.py)."""

from dataclasses import dataclass

from aecli.rundir.fields import RUN_FIELDS, is_number, shown

ABSENT = "-"


@dataclass
class Row:
    key: str
    values: list[str]
    # each later run's value minus the first's (numbers only; "" where either is not a number)
    deltas: list[str]


def _value(record: dict, key: str) -> str:
    return shown(record[key]) if key in record else ABSENT


def config_differences(records: list[dict], config_keys: list[str]) -> list[Row]:
    """One row per config key whose value is not the same in every run (a key one run lacks,
    e.g. β beside a model without one, counts as different)."""
    rows = []
    for key in config_keys:
        values = [_value(record, key) for record in records]
        if len(set(values)) > 1:
            rows.append(Row(key, values, []))
    return rows


def _delta(first, later) -> str:
    if not (is_number(first) and is_number(later)):
        return ""
    return f"{later - first:+.4g}"


def metric_rows(records: list[dict], config_keys: list[str]) -> list[Row]:
    """Every scalar metric any run reports: numbers with their difference from the first run,
    other values (precision, jit_compile) only where they differ. Lists (test_kl_per_dim) are
    left to the run's metrics.json."""
    keys = dict.fromkeys(
        key
        for record in records
        for key, value in record.items()
        if key not in config_keys and key not in RUN_FIELDS and not isinstance(value, (list, dict))
    )
    rows = []
    for key in keys:
        values = [record.get(key) for record in records]
        numeric = all(is_number(value) for value in values if value is not None)
        texts = [_value(record, key) for record in records]
        if not numeric and len(set(texts)) == 1:
            continue
        deltas = [_delta(values[0], value) for value in values[1:]]
        rows.append(Row(key, texts, deltas))
    return rows
