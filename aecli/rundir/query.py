"""`--where` and `--sort` of `aecli runs`: which runs, in which order, over their flat fields
(aecli/rundir/fields.py).

A condition is `KEY OP VALUE` without spaces, OP one of = != < <= > >=. Numbers compare as
numbers (`beta>=2` holds for 2.0 and 4); anything else compares as the text a table shows
(`model=vae`, `hidden_units=[16,8]`, `started>=2026-12-01` on the ISO timestamps). A run without
the key, or whose value is not comparable with an order (a text against a number), fails every
condition but `KEY=null`, which a missing key satisfies like a null one.
"""

import math
import operator
import re
from dataclasses import dataclass

import yaml

from aecli.errors import UserError
from aecli.rundir.fields import is_number, resolve, shown

_OPERATORS = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_CONDITION = re.compile(r"^([^=!<>\s]+)(<=|>=|!=|=|<|>)(.*)$")


@dataclass(frozen=True)
class Condition:
    key: str  # resolved: a field's own key
    op: str
    value: object

    def __str__(self) -> str:
        return f"{self.key}{self.op}{shown(self.value)}"

    def holds(self, record: dict) -> bool:
        value = record.get(self.key)
        if self.value is None and self.op in ("=", "!="):
            return (value is None) == (self.op == "=")
        if value is None:
            return False
        if is_number(value) and is_number(self.value):
            return _OPERATORS[self.op](value, self.value)
        if self.op not in ("=", "!=") and (is_number(value) or is_number(self.value)):
            return False
        return _OPERATORS[self.op](shown(value), shown(self.value))


def _value(text: str):
    """A typed value: a number, null, true/false, a list, else the text itself."""
    try:
        return float(text) if not text.lstrip("+-").isdigit() else int(text)
    except ValueError:
        pass
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return parsed if parsed is None or isinstance(parsed, (bool, list)) else text


def parse_where(terms: list[str], keys: list[str]) -> list[Condition]:
    """`--where 'model=vae beta>=2'` (given once or more) as conditions on resolved keys."""
    conditions = []
    for term in " ".join(terms).split():
        match = _CONDITION.match(term)
        if not match:
            raise UserError(
                f"`{term}` in --where is not a condition: write KEY OP VALUE without spaces, "
                "OP one of = != < <= > >=, e.g. --where 'model=vae beta>=2 status=completed'."
            )
        key, op, value = match.groups()
        conditions.append(Condition(resolve(key, keys, "--where"), op, _value(value)))
    return conditions


def sort_key(spec: str, keys: list[str], descending: bool) -> tuple[str, bool]:
    """`--sort test_elbo` / `--sort -test_elbo` (descending, as is `--desc`): resolved key, and
    whether descending."""
    if spec.startswith("-"):
        spec, descending = spec[1:], True
    return resolve(spec, keys, "--sort"), descending


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def sorted_records(records: list[dict], key: str, descending: bool) -> list[dict]:
    """Ordered by `key`, numbers before text; runs without a value (or NaN) last in either
    direction. A stable sort: ties keep the listing's order (newest first)."""
    present = [record for record in records if not _missing(record.get(key))]
    absent = [record for record in records if _missing(record.get(key))]
    present.sort(
        key=lambda record: (
            (0, record[key], "") if is_number(record[key]) else (1, 0, shown(record[key]))
        ),
        reverse=descending,
    )
    if descending:  # numbers still before text
        present.sort(key=lambda record: not is_number(record[key]))
    return present + absent
