"""The story of an anomaly run: train on normal data, score the model in memory, threshold, report.

Scores per example (the model's `anomaly_scores`): `recon`, the mean squared reconstruction error
over dimensions (the chapter's score), and for VAEs `neg_elbo`, minus the ELBO averaged over
posterior samples (nats). The threshold is a percentile of the scores of NORMAL validation
examples; test examples above it are flagged. ROC-AUC and PR-AUC (average precision) use the
scores themselves; precision, recall, F1 and the confusion matrix use the flags.
"""

import numpy as np
from rich.table import Table

from aecli.console import console
from aecli.evaluation.detection import detection_metrics, histogram
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
    val_scores = run.model.anomaly_scores(run.arrays.val.x, settings.anomaly.elbo_samples)
    test_scores = run.model.anomaly_scores(run.arrays.test.x, settings.anomaly.elbo_samples)
    primary = settings.anomaly.score.value
    report = {"normal_label": int(normal_label), "percentile": settings.anomaly.percentile,
              "score": primary, "test_normal": int((~anomalous).sum()),
              "test_anomalous": int(anomalous.sum())}
    for name in test_scores:
        threshold = float(np.percentile(val_scores[name], settings.anomaly.percentile))
        report[name] = {"threshold": threshold,
                        **detection_metrics(anomalous, test_scores[name], threshold)}
    folder = run.folder
    write_json(folder.anomaly_report, report)
    histogram(folder.anomaly_histogram, test_scores[primary], anomalous,
              report[primary]["threshold"], primary)
    _print(report, folder)
    return {f"test_{key}": report[primary][key]
            for key in ("roc_auc", "pr_auc", "precision", "recall", "f1")}


def _print(report: dict, folder: RunFolder) -> None:
    table = Table(title=f"anomaly detection, normal label {report['normal_label']}: {report['test_normal']} normal, "
                        f"{report['test_anomalous']} anomalous test examples")
    for column in ("score", "threshold", "ROC-AUC", "PR-AUC", "precision", "recall", "F1", "TN FP FN TP"):
        table.add_column(column, justify="right")
    for name in ("recon", "neg_elbo"):
        if name in report:
            r, c = report[name], report[name]["confusion"]
            table.add_row(name + (" *" if name == report["score"] else ""), f"{r['threshold']:.4g}", f"{r['roc_auc']:.4f}",
                          f"{r['pr_auc']:.4f}", f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}",
                          f"{c['true_negative']} {c['false_positive']} {c['false_negative']} {c['true_positive']}")
    console.print(table)
    console.print(f"* flags at the {report['percentile']:g}th percentile of normal validation scores; "
                  f"wrote {folder.anomaly_report} and {folder.anomaly_histogram}")
