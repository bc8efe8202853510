"""The chapter's exercise 22 (c): the latent space of every 2-D run of a sweep, side by side.

One panel per completed run with `model.latent_dim=2`: its test examples' codes (posterior means for
a VAE) coloured by label, on shared axes, so what β does to the code is seen at a glance.
"""

import math
from pathlib import Path

import numpy as np

from aecli.console import console
from aecli.errors import UserError
from aecli.rundir.listing import Run

# enough to show the clusters, few enough to encode and draw in a moment per run
POINTS_PER_RUN = 5000
PANELS_PER_ROW = 5


def has_2d_codes(run: Run) -> bool:
    return run.status == "completed" and (run.config.get("model") or {}).get("latent_dim") == 2


def test_codes(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The 2-D codes and labels of a finished run's first test examples."""
    from aecli.evaluation.reload import load_run  # TensorFlow loads here

    run = load_run(run_dir)
    x, y = run.arrays.test.x[:POINTS_PER_RUN], run.arrays.test.y[:POINTS_PER_RUN]
    codes = np.concatenate([np.asarray(run.model.encode_mean(x[i:i + 512])) for i in range(0, len(x), 512)])
    return codes, y


def write_latent_scatters(path: Path, runs: list[Run], titles: list[str]) -> bool:
    """A grid of latent scatters, one per 2-D run; False when no run has 2-D codes to show."""
    panels = []
    for run, title in zip(runs, titles):
        if not has_2d_codes(run):
            continue
        try:
            panels.append((title or run.path.name, *test_codes(run.path)))
        except UserError as error:  # e.g. the data files are not on this machine
            console.print(f"[yellow]no latent scatter for {run.path}:[/] {error}", soft_wrap=True)
    if not panels:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(len(panels), PANELS_PER_ROW)
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.4 * rows), squeeze=False,
                                sharex=True, sharey=True)
    for axis, (title, codes, labels) in zip(axes.flat, panels):
        axis.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=2, alpha=0.5)
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("z1")
        axis.set_ylabel("z2")
    for axis in list(axes.flat)[len(panels):]:
        axis.set_visible(False)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
