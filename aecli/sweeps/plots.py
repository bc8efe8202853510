"""sweep_plot.png: what the swept values do to the metrics, one point per group of replicates
(mean, with a bar of ± one sample std where the group has several runs).

The panels are decided by `plot_panels` (pure: aggregate rows in, panel data out) and drawn by
`write_sweep_plot`:
- each metric of PLOTTED against each numeric group key (β, latent size, ...), one line per
  combination of the other group keys;
- the rate–distortion plane (Alemi et al. 2018): KL (the rate) against the reconstruction term
  (the distortion), one point per group, annotated with its values (e.g. `beta=4`).
"""

import math
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

from aecli.rundir.atomic import save_figure
from aecli.sweeps.aggregate import is_number
from aecli.sweeps.table import label

# (metric, axis label with its unit), in panel order; each drawn when some group reports it
PLOTTED = {
    "test_recon_mse": "reconstruction MSE (per value, unitless)",
    "test_kl": "KL(q(z|x) ‖ p(z)) (nats per example)",
    "test_elbo": "ELBO (nats per example)",
    "test_mig": "MIG (0 to 1)",
    "test_roc_auc": "ROC-AUC",
}
TITLES = {
    "test_recon_mse": "reconstruction error",
    "test_kl": "KL term",
    "test_elbo": "ELBO",
    "test_mig": "mutual information gap",
    "test_roc_auc": "anomaly ROC-AUC",
}
# the distortion axis of the rate-distortion panel: the reconstruction term in nats when the runs
# report it (the same unit as KL), else the MSE
DISTORTIONS = {
    "test_recon": "reconstruction −log p(x|z) (nats per example)",
    "test_recon_mse": "reconstruction MSE (per value, unitless)",
}


@dataclass
class Series:
    label: str
    x: list[float]
    y: list[float]
    y_std: list[float]  # 0 where a group has one run: no bar
    x_std: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # a label per point (rate-distortion)


@dataclass
class Panel:
    title: str
    x_label: str
    y_label: str
    series: list[Series]
    log_x: bool = False
    ticks: list[float] | None = None  # the swept values themselves, when few


def _spread(row: dict, metric: str) -> float:
    std = row.get(f"{metric}_std")
    return std if is_number(std) and math.isfinite(std) else 0.0


def _has(row: dict, metric: str) -> bool:
    return is_number(row.get(f"{metric}_mean")) and math.isfinite(row[f"{metric}_mean"])


def _numeric_keys(aggregates: list[dict], keys: list[str]) -> list[str]:
    return [key for key in keys if all(is_number(row.get(key)) for row in aggregates)]


def _against(aggregates: list[dict], key: str, others: list[str], metric: str) -> list[Series]:
    """`metric` against `key`, one series per combination of the other group keys."""

    def rest(row):
        return label({other: row.get(other) for other in others})

    rows = sorted(
        (row for row in aggregates if _has(row, metric)), key=lambda row: (rest(row), row[key])
    )
    return [
        Series(
            name,
            [r[key] for r in members],
            [r[f"{metric}_mean"] for r in members],
            [_spread(r, metric) for r in members],
        )
        for name, group in groupby(rows, key=rest)
        for members in [list(group)]
    ]


def _x_axis(values: list[float]) -> dict:
    xs = sorted(set(values))
    return {
        "log_x": bool(xs) and xs[0] > 0 and xs[-1] / xs[0] >= 10,
        "ticks": xs if len(xs) <= 12 else None,
    }


def plot_panels(aggregates: list[dict], keys: list[str]) -> list[Panel]:
    """The panels of sweep_plot.png for aggregate rows grouped by `keys`."""
    panels = []
    for key in _numeric_keys(aggregates, keys):
        others = [other for other in keys if other != key]
        for metric, unit in PLOTTED.items():
            series = _against(aggregates, key, others, metric)
            if series:
                panels.append(
                    Panel(
                        f"{TITLES[metric]} against {key}",
                        key,
                        unit,
                        series,
                        **_x_axis([x for s in series for x in s.x]),
                    )
                )
    distortion = next((m for m in DISTORTIONS if any(_has(row, m) for row in aggregates)), None)
    points = [
        row for row in aggregates if distortion and _has(row, distortion) and _has(row, "test_kl")
    ]
    if keys and len(points) > 1:
        panels.append(
            Panel(
                "rate–distortion (one point per group)",
                "distortion: " + DISTORTIONS[distortion],
                "rate: KL (nats per example)",
                [
                    Series(
                        "",
                        [r[f"{distortion}_mean"] for r in points],
                        [r["test_kl_mean"] for r in points],
                        [_spread(r, "test_kl") for r in points],
                        [_spread(r, distortion) for r in points],
                        [label({k: r.get(k) for k in keys}) for r in points],
                    )
                ],
            )
        )
    return panels


def _draw(axis, panel: Panel) -> None:
    for series in panel.series:
        style = "o" if series.notes else "o-"
        axis.errorbar(
            series.x,
            series.y,
            yerr=series.y_std,
            xerr=series.x_std or None,
            fmt=style,
            capsize=3,
            label=series.label or None,
        )
        # notes are optional: an empty list labels no point
        for x, y, note in zip(series.x, series.y, series.notes, strict=False):
            axis.annotate(note, (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
        if series.notes:
            axis.margins(0.2)  # room for the labels of the outermost points
    if panel.log_x:
        axis.set_xscale("log")
    if panel.ticks:
        axis.set_xticks(panel.ticks, [f"{x:g}" for x in panel.ticks])
        axis.minorticks_off()
    if any(series.label for series in panel.series):
        axis.legend(fontsize=8)
    axis.set_title(panel.title, fontsize=10)
    axis.set_xlabel(panel.x_label)
    axis.set_ylabel(panel.y_label)
    axis.grid(alpha=0.3)


def write_sweep_plot(
    path: Path, aggregates: list[dict], keys: list[str], replicates: list[str] = ()
) -> bool:
    """Draw the panels into `path`; False (and no file) when there is nothing to plot."""
    panels = plot_panels(aggregates, keys)
    Path(path).unlink(missing_ok=True)  # a rebuilt summary must not keep a plot of other data
    if not panels:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.8 * rows), squeeze=False)
    # the grid can have more axes than panels: the spare ones are hidden below
    for axis, panel in zip(axes.flat, panels, strict=False):
        _draw(axis, panel)
    for axis in list(axes.flat)[len(panels) :]:
        axis.set_visible(False)
    if replicates:
        figure.suptitle(f"mean ± sample std over {', '.join(replicates)}", fontsize=11)
    figure.tight_layout()
    try:
        save_figure(figure, path, dpi=120)
    finally:
        plt.close(figure)
    return True
