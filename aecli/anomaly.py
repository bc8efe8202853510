"""The story of an anomaly run: train on normal data, score the model in memory, threshold, report.

Normal data only: where the labels say which examples are anomalous (`data.arrays.normal_label`:
`dataset.normal_class`, the tabular generators' 0, a CSV's or .npz's 0/1 labels), training and
the threshold's validation scores use the normal examples alone; the anomalies outside the test
split become a labelled validation split or are left out, and never train. Unlabelled data
(every label 0) trains on every row.

Scores per example (the model's `anomaly_scores`): `recon`, the mean squared reconstruction error
over dimensions (the chapter's score), and for VAEs `neg_elbo`, minus the ELBO averaged over
posterior samples (nats). The threshold (`anomaly.threshold`) is a percentile of the scores of
the normal validation examples; the score maximising F1 on the labelled validation split (the
normal validation rows plus anomalies drawn apart from the test ones, at the test split's share);
or, for data whose anomalies are unlabelled but whose rate is known, the (1 - contamination)
quantile of the validation scores (PyOD's `contamination`, Zhao et al. 2019, there on the
training scores; here on held-out ones, which the model did not fit). Where the labelled split
exists, its ROC-AUC and PR-AUC are reported too (`val_roc_auc`, `val_pr_auc`: what a
hyperparameter search may maximise). The test split is never used to choose anything. Test
examples above the threshold are flagged. ROC-AUC and PR-AUC (average precision) use the scores
themselves; precision, recall, F1 and the confusion matrix use the flags; none of them exists
for a test split without labelled anomalies, where only the flagged count is reported.
"""

import numpy as np
from rich.table import Table

from aecli.config.run import Threshold
from aecli.console import console, say
from aecli.errors import ConfigError
from aecli.evaluation.detection import (
    detection_metrics,
    f1_optimal_threshold,
    histogram,
    threshold_free_metrics,
)
from aecli.rundir.atomic import write_json
from aecli.rundir.layout import RunFolder


def detect(settings, folder: RunFolder, overrides: list[str]) -> dict:
    """Train on normal data, then score and threshold the test split with the model in memory;
    writes anomaly.json and the histogram, and returns the metrics (train's and test_* headline).
    `overrides`: the run's command line."""
    from aecli.train import train

    return train(
        settings,
        folder,
        overrides,
        on_data=lambda arrays: describe_splits(settings, arrays),
        then=lambda run: _detection(settings, run),
    )


def describe_splits(settings, arrays) -> None:
    """Say how many examples of each kind went where, before training; refuse a labelled-validation
    figure that the data cannot give (the config check cannot see into a CSV's or .npz's labels)."""
    counts = arrays.split_counts()
    if counts["labelled"]:
        line = (
            f"normal label {arrays.normal_label}: train {counts['train_normal']:,} normal · "
            f"val {counts['val_normal']:,} normal + {counts['val_anomalous']:,} anomalies · "
            f"test {counts['test_normal']:,} + {counts['test_anomalous']:,}"
        )
        if counts["anomalies_left_out"]:
            line += f" · {counts['anomalies_left_out']:,} anomalies left out"
    else:
        line = (
            f"unlabelled: train {counts['train_normal']:,} · val {counts['val_normal']:,} · "
            f"test {counts['test_normal']:,} (every label is 0, so every row trains)"
        )
    say(line)
    needs = settings.labelled_validation_needs()
    if needs and arrays.val_anomalies is None:
        raise ConfigError(settings.no_labelled_anomalies(needs))


def _detection(settings, run) -> dict:
    arrays = run.arrays
    normal_label = arrays.normal_label
    anomalous = np.zeros(len(arrays.test.y), bool)  # unlabelled: none known to be anomalous
    if normal_label is not None:
        anomalous = arrays.test.y != normal_label
    samples = settings.anomaly.elbo_samples
    val_scores = run.model.anomaly_scores(arrays.val.x, samples)
    test_scores = run.model.anomaly_scores(arrays.test.x, samples)
    primary = settings.anomaly.score.value
    rule = settings.anomaly.threshold
    report = {
        "normal_label": None if normal_label is None else int(normal_label),
        "threshold_rule": rule.value,
        "percentile": settings.anomaly.percentile if rule == Threshold.percentile else None,
        "contamination": settings.anomaly.contamination
        if rule == Threshold.contamination
        else None,
        "score": primary,
        "split_counts": arrays.split_counts(),
        "test_normal": int((~anomalous).sum()),
        "test_anomalous": int(anomalous.sum()),
    }
    labelled = None
    if arrays.val_anomalies is not None:
        labelled_y = np.r_[
            np.zeros(len(arrays.val.x), bool), np.ones(len(arrays.val_anomalies), bool)
        ]
        labelled_scores = run.model.anomaly_scores(
            np.concatenate([arrays.val.x, arrays.val_anomalies]), samples
        )
        labelled = labelled_y, labelled_scores
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
        elif rule == Threshold.contamination:
            threshold = float(np.quantile(val_scores[name], 1 - settings.anomaly.contamination))
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
        for key in ("roc_auc", "pr_auc", "precision", "recall", "f1", "flagged")
    }
    headline["split_counts"] = report["split_counts"]
    if labelled is not None:  # what `anomaly.objective` may hand a hyperparameter search
        headline |= {
            f"val_{key}": report[primary][f"validation_{key}"] for key in ("roc_auc", "pr_auc")
        }
    return headline


def _print(report: dict, folder: RunFolder) -> None:
    labelled = report["test_anomalous"] > 0
    title = (
        f"anomaly detection, normal label {report['normal_label']}: "
        f"{report['test_normal']} normal, {report['test_anomalous']} anomalous test examples"
        if labelled
        else f"anomaly detection: {report['test_normal']} test examples without anomaly labels"
    )
    table = Table(title=title)
    columns = ["score", "threshold", "flagged"]
    if labelled:
        columns += ["ROC-AUC", "PR-AUC", "precision", "recall", "F1", "TN FP FN TP"]
    for column in columns:
        table.add_column(column, justify="right")
    for name in ("recon", "neg_elbo"):
        if name in report:
            r = report[name]
            row = [name + (" *" if name == report["score"] else ""), f"{r['threshold']:.4g}"]
            row.append(str(r["flagged"]))
            if labelled:
                c = r["confusion"]
                row += [
                    f"{r['roc_auc']:.4f}",
                    f"{r['pr_auc']:.4f}",
                    f"{r['precision']:.3f}",
                    f"{r['recall']:.3f}",
                    f"{r['f1']:.3f}",
                    f"{c['true_negative']} {c['false_positive']} "
                    f"{c['false_negative']} {c['true_positive']}",
                ]
            table.add_row(*row)
    console.print(table)
    if report["threshold_rule"] == Threshold.percentile.value:
        rule = f"the {report['percentile']:g}th percentile of normal validation scores"
    elif report["threshold_rule"] == Threshold.contamination.value:
        rule = (
            f"the {1 - report['contamination']:.4g} quantile of validation scores "
            f"(contamination {report['contamination']:g})"
        )
    else:
        rule = (
            f"the F1-optimal score on {report['validation_normal']} normal and "
            f"{report['validation_anomalous']} anomalous validation examples"
        )
    console.print(
        f"* flags above {rule}; wrote {folder.anomaly_report} and {folder.anomaly_histogram}"
    )
