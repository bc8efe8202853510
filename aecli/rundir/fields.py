"""A run as one flat record of named values, and the names a user types for them.

The fields of a run are what `aecli runs` filters, sorts, shows and writes as CSV/JSON and what
`aecli compare` sets side by side: `run`, `status`, `error`, `damage`, `started`, `ended`, every
value of the config the run saved (flattened: `model.beta`, `trainer.epochs`, `seed`) and every
metric in its metrics.json (`test_elbo`, `val_loss`). The config is the one in .hydra/config.yaml,
which `aecli resume RUN trainer.epochs=N` rewrites: the values the run used, not the overrides of
its first command.

A user names a field by its key or by a shorter alias, resolved in this order:
1. a field's own key (`model.beta`, `test_elbo`, `status`);
2. a config group's name for its `name` key (`model` is `model.name`, `dataset` is `dataset.name`);
3. the last dotted parts of exactly one key (`beta` is `model.beta`, `noise.level` is
   `model.noise.level`, `epochs` is `trainer.epochs`); a part that ends several keys is refused,
   naming them.
"""

import difflib
import math

from aecli.errors import UserError
from aecli.rundir.listing import Run

# the fields every listed run has, before its config and metrics
RUN_FIELDS = ("run", "status", "error", "damage", "started", "ended")
# train.py copies these config values into metrics.json (for the sweep summary): they are read as
# the config keys they copy, filling in a run whose config.yaml is missing or damaged
METRIC_COPIES = {
    "model": "model.name",
    "dataset": "dataset.name",
    "beta": "model.beta",
    "seed": "seed",
    "name": "name",
    "tags": "tags",
}
# the top-level `beta=` shortcut only sets model.beta (aecli/config/run.py), which holds the value
# the run used; kept as a field it would read null wherever the shortcut was not typed
SHORTCUTS = ("beta",)


# the most values a list or section of a record may hold to be written out whole (a
# test_kl_per_dim of 20,000 latents fits): a hand-edited YAML alias can make a small file stand
# for billions of values, or for itself
MAX_NODES = 20_000
SHOWN_CHARS = 200


def flatten(section: dict, prefix: str = "", seen: set | None = None) -> dict:
    """Nested config sections as dotted keys; lists stay values (`model.hidden_units: [16, 8]`).
    A section met a second time (a YAML alias) stays a value, so an alias costs no more than its
    file."""
    seen = set() if seen is None else seen
    seen.add(id(section))
    flat = {}
    for key, value in section.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and id(value) not in seen:
            flat.update(flatten(value, f"{name}.", seen))
        else:
            flat[name] = value
    return flat


def _copy(value, budget: list[int], path: tuple = ()):
    """`value` copied for JSON, while it holds fewer than `budget` values and no cycle."""
    budget[0] -= 1
    if budget[0] < 0 or id(value) in path:
        raise ValueError("too large or cyclic")
    if not isinstance(value, (list, dict)):
        return plain(value)
    path = (*path, id(value))
    if isinstance(value, dict):
        return {str(key): _copy(item, budget, path) for key, item in value.items()}
    return [_copy(item, budget, path) for item in value]


def bounded(value):
    """A list or section as JSON can hold it, or, when it is cyclic or huge, the start of its
    text."""
    try:
        return _copy(value, [MAX_NODES])
    except ValueError:
        return _text(value)


def _pieces(value, path: frozenset):
    """The text of a value piece by piece, lazily: a caller stops when it has enough."""
    if isinstance(value, (list, dict)):
        if id(value) in path:  # a list that holds itself
            yield "…"
            return
        path = path | {id(value)}
        pairs = value.items() if isinstance(value, dict) else enumerate(value)
        yield "{" if isinstance(value, dict) else "["
        for index, (key, item) in enumerate(pairs):
            yield "," if index else ""
            if isinstance(value, dict):
                yield f"{key}:"
            yield from _pieces(item, path)
        yield "}" if isinstance(value, dict) else "]"
    else:
        yield shown(value)


def _text(value) -> str:
    """A list or section as Hydra spells one (`[16,8]`, `{a:1}`), cut after SHOWN_CHARS."""
    parts, size = [], 0
    for piece in _pieces(value, frozenset()):
        parts.append(piece)
        size += len(piece)
        if size > SHOWN_CHARS:
            return "".join(parts)[:SHOWN_CHARS] + "…"
    return "".join(parts)


def config_fields(run: Run) -> dict:
    """The run's saved config, flattened, with the values metrics.json copied from it filling in
    what a missing or damaged config.yaml lacks."""
    config = {
        key: value
        for key, value in flatten(run.config).items()
        if key not in SHORTCUTS and key not in RUN_FIELDS
    }
    for key, copied in METRIC_COPIES.items():
        if key in run.metrics and copied not in config:
            config[copied] = run.metrics[key]
    return config


def run_fields(run: Run, name: str) -> dict:
    """The flat record of `run`, listed as `name` (its folder as the listing shows it)."""
    record = {
        "run": name,
        "status": run.status,
        "error": run.error,
        "damage": run.damage or None,
        "started": run.started,
        "ended": run.ended,
        **config_fields(run),
    }
    for key, value in flatten(run.metrics).items():
        if key not in METRIC_COPIES and key not in record:
            record[key] = value
    return record


def group_names(keys) -> dict:
    """`model` -> `model.name`: each config group that names its choice."""
    return {
        key.rsplit(".", 1)[0]: key for key in keys if key.count(".") == 1 and key.endswith(".name")
    }


def resolve(alias: str, keys: list[str], what: str) -> str:
    """The key among `keys` (every field of the listed runs) that `alias` names (rules in the
    module docstring); `what` says where the user typed it, for the error."""
    if alias in keys:
        return alias
    groups = group_names(keys)
    if alias in groups:
        return groups[alias]
    ending = [key for key in keys if key.endswith(f".{alias}")]
    if len(ending) == 1:
        return ending[0]
    if ending:
        raise UserError(
            f"`{alias}` in {what} could mean {', '.join(f'`{key}`' for key in ending)}; "
            "give the whole key."
        )
    near = difflib.get_close_matches(alias, [*keys, *groups], n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(f'`{key}`' for key in near)}?" if near else ""
    raise UserError(
        f"`{alias}` in {what} is no field of the listed runs: not a config key (e.g. "
        f"`model.beta`, `beta`), a metric (e.g. `test_elbo`) or one of {', '.join(RUN_FIELDS)}."
        f"{hint} `aecli runs --format json` shows every field."
    )


def alias(key: str, keys: list[str]) -> str:
    """The shortest name that `resolve` reads back as `key`: what a column header shows."""
    groups = {full: group for group, full in group_names(keys).items()}
    if key in groups and groups[key] not in keys:
        return groups[key]
    parts = key.split(".")
    for start in range(len(parts) - 1, 0, -1):
        short = ".".join(parts[start:])
        if short not in keys and short not in group_names(keys):
            try:
                if resolve(short, keys, "") == key:
                    return short
            except UserError:
                continue
    return key


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def shown(value) -> str:
    """A value as a table cell and in `key=value` text: floats to 4 significant digits, lists and
    nulls as Hydra overrides spell them (`[16,8]`, `null`)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, dict)):
        return _text(value)
    return str(value)


def plain(value):
    """A value for JSON: NaN and infinities (which JSON cannot hold) as null, lists and sections
    bounded."""
    if isinstance(value, (list, dict)):
        return bounded(value)
    return None if isinstance(value, float) and not math.isfinite(value) else value
