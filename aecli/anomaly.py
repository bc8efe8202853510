"""Anomaly detection with a trained autoencoder: scores, a threshold from normal data, detection metrics.

Scores per example: `recon`, the mean squared reconstruction error over dimensions (the chapter's
score), and for VAEs `neg_elbo`, minus the ELBO averaged over posterior samples (nats). The
threshold is a percentile of the scores of NORMAL validation examples; test examples above it are
flagged. ROC-AUC and PR-AUC (average precision) use the scores themselves; precision, recall, F1
and the confusion matrix use the flags.
"""

import json
from pathlib import Path

import numpy as np
from rich.table import Table

from aecli.models import losses
from aecli.console import console
from aecli.models import VAE


def scores(model, x: np.ndarray, elbo_samples: int) -> dict[str, np.ndarray]:
    """Every score the model supports, per example."""
    from aecli.evaluation.likelihood import importance_weighted_bound

    recon = np.concatenate([np.asarray(losses.mse(x[i:i + 512], model.reconstruct(x[i:i + 512])))
                            for i in range(0, len(x), 512)])
    result = {"recon": recon}
    if isinstance(model, VAE):
        result["neg_elbo"] = -importance_weighted_bound(model, x, k=elbo_samples)[1]
    return result


def detection_metrics(anomalous: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    """Threshold-free (ROC-AUC, PR-AUC) and thresholded (precision, recall, F1, confusion) figures."""
    from sklearn.metrics import average_precision_score, confusion_matrix, precision_recall_fscore_support, roc_auc_score

    flagged = score > threshold
    precision, recall, f1, _ = precision_recall_fscore_support(anomalous, flagged, average="binary", zero_division=0)
    (tn, fp), (fn, tp) = confusion_matrix(anomalous, flagged, labels=[False, True])
    return {"roc_auc": float(roc_auc_score(anomalous, score)), "pr_auc": float(average_precision_score(anomalous, score)),
            "precision": float(precision), "recall": float(recall), "f1": float(f1),
            "confusion": {"true_negative": int(tn), "false_positive": int(fp), "false_negative": int(fn),
                          "true_positive": int(tp)}}


def histogram(path: Path, score: np.ndarray, anomalous: np.ndarray, threshold: float, name: str) -> None:
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
    figure.savefig(path, dpi=120)
    plt.close(figure)


def detect(settings, run_dir: Path) -> dict:
    """Train on normal data, score the test split, write anomaly.json, the histogram and test_* metrics."""
    from aecli.config.schema import AnomalyScore, VAEConfig
    from aecli.errors import ConfigError
    from aecli.evaluation.reload import load_run
    from aecli.train import train

    if settings.anomaly.score == AnomalyScore.neg_elbo and not isinstance(settings.model, VAEConfig):
        raise ConfigError(f"anomaly.score=neg_elbo needs a VAE (model=vae); use anomaly.score=recon for "
                          f"model={settings.model.name}.")
    train(settings, run_dir)
    run = load_run(run_dir)
    normal_label = settings.dataset.normal_class if settings.dataset.normal_class is not None else 0
    anomalous = run.arrays.test.y != normal_label
    val_scores = scores(run.model, run.arrays.val.x, settings.anomaly.elbo_samples)
    test_scores = scores(run.model, run.arrays.test.x, settings.anomaly.elbo_samples)
    primary = settings.anomaly.score.value
    report = {"normal_label": int(normal_label), "percentile": settings.anomaly.percentile, "score": primary,
              "test_normal": int((~anomalous).sum()), "test_anomalous": int(anomalous.sum())}
    for name in test_scores:
        threshold = float(np.percentile(val_scores[name], settings.anomaly.percentile))
        report[name] = {"threshold": threshold, **detection_metrics(anomalous, test_scores[name], threshold)}
    (run_dir / "anomaly.json").write_text(json.dumps(report, indent=2) + "\n")
    histogram(run_dir / "anomaly_scores.png", test_scores[primary], anomalous, report[primary]["threshold"], primary)
    headline = {f"test_{key}": report[primary][key] for key in ("roc_auc", "pr_auc", "precision", "recall", "f1")}
    metrics = {**json.loads((run_dir / "metrics.json").read_text()), **headline}
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    _print(report, run_dir)
    return headline


def _print(report: dict, run_dir: Path) -> None:
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
                  f"wrote {run_dir / 'anomaly.json'} and {run_dir / 'anomaly_scores.png'}")
