"""The data behind sweep_plot.png: one point per group, its spread as the error bar."""

import pytest

from aecli.sweeps.aggregate import aggregate
from aecli.sweeps.plots import plot_panels, write_sweep_plot


def _records():
    values = {
        (1.0, 0): (10.0, 50.0, 0.1),
        (1.0, 1): (12.0, 52.0, 0.3),
        (4.0, 0): (4.0, 70.0, 0.4),
        (4.0, 1): (5.0, 74.0, 0.6),
    }
    return [
        {
            "status": "completed",
            "beta": beta,
            "seed": float(seed),
            "test_kl": kl,
            "test_recon": recon,
            "test_mig": mig,
        }
        for (beta, seed), (kl, recon, mig) in values.items()
    ]


def _panels():
    return {
        panel.title: panel
        for panel in plot_panels(
            aggregate(_records(), ["beta"], ["test_kl", "test_recon", "test_mig"]), ["beta"]
        )
    }


def test_each_metric_against_beta_has_the_group_means_and_std_bars():
    kl = _panels()["KL term against beta"].series[0]
    assert kl.x == [1.0, 4.0] and kl.y == pytest.approx([11.0, 4.5])
    assert kl.y_std == pytest.approx([2**0.5, 0.5**0.5])


def test_mig_against_beta_is_drawn_when_runs_report_it():
    mig = _panels()["mutual information gap against beta"]
    assert mig.series[0].y == pytest.approx([0.2, 0.5]) and mig.y_label.startswith("MIG")


def test_rate_distortion_has_one_annotated_point_per_beta_in_nats():
    panel = _panels()["rate–distortion (one point per group)"]
    (points,) = panel.series
    assert points.x == pytest.approx([51.0, 72.0]) and points.y == pytest.approx([11.0, 4.5])
    assert (
        points.notes == ["beta=1", "beta=4"] and "nats" in panel.x_label and "nats" in panel.y_label
    )


def test_a_second_group_key_draws_one_line_per_value():
    records = [
        {**record, "model.latent_dim": latent} for latent in (2.0, 8.0) for record in _records()
    ]
    panels = plot_panels(
        aggregate(records, ["beta", "model.latent_dim"], ["test_kl"]), ["beta", "model.latent_dim"]
    )
    kl = next(panel for panel in panels if panel.title == "KL term against beta")
    assert [series.label for series in kl.series] == ["model.latent_dim=2", "model.latent_dim=8"]
    assert all(series.x == [1.0, 4.0] for series in kl.series)


def test_nothing_to_plot_writes_no_file(tmp_path):
    rows = aggregate(
        [{"status": "completed", "model.name": "vae", "test_kl": 1.0}], ["model.name"], ["test_kl"]
    )
    assert plot_panels(rows, ["model.name"]) == []
    assert (
        not write_sweep_plot(tmp_path / "plot.png", rows, ["model.name"])
        and not (tmp_path / "plot.png").exists()
    )


def test_the_plot_is_a_png(tmp_path):
    rows = aggregate(_records(), ["beta"], ["test_kl", "test_recon", "test_mig"])
    assert write_sweep_plot(tmp_path / "plot.png", rows, ["beta"], ["seed"])
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"
