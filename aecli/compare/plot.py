"""One PNG of the validation loss per epoch of the compared runs: a panel per dataset (losses of
different datasets are not on one scale), a line per run, labelled as the tables label it."""

from pathlib import Path

from aecli.rundir.atomic import save_figure


def write_loss_plot(panels: dict[str, dict[str, list[tuple[int, float]]]], path: Path) -> None:
    """`panels`: dataset -> run label -> (epoch, loss) pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(
        1, len(panels), figsize=(6 * len(panels), 4), squeeze=False, layout="constrained"
    )
    for axis, (dataset, series) in zip(axes[0], panels.items(), strict=True):
        for label, points in series.items():
            epochs, losses = zip(*points, strict=True)
            axis.plot(epochs, losses, marker="o" if len(points) < 30 else None, label=label)
        axis.set_title(f"validation loss per epoch ({dataset})")
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel("validation loss (the training objective)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small")
    try:
        save_figure(figure, path, dpi=100)
    finally:
        plt.close(figure)
