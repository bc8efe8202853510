"""The chapter's exercise 22 (c): the latent space of every 2-D run of a sweep, side by side.

One panel per completed run with `model.latent_dim=2`: its test examples' codes (posterior means for
a VAE) coloured by label, on shared axes, so what β does to the code is seen at a glance. A legend
names the classes where the dataset's are known (its source's class names), else `class K`.
"""

import math
from pathlib import Path

import numpy as np

from aecli.console import console
from aecli.errors import UserError
from aecli.rundir.atomic import save_figure
from aecli.rundir.listing import Run

# enough to show the clusters, few enough to encode and draw in a moment per run
POINTS_PER_RUN = 5000
PANELS_PER_ROW = 5


def legend_entries(labels: np.ndarray, names: tuple[str, ...] | None) -> list[tuple[int, str]]:
    """(label, text) for every label present, named where the dataset's names are known."""
    return [
        (int(label), names[label] if names and 0 <= label < len(names) else f"class {label}")
        for label in np.unique(labels)
    ]


def has_2d_codes(run: Run) -> bool:
    return run.status == "completed" and (run.config.get("model") or {}).get("latent_dim") == 2


def test_codes(run_dir: Path) -> tuple[np.ndarray, np.ndarray, tuple[str, ...] | None]:
    """The 2-D codes and labels of a finished run's first test examples, and the names of its
    labels (None where the dataset has none)."""
    from aecli.evaluation.reload import load_run  # TensorFlow loads here

    run = load_run(run_dir)
    x, y = run.arrays.test.x[:POINTS_PER_RUN], run.arrays.test.y[:POINTS_PER_RUN]
    return run.model.encode_means(x), y, tuple(run.arrays.class_names) or None


def draw_latent_scatters(
    path: Path, panels: list[tuple[str, np.ndarray, np.ndarray, tuple | None]]
) -> None:
    """A grid of scatters, one per (title, codes, labels, class names), with the classes' legend:
    once for the figure when every panel has the same classes, else one per panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    columns = min(len(panels), PANELS_PER_ROW)
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(
        rows,
        columns,
        figsize=(3.6 * columns, 3.4 * rows + 0.8),
        squeeze=False,
        sharex=True,
        sharey=True,
    )
    largest = max(int(np.max(labels)) for _, _, labels, _ in panels if len(labels)) if panels else 0
    colours = plt.get_cmap("tab10" if largest < 10 else "tab20")

    def handles(labels, names):
        return [
            Line2D([], [], marker="o", linestyle="", color=colours(label % colours.N), label=text)
            for label, text in legend_entries(labels, names)
        ]

    legends = [handles(labels, names) for _, _, labels, names in panels]
    shared = all(
        [h.get_label() for h in hs] == [h.get_label() for h in legends[0]] for hs in legends
    )
    # the grid can have more axes than panels: the spare ones are hidden below
    for axis, (title, codes, labels, _names), entries in zip(
        axes.flat, panels, legends, strict=False
    ):
        axis.scatter(
            codes[:, 0],
            codes[:, 1],
            c=[colours(int(k) % colours.N) for k in labels],
            s=2,
            alpha=0.5,
        )
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("z1")
        axis.set_ylabel("z2")
        if not shared:
            axis.legend(handles=entries, fontsize=6, markerscale=0.8, loc="best")
    for axis in list(axes.flat)[len(panels) :]:
        axis.set_visible(False)
    figure.suptitle("test codes (posterior means for a VAE), coloured by class", fontsize=11)
    if shared and legends and legends[0]:
        figure.legend(
            handles=legends[0],
            loc="lower center",
            ncol=min(len(legends[0]), 10),
            fontsize=8,
            frameon=False,
        )
        figure.tight_layout(rect=(0, 0.08 if rows == 1 else 0.04, 1, 1))
    else:
        figure.tight_layout()
    try:
        save_figure(figure, path, dpi=110)
    finally:
        plt.close(figure)


def write_latent_scatters(path: Path, runs: list[Run], titles: list[str]) -> bool:
    """A grid of latent scatters, one per 2-D run; False when no run has 2-D codes to show."""
    panels = []
    for run, title in zip(runs, titles, strict=True):
        if not has_2d_codes(run):
            continue
        try:
            panels.append((title or run.path.name, *test_codes(run.path)))
        except UserError as error:  # e.g. the data files are not on this machine
            console.print(f"[yellow]no latent scatter for {run.path}:[/] {error}", soft_wrap=True)
    if not panels:
        return False
    draw_latent_scatters(path, panels)
    return True
