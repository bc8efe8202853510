"""Anomaly detection figures from scores: a threshold from normal data, then ROC-AUC, PR-AUC,
precision, recall, F1 and the confusion matrix, and the score histogram."""

from pathlib import Path

import numpy as np

from aecli.rundir.atomic import save_figure


def threshold_free_metrics(anomalous: np.ndarray, score: np.ndarray) -> dict:
    """ROC-AUC and PR-AUC (average precision) of the scores themselves, anomalies positive."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    return {
        "roc_auc": float(roc_auc_score(anomalous, score)),
        "pr_auc": float(average_precision_score(anomalous, score)),
    }


def detection_metrics(anomalous: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    """The count flagged (`score > threshold`) and, where the labels hold both normal and
    anomalous examples, the threshold-free (ROC-AUC, PR-AUC) and thresholded (precision, recall,
    F1, confusion) figures; None for each of those where they do not (unlabelled data)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    flagged = score > threshold
    if len(np.unique(anomalous)) < 2:
        return {
            "flagged": int(flagged.sum()),
            **dict.fromkeys(("roc_auc", "pr_auc", "precision", "recall", "f1", "confusion")),
        }
    precision, recall, f1, _ = precision_recall_fscore_support(
        anomalous, flagged, average="binary", zero_division=0
    )
    (tn, fp), (fn, tp) = confusion_matrix(anomalous, flagged, labels=[False, True])
    return {
        "flagged": int(flagged.sum()),
        **threshold_free_metrics(anomalous, score),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "confusion": {
            "true_negative": int(tn),
            "false_positive": int(fp),
            "false_negative": int(fn),
            "true_positive": int(tp),
        },
    }


def f1_optimal_threshold(anomalous: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """The threshold maximising F1 on a labelled set, and that F1, from scikit-learn's
    precision-recall curve. The curve flags `score >= t`, detection_metrics `score > threshold`:
    the threshold returned lies halfway between the best t and the next lower score, so both
    flag the same examples, with room on either side for unseen scores."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(anomalous, score)
    precision, recall = precision[:-1], recall[:-1]
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    best = int(np.argmax(f1))
    t = thresholds[best]
    below = score[score < t]
    threshold = (t + below.max()) / 2 if below.size else np.nextafter(t, -np.inf)
    return float(threshold), float(f1[best])


def histogram(
    path: Path, score: np.ndarray, anomalous: np.ndarray, threshold: float, name: str
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4.5))
    bins = np.histogram_bin_edges(score, bins=60)
    axis.hist(score[~anomalous], bins=bins, alpha=0.7, label="normal", color="tab:green")
    axis.hist(score[anomalous], bins=bins, alpha=0.7, label="anomalous", color="tab:red")
    axis.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.4g}")
    axis.set_xlabel(f"anomaly score ({name})")
    axis.set_ylabel("test examples")
    axis.set_yscale("log")
    axis.legend()
    figure.tight_layout()
    try:
        save_figure(figure, path, dpi=120)
    finally:
        plt.close(figure)
