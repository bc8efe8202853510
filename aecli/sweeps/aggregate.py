"""A sweep's runs grouped over their replicates, with the mean and spread of every metric per group.

A sweep over `beta=1,4 seed=0,1,2` asks how β changes the metrics; the seeds are repeats of one
setting. So runs are grouped by their swept values other than the replicate keys (REPLICATE_KEYS),
and each group reports how many of its runs completed (`n`) and, per numeric metric, the mean and
the sample standard deviation (ddof=1: the unbiased variance of a few repeats) over its completed
runs. With n = 1 there is no spread to estimate: the std is None (null in JSON, an empty CSV cell).

`dataset.normal_class` is a replicate key too: the one-class anomaly study trains one model per
class and its answer is the mean ROC-AUC over the classes, so its std is the spread across classes.
Everything here is pure: records in, records out.
"""

import math

# keys whose values are repeats of one setting, not settings to compare
REPLICATE_KEYS = ("seed", "dataset.normal_class")
# run settings that train.py echoes into metrics.json: not measurements
_SETTINGS = ("seed", "beta")


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def group_keys(swept: list[str]) -> list[str]:
    """The swept keys that define a group: every one but the replicates."""
    return [key for key in swept if key not in REPLICATE_KEYS]


def metric_names(metrics: list[dict], exclude: list[str] = ()) -> list[str]:
    """The numeric metrics any run reports, in first-seen order (not settings or swept values)."""
    skipped = {*exclude, *_SETTINGS}
    return [
        key
        for key in dict.fromkeys(key for run in metrics for key in run)
        if key not in skipped and any(is_number(run.get(key)) for run in metrics)
    ]


def mean_std(values: list[float]) -> tuple[float | None, float | None]:
    """The mean and the sample standard deviation (ddof=1); None where there are too few values."""
    if not values:
        return None, None
    mean = math.fsum(values) / len(values)
    if len(values) < 2:
        return mean, None
    return mean, math.sqrt(math.fsum((value - mean) ** 2 for value in values) / (len(values) - 1))


def group(records: list[dict], keys: list[str]) -> list[tuple[dict, list[dict]]]:
    """The records grouped by their values of `keys`, groups in order of first appearance."""
    groups: dict[tuple, tuple[dict, list[dict]]] = {}
    for record in records:
        values = {key: record.get(key) for key in keys}
        groups.setdefault(tuple(values.values()), (values, []))[1].append(record)
    return list(groups.values())


def aggregate(records: list[dict], keys: list[str], metrics: list[str]) -> list[dict]:
    """One row per group: its values of `keys`, `n` (its completed runs), `n_runs` (all its runs),
    and `<metric>_mean`, `<metric>_std` over the completed runs that report the metric."""
    rows = []
    for values, members in group(records, keys):
        completed = [record for record in members if record.get("status") == "completed"]
        row = {**values, "n": len(completed), "n_runs": len(members)}
        for metric in metrics:
            row[f"{metric}_mean"], row[f"{metric}_std"] = mean_std(
                [float(record[metric]) for record in completed if is_number(record.get(metric))]
            )
        rows.append(row)
    return rows
