"""Grouping a sweep's runs over their replicates, checked against NumPy on known records."""

import math

import numpy as np
import pytest

from aecli.sweeps.aggregate import aggregate, group_keys, mean_std, metric_names


def _record(beta, seed, status="completed", **metrics):
    return {"run": f"{beta}-{seed}", "status": status, "beta": beta, "seed": seed, **metrics}


RECORDS = [
    _record(1.0, 0.0, test_kl=10.0, test_recon_mse=0.10),
    _record(1.0, 1.0, test_kl=12.0, test_recon_mse=0.14),
    _record(1.0, 2.0, test_kl=17.0, test_recon_mse=0.09),
    _record(4.0, 0.0, test_kl=3.0, test_recon_mse=0.30),
    _record(4.0, 1.0, test_kl=5.0, test_recon_mse=0.20),
]


def test_groups_are_the_swept_values_other_than_the_replicates():
    assert group_keys(["beta", "seed", "model.latent_dim", "dataset.normal_class"]) == [
        "beta",
        "model.latent_dim",
    ]


def test_each_group_has_the_mean_and_sample_std_of_its_runs():
    rows = aggregate(RECORDS, ["beta"], ["test_kl", "test_recon_mse"])
    assert [(row["beta"], row["n"], row["n_runs"]) for row in rows] == [(1.0, 3, 3), (4.0, 2, 2)]
    for row, members in zip(rows, (RECORDS[:3], RECORDS[3:]), strict=True):
        for metric in ("test_kl", "test_recon_mse"):
            values = np.array([record[metric] for record in members])
            assert row[f"{metric}_mean"] == pytest.approx(values.mean())
            assert row[f"{metric}_std"] == pytest.approx(values.std(ddof=1))


def test_a_group_of_one_run_has_no_std():
    assert mean_std([0.5]) == (0.5, None)
    (row,) = aggregate([_record(2.0, 0.0, test_kl=1.5)], ["beta"], ["test_kl"])
    assert row["test_kl_mean"] == 1.5 and row["test_kl_std"] is None


def test_runs_that_did_not_complete_are_counted_but_not_averaged():
    records = [*RECORDS[:2], _record(1.0, 2.0, status="failed")]
    (row,) = aggregate(records, ["beta"], ["test_kl"])
    assert (row["n"], row["n_runs"]) == (2, 3)
    assert row["test_kl_mean"] == pytest.approx(11.0)


def test_only_replicates_swept_gives_one_group_over_every_run():
    """The one-class study: its answer is the mean over the classes."""
    records = [
        {"status": "completed", "dataset.normal_class": float(k), "test_roc_auc": auc}
        for k, auc in enumerate([0.8, 0.9, 0.95])
    ]
    (row,) = aggregate(records, group_keys(["dataset.normal_class"]), ["test_roc_auc"])
    assert row["n"] == 3 and row["test_roc_auc_mean"] == pytest.approx(np.mean([0.8, 0.9, 0.95]))


def test_a_metric_missing_from_some_runs_averages_those_that_report_it():
    records = [_record(1.0, 0.0, test_mig=0.2), _record(1.0, 1.0), _record(1.0, 2.0, test_mig=0.4)]
    (row,) = aggregate(records, ["beta"], ["test_mig"])
    assert row["test_mig_mean"] == pytest.approx(0.3) and row["test_mig_std"] == pytest.approx(
        np.std([0.2, 0.4], ddof=1)
    )


def test_a_group_with_no_completed_run_has_no_mean():
    (row,) = aggregate([_record(1.0, 0.0, status="failed")], ["beta"], ["test_kl"])
    assert row["n"] == 0 and row["test_kl_mean"] is None and row["test_kl_std"] is None


def test_metric_names_are_numeric_and_leave_out_settings_and_swept_values():
    metrics = [
        {"model": "vae", "beta": 4.0, "seed": 1, "jit_compile": True, "test_kl": 3.0, "latent": 2},
        {"test_mig": 0.1, "test_sap": float("nan")},
    ]
    assert metric_names(metrics, exclude=["latent"]) == ["test_kl", "test_mig", "test_sap"]


def test_a_non_finite_value_makes_the_mean_non_finite_rather_than_vanish():
    (row,) = aggregate(
        [_record(1.0, 0.0, test_kl=float("nan")), _record(1.0, 1.0, test_kl=1.0)],
        ["beta"],
        ["test_kl"],
    )
    assert math.isnan(row["test_kl_mean"])
