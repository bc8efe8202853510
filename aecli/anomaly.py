"""The story of an anomaly run: train on normal data, score the model in memory, threshold, report.

Scores per example (the model's `anomaly_scores`): `recon`, the mean squared reconstruction error
over dimensions (the chapter's score), and for VAEs `neg_elbo`, minus the ELBO averaged over
posterior samples (nats). The threshold (`anomaly.threshold`) is either a percentile of the
scores of NORMAL validation examples, or the score maximising F1 on a labelled validation split:
the normal validation rows plus anomalies drawn apart from the test ones (the tabular generator's
own, or the training split's other labels in a one-class run), subsampled to the test split's
share of anomalies. Where that split exists, its ROC-AUC and PR-AUC are reported too
(`val_roc_auc`, `val_pr_auc`: what a hyperparameter search may maximise). The test split is never
used to choose anything. Test examples above the threshold are flagged. ROC-AUC and
PR-AUC (average precision) use the scores themselves; precision, recall, F1 and the confusion
matrix use the flags.
"""

import numpy as np
from rich.table import Table

from aecli.config.run import Threshold
from aecli.console import console
from aecli.evaluation.detection import (
    detection_metrics,
    f1_optimal_threshold,
    histogram,
    threshold_free_metrics,
)
from aecli.rundir.atomic import write_json
from aecli.rundir.layout import RunFolder


def detect(settings, folder: RunFolder) -> dict:
    """Train on normal data, then score and threshold the test split with the model in memory;
    writes anomaly.json and the histogram, and returns the metrics (train's and test_* headline)."""
    from aecli.train import train

    return train(settings, folder, then=lambda run: _detection(settings, run))


def _detection(settings, run) -> dict:
    normal_label = settings.dataset.normal_class if settings.dataset.normal_class is not None else 0
    anomalous = run.arrays.test.y != normal_label
    samples = settings.anomaly.elbo_samples
    val_scores = run.model.anomaly_scores(run.arrays.val.x, samples)
    test_scores = run.model.anomaly_scores(run.arrays.test.x, samples)
    primary = settings.anomaly.score.value
    rule = settings.anomaly.threshold
    report = {
        "normal_label": int(normal_label),
        "threshold_rule": rule.value,
        "percentile": settings.anomaly.percentile if rule == Threshold.percentile else None,
        "score": primary,
        "test_normal": int((~anomalous).sum()),
        "test_anomalous": int(anomalous.sum()),
    }
    labelled = _labelled_validation(settings, run, anomalous.mean())
    if labelled is not None:
        labelled_x, labelled_y = labelled
        labelled_scores = run.model.anomaly_scores(labelled_x, samples)
        report["validation_normal"] = int((~labelled_y).sum())
        report["validation_anomalous"] = int(labelled_y.sum())
    for name in test_scores:
        validation = {}
        if labelled is not None:
            validation = {
                f"validation_{key}": value
                for key, value in threshold_free_metrics(labelled_y, labelled_scores[name]).items()
            }
        if rule == Threshold.f1_optimal:
            threshold, validation["validation_f1"] = f1_optimal_threshold(
                labelled_y, labelled_scores[name]
            )
        else:
            threshold = float(np.percentile(val_scores[name], settings.anomaly.percentile))
        report[name] = {
            "threshold": threshold,
            **validation,
            **detection_metrics(anomalous, test_scores[name], threshold),
        }
    folder = run.folder
    write_json(folder.anomaly_report, report)
    histogram(
        folder.anomaly_histogram,
        test_scores[primary],
        anomalous,
        report[primary]["threshold"],
        primary,
    )
    _print(report, folder)
    headline = {
        f"test_{key}": report[primary][key]
        for key in ("roc_auc", "pr_auc", "precision", "recall", "f1")
    }
    if labelled is not None:  # what `anomaly.objective` may hand a hyperparameter search
        headline |= {
            f"val_{key}": report[primary][f"validation_{key}"] for key in ("roc_auc", "pr_auc")
        }
    return headline


def _labelled_validation(settings, run, test_share: float):
    """(x, is_anomaly) of a labelled validation split: the normal validation rows plus as many
    anomalies as give the test split's share of them (at least one; F1's optimum moves with that
    share), drawn apart from the test split by `data.arrays.validation_anomalies`. None when the
    dataset has no anomalies to draw them from."""
    from aecli.data.arrays import validation_anomalies

    normal = run.arrays.val.x
    wanted = max(1, round(len(normal) * test_share / (1 - test_share)))
    anomalies = validation_anomalies(settings.dataset, settings.seed, wanted)
    if anomalies is None:
        return None
    labels = np.concatenate([np.zeros(len(normal), bool), np.ones(len(anomalies), bool)])
    return np.concatenate([normal, anomalies]), labels


def _print(report: dict, folder: RunFolder) -> None:
    table = Table(
        title=f"anomaly detection, normal label {report['normal_label']}: "
        f"{report['test_normal']} normal, "
        f"{report['test_anomalous']} anomalous test examples"
    )
    for column in (
        "score",
        "threshold",
        "ROC-AUC",
        "PR-AUC",
        "precision",
        "recall",
        "F1",
        "TN FP FN TP",
    ):
        table.add_column(column, justify="right")
    for name in ("recon", "neg_elbo"):
        if name in report:
            r, c = report[name], report[name]["confusion"]
            table.add_row(
                name + (" *" if name == report["score"] else ""),
                f"{r['threshold']:.4g}",
                f"{r['roc_auc']:.4f}",
                f"{r['pr_auc']:.4f}",
                f"{r['precision']:.3f}",
                f"{r['recall']:.3f}",
                f"{r['f1']:.3f}",
                f"{c['true_negative']} {c['false_positive']} "
                f"{c['false_negative']} {c['true_positive']}",
            )
    console.print(table)
    rule = (
        f"the {report['percentile']:g}th percentile of normal validation scores"
        if report["threshold_rule"] == Threshold.percentile.value
        else f"the F1-optimal score on {report['validation_normal']} normal and "
        f"{report['validation_anomalous']} anomalous validation examples"
    )
    console.print(
        f"* flags above {rule}; wrote {folder.anomaly_report} and {folder.anomaly_histogram}"
    )
