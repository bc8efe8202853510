"""The chapter's tabular anomaly data, generated from the seed and standardised on normal training rows.

- transactions (mini project 2): 29 Gaussian features with per-feature scales plus a log-normal
  amount; frauds (1 per 200 normal) have wider scales, a +2 shift and larger amounts. Label 1 = fraud.
- network_traffic (case study 2, "Jio"): 20 flow features ~ N(5, 1) for normal traffic; DDoS
  ~ N(15, 3^2) (label 1) and port scans ~ N(0.5, 0.1^2) (label 2), 1 each per 50 normal flows.

Training gets 80% of the normal rows only (an anomaly detector learns normal behaviour); test gets
the other normal rows and every anomaly. Features are standardised with the mean and std of the
normal training rows, as the chapter's StandardScaler does.
"""

import numpy as np

NORMAL_SCALES = np.array([1.5, 0.8, 1.2, 0.5, 0.9, 1.1, 0.7, 0.6, 1.0, 0.8, 0.9, 1.3, 0.4, 0.7, 0.8, 1.0, 0.5, 0.6,
                          0.9, 1.1, 0.7, 0.8, 0.6, 0.9, 1.0, 0.8, 0.7, 0.5, 0.3])
FRAUD_SCALES = np.array([3.0, 2.5, 3.0, 2.0, 2.5, 3.0, 2.0, 1.5, 2.5, 2.0, 2.5, 3.0, 1.5, 2.0, 2.5, 3.0, 1.5, 2.0,
                         2.5, 3.0, 2.0, 2.5, 2.0, 2.5, 3.0, 2.5, 2.0, 1.5, 1.0])


def _transactions(rng, n_normal):
    n_fraud = max(5, n_normal // 200)
    normal = np.column_stack([rng.normal(size=(n_normal, 29)) * NORMAL_SCALES, rng.lognormal(3.0, 1.0, n_normal)])
    fraud = np.column_stack([rng.normal(size=(n_fraud, 29)) * FRAUD_SCALES + 2, rng.lognormal(5.0, 1.5, n_fraud)])
    return normal, [(fraud, 1)]


def _network_traffic(rng, n_normal):
    n_attack = max(5, n_normal // 50)
    normal = rng.normal(size=(n_normal, 20)) + 5
    ddos = rng.normal(size=(n_attack, 20)) * 3 + 15
    scan = rng.normal(size=(n_attack, 20)) * 0.1 + 0.5
    return normal, [(ddos, 1), (scan, 2)]


GENERATORS = {"transactions": _transactions, "network_traffic": _network_traffic}


def generate(kind: str, size: int, seed: int):
    """(x_train, y_train, x_test, y_test), float32, `size` normal rows in all."""
    rng = np.random.default_rng([seed, 2025])
    normal, anomalies = GENERATORS[kind](rng, size)
    n_train = int(0.8 * size)
    x_train, x_test_normal = normal[:n_train], normal[n_train:]
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_test = np.concatenate([x_test_normal, *(rows for rows, _ in anomalies)])
    y_test = np.concatenate([np.zeros(len(x_test_normal), np.int64),
                             *(np.full(len(rows), label, np.int64) for rows, label in anomalies)])
    scale = lambda x: ((x - mean) / std).astype(np.float32)  # noqa: E731
    return scale(x_train), np.zeros(n_train, np.int64), scale(x_test), y_test
