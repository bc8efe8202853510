"""The chapter's tabular anomaly data, generated from the seed and standardised on normal
training rows.

- transactions (mini project 2): 29 Gaussian features with per-feature scales plus a log-normal
  amount; frauds (1 per 200 normal) have wider scales, a +2 shift and larger amounts.
  Label 1 = fraud.
- network_traffic (case study 2, "Jio"): 20 flow features ~ N(5, 1) for normal traffic; DDoS
  ~ N(15, 3^2) (label 1) and port scans ~ N(0.5, 0.1^2) (label 2), 1 each per 50 normal flows.

Training gets 80% of the normal rows only (an anomaly detector learns normal behaviour); test gets
the other normal rows and every anomaly. The rows come out raw, with their column names: like a
user's CSV, they are standardised by `data.arrays.load_arrays` with the mean and std of the normal
training rows, as the chapter's StandardScaler does, and that standardisation is recorded with the
run so that `aecli predict` can apply it to new raw rows.

`validation_anomalies` draws a second, independent set of anomalies from the same distributions
(its own random stream, so never a test row): with the normal validation rows they form the
labelled validation split that `anomaly.threshold=f1_optimal` tunes its threshold on.
"""

import numpy as np

NORMAL_SCALES = np.array(
    [
        1.5,
        0.8,
        1.2,
        0.5,
        0.9,
        1.1,
        0.7,
        0.6,
        1.0,
        0.8,
        0.9,
        1.3,
        0.4,
        0.7,
        0.8,
        1.0,
        0.5,
        0.6,
        0.9,
        1.1,
        0.7,
        0.8,
        0.6,
        0.9,
        1.0,
        0.8,
        0.7,
        0.5,
        0.3,
    ]
)
FRAUD_SCALES = np.array(
    [
        3.0,
        2.5,
        3.0,
        2.0,
        2.5,
        3.0,
        2.0,
        1.5,
        2.5,
        2.0,
        2.5,
        3.0,
        1.5,
        2.0,
        2.5,
        3.0,
        1.5,
        2.0,
        2.5,
        3.0,
        2.0,
        2.5,
        2.0,
        2.5,
        3.0,
        2.5,
        2.0,
        1.5,
        1.0,
    ]
)


def _transactions(rng, n_normal):
    n_fraud = max(5, n_normal // 200)
    normal = np.column_stack(
        [rng.normal(size=(n_normal, 29)) * NORMAL_SCALES, rng.lognormal(3.0, 1.0, n_normal)]
    )
    fraud = np.column_stack(
        [rng.normal(size=(n_fraud, 29)) * FRAUD_SCALES + 2, rng.lognormal(5.0, 1.5, n_fraud)]
    )
    return normal, [(fraud, 1)]


def _network_traffic(rng, n_normal):
    n_attack = max(5, n_normal // 50)
    normal = rng.normal(size=(n_normal, 20)) + 5
    ddos = rng.normal(size=(n_attack, 20)) * 3 + 15
    scan = rng.normal(size=(n_attack, 20)) * 0.1 + 0.5
    return normal, [(ddos, 1), (scan, 2)]


GENERATORS = {"transactions": _transactions, "network_traffic": _network_traffic}


def column_names(kind: str) -> list[str]:
    """The generated columns: V1..V29 (the Gaussian features) and Amount for transactions, as in
    the credit-card data the chapter models; f1..f20 for network traffic."""
    if kind == "transactions":
        return [f"V{i}" for i in range(1, len(NORMAL_SCALES) + 1)] + ["Amount"]
    return [f"f{i}" for i in range(1, 21)]


def validation_anomalies(kind: str, size: int, seed: int, count: int | None = None):
    """(x, y): raw anomalies for tuning a threshold, drawn from a random stream of their own: as
    many as the test split holds, or a seeded random `count` of them (every kind of anomaly in
    proportion, in the order drawn)."""
    rng = np.random.default_rng([seed, 2026])
    _, anomalies = GENERATORS[kind](rng, size)
    x = np.concatenate([rows for rows, _ in anomalies])
    y = np.concatenate([np.full(len(rows), label, np.int64) for rows, label in anomalies])
    if count is not None and count < len(x):
        keep = np.sort(rng.choice(len(x), count, replace=False))
        x, y = x[keep], y[keep]
    return x, y


def generate(kind: str, size: int, seed: int):
    """(x_train, y_train, x_test, y_test), raw float64 rows, `size` normal rows in all."""
    normal, anomalies = GENERATORS[kind](np.random.default_rng([seed, 2025]), size)
    n_train = int(0.8 * size)
    x_train, x_test_normal = normal[:n_train], normal[n_train:]
    x_test = np.concatenate([x_test_normal, *(rows for rows, _ in anomalies)])
    y_test = np.concatenate(
        [
            np.zeros(len(x_test_normal), np.int64),
            *(np.full(len(rows), label, np.int64) for rows, label in anomalies),
        ]
    )
    return x_train, np.zeros(n_train, np.int64), x_test, y_test
