"""The sweep's latent scatter: classes named where the dataset's names are known."""

import numpy as np

from aecli.data.sources import CLASS_NAMES
from aecli.sweeps.latents import draw_latent_scatters, legend_entries


def test_legend_names_each_present_label_and_falls_back_to_its_number():
    assert legend_entries(np.array([2, 0, 2]), ("a", "b", "c")) == [(0, "a"), (2, "c")]
    assert legend_entries(np.array([1, 7]), None) == [(1, "class 1"), (7, "class 7")]


def test_the_scatter_is_a_png(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 200)
    panels = [
        (f"beta={beta}", rng.normal(size=(200, 2)), labels, CLASS_NAMES["fashion_mnist"])
        for beta in (1, 4)
    ]
    draw_latent_scatters(tmp_path / "scatter.png", panels)
    assert (tmp_path / "scatter.png").read_bytes()[:4] == b"\x89PNG"
