"""Supervised disentanglement metrics of a representation against ground-truth factors.

Every metric takes `codes`, an (n, d) float array (one code per example, e.g. the posterior
means), and `factors`, an (n, k) integer array (the class index of each ground-truth factor,
e.g. dSprites' latents_classes without colour), and returns a score in [0, 1].

The protocols follow disentanglement_lib (Locatello et al. 2019, "Challenging Common
Assumptions in the Unsupervised Learning of Disentangled Representations";
github.com/google-research/disentanglement_lib, evaluation/metrics/ and the sample sizes of
config/unsupervised_study_v1/metric_configs/), re-implemented here on a fixed set of points
instead of a ground-truth sampler; each function's docstring names the reference function it
follows and where it departs from it:

- `mig`: Mutual Information Gap (Chen et al. 2018, "Isolating Sources of Disentanglement in
  VAEs"), disentanglement_lib's mig.py `_compute_mig`.
- `sap`: Separated Attribute Predictability (Kumar et al. 2018, "Variational Inference of
  Disentangled Latent Concepts from Unlabeled Observations"), sap_score.py `_compute_sap`.
- `dci`: Disentanglement, Completeness, Informativeness (Eastwood & Williams 2018, "A Framework
  for the Quantitative Evaluation of Disentangled Representations"), dci.py `_compute_dci`.
- `factor_vae_score`: the FactorVAE metric (Kim & Mnih 2018, "Disentangling by Factorising"),
  factor_vae.py `compute_factor_vae`.
- `sampled_mig_scores`: MIG as Chen et al.'s own code estimates it (github.com/rtqichen/
  beta-tcvae, disentanglement_metrics.py `mutual_info_metric_shapes`), from samples of a
  Gaussian posterior q(z|x) instead of binned means: the estimator behind their published
  dSprites figures.

Where disentanglement_lib draws fresh train and test samples from the generator, the metrics
here split the given points with a seeded permutation (`train_test_split`), as
disentanglement_lib's `*_on_fixed_data` variants split a fixed set.
"""

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn import ensemble, metrics, svm

# disentanglement_lib's sample sizes for the classifier-based metrics (dci.gin, sap_score.gin,
# factor_vae_metric.gin): points to train on, points to test on
NUM_TRAIN = 10_000
NUM_TEST = 5_000
# DCI's importance matrix: disentanglement_lib's gradient-boosted trees (the reference), or
# extremely randomised trees (minutes faster; reported under their own names, `dci_names`)
DCI_ESTIMATORS = ("gbt", "extra_trees")
# Chen et al.'s dSprites MIG (`mutual_info_metric_shapes`) averages scale, orientation, posX and
# posY: every factor but this one
CHEN_LEFT_OUT = "shape"


def dci_names(estimator="gbt"):
    """The keys of DCI's three scores: `dci_*` for the reference gradient-boosted trees,
    `dci_extra_trees_*` for extra-trees, so that the two are never averaged or compared as one."""
    prefix = "dci_" if estimator == "gbt" else f"dci_{estimator}_"
    return tuple(
        f"{prefix}{part}" for part in ("disentanglement", "completeness", "informativeness")
    )


def metric_names(dci_estimator="gbt"):
    """The scores `all_metrics` reports first, in order (then the gap of each factor,
    `mig_<factor>`)."""
    return ("mig", "sap", *dci_names(dci_estimator), "factor_vae_score")


def _check(codes, factors):
    codes = np.asarray(codes, dtype=np.float64)
    factors = np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2 or codes.shape[0] != factors.shape[0]:
        raise ValueError(
            f"codes (n, d) and factors (n, k) must share n; got {codes.shape} and {factors.shape}"
        )
    if not np.issubdtype(factors.dtype, np.integer):
        raise ValueError(f"factors must be integer class indices, got dtype {factors.dtype}")
    return codes, factors.astype(np.int64)


def train_test_split(n, seed, num_train=NUM_TRAIN, num_test=NUM_TEST):
    """Indices (train, test) of a seeded random split of n points: `num_train` and `num_test`
    of them (disentanglement_lib's 10,000 and 5,000) where n holds both, else all n points in
    the same proportion (n = 12,000: 8,000 and 4,000)."""
    order = np.random.default_rng([seed, 7]).permutation(n)
    if n < num_train + num_test:
        num_train = math.ceil(n * num_train / (num_train + num_test))
        num_test = n - num_train
    return order[:num_train], order[num_train : num_train + num_test]


def histogram_discretize(codes, bins=20):
    """Each column of (n, d) codes mapped to bin indices 1..bins of `bins` equal-width bins over
    [min, max] of that column (disentanglement_lib's histogram discretiser: np.digitize against
    the left edges, so the maximum lands in the last bin). A constant column is all one bin."""
    codes = np.asarray(codes, dtype=np.float64)
    out = np.empty(codes.shape, dtype=np.int64)
    for j in range(codes.shape[1]):
        edges = np.histogram_bin_edges(codes[:, j], bins)
        out[:, j] = np.digitize(codes[:, j], edges[:-1])
    return out


def discrete_mutual_info(a, b):
    """(d, k) matrix of I(a_i; b_j) in nats between the columns of two (n, d), (n, k) integer
    arrays, from their empirical joint distribution (sklearn.metrics.mutual_info_score)."""
    return np.array(
        [
            [metrics.mutual_info_score(b[:, j], a[:, i]) for j in range(b.shape[1])]
            for i in range(a.shape[1])
        ]
    )


def discrete_entropy(factors):
    """H(v_j) in nats of each column of an (n, k) integer array: I(v_j; v_j)."""
    return np.array([metrics.mutual_info_score(f, f) for f in np.asarray(factors).T])


def mig_per_factor(codes, factors, bins=20):
    """The Mutual Information Gap of each factor (Chen et al. 2018), as disentanglement_lib's
    mig.py `_compute_mig` computes it before averaging: a (k,) array.

    Each latent z_i is discretised into `bins` equal-width bins over its range (utils.py
    `_histogram_discretize`, 20 bins in mig.gin); then, with the empirical discrete mutual
    information I(z_i; v_k) and factor entropy H(v_k), both in nats (utils.py
    `discrete_mutual_info`, `discrete_entropy`),

        MIG_k = [I(z_(1); v_k) - I(z_(2); v_k)] / H(v_k),

    where z_(1), z_(2) are the latents with the largest and second-largest MI with v_k. Departures:
    the given points, all of them, where disentanglement_lib samples 10,000; with a single latent
    the gap is its MI (disentanglement_lib needs two); NaN for a factor that takes a single value
    (H = 0), which the mean then leaves out. A perfect code of a factor with more than `bins`
    values cannot reach 1: I(z; v_k) <= log(bins) < H(v_k) (dSprites' 40 orientations:
    log 20 / log 40 = 0.81).
    """
    codes, factors = _check(codes, factors)
    return normalised_gaps(
        discrete_mutual_info(histogram_discretize(codes, bins), factors), factors
    )


def normalised_gaps(mi, factors):
    """Each factor's MIG from the (d, k) mutual informations I(z_j; v_k): the gap between its
    two most informative latents (one latent: its MI) over the empirical H(v_k); NaN where
    H(v_k) = 0."""
    entropy = discrete_entropy(factors)
    ranked = np.sort(mi, axis=0)[::-1]
    second = ranked[1] if len(ranked) > 1 else np.zeros_like(ranked[0])
    gap = np.full(len(entropy), np.nan)
    varies = entropy > 0
    gap[varies] = (ranked[0] - second)[varies] / entropy[varies]
    return gap


def mig(codes, factors, bins=20):
    """Mutual Information Gap (Chen et al. 2018), disentanglement_lib's `discrete_mig`: the
    mean of `mig_per_factor` over every factor that varies (NaN if none does).

    Chen et al.'s own dSprites figure is another number: it leaves shape out (the mean over
    scale, orientation, x and y) and estimates I(z_i; v_k) from samples of q(z|x) over the whole
    grid instead of binned posterior means (`sampled_mig_scores`).
    """
    return _mean_gap(mig_per_factor(codes, factors, bins))


def _mean_gap(gaps):
    """MIG from the per-factor gaps: their mean over the factors that vary (NaN if none does)."""
    gaps = np.asarray(gaps, dtype=np.float64)
    return float(np.nanmean(gaps)) if not np.isnan(gaps).all() else float("nan")


def sap_score_matrix(codes, factors, seed=0, continuous=False):
    """(d, k) matrix S[i, j] of how well latent z_i alone predicts factor v_j: disentanglement_lib's
    sap_score.py `compute_score_matrix`, on the points of `train_test_split` (sap_score.gin's
    10,000 train and 5,000 test points where the given points hold them).

    Discrete (sap_score.gin's continuous_factors=False): the test accuracy of a linear SVM
    (sklearn LinearSVC, C=0.01, balanced class weights, one-vs-rest) trained on the train points.
    Continuous (Kumar et al.'s regression variant): the squared correlation
    Cov(z_i, v_j)^2 / (Var z_i Var v_j) on the train points, 0 for a constant latent.
    Departure: a factor with a single value in the train points scores the share of test points
    with that value (the SVM cannot be fitted on one class; disentanglement_lib raises).
    """
    codes, factors = _check(codes, factors)
    train, test = train_test_split(len(codes), seed)
    scores = np.zeros((codes.shape[1], factors.shape[1]))
    for i in range(codes.shape[1]):
        z_train, z_test = codes[train, i : i + 1], codes[test, i : i + 1]
        for j in range(factors.shape[1]):
            y_train, y_test = factors[train, j], factors[test, j]
            if continuous:
                cov = np.cov(z_train[:, 0], y_train, ddof=1)
                denominator = cov[0, 0] * cov[1, 1]
                scores[i, j] = cov[0, 1] ** 2 / denominator if cov[0, 0] > 1e-12 else 0.0
            elif len(np.unique(y_train)) < 2:  # nothing to separate: the one class is right
                scores[i, j] = np.mean(y_test == y_train[0])
            else:
                classifier = svm.LinearSVC(C=0.01, class_weight="balanced")
                classifier.fit(z_train, y_train)
                scores[i, j] = np.mean(classifier.predict(z_test) == y_test)
    return np.nan_to_num(scores)


def sap(codes, factors, seed=0, continuous=False):
    """SAP score (Kumar et al. 2018, sec. 3), by default disentanglement_lib's discrete variant
    (sap_score.py `_compute_sap`).

    SAP = (1/K) sum_j [S_(1)j - S_(2)j], the gap between the two most predictive latents of each
    factor in `sap_score_matrix`, averaged over factors (one latent: its S). Codes are not
    rescaled (as in disentanglement_lib; the SVM's C=0.01 assumes codes of roughly unit scale).
    A one-dimensional linear one-vs-rest classifier cannot carve a many-valued factor into its
    intervals, so even a perfect code scores well below 1 in the discrete variant (about 0.25 on
    dSprites' factors); the continuous variant gives such a code 1.
    """
    scores = np.sort(sap_score_matrix(codes, factors, seed, continuous), axis=0)
    if len(scores) < 2:
        return float(np.mean(scores[-1]))
    return float(np.mean(scores[-1] - scores[-2]))


def dci_random_state(seed, j):
    """The random_state of factor j's DCI classifier. For gradient-boosted trees it only breaks
    ties between splits that separate the same points (frequent in small nodes), which moves the
    importance a little; disentanglement_lib leaves it unset (a fresh draw each run)."""
    return int(np.random.default_rng([seed, j]).integers(2**31))


def _dci_classifier(estimator, random_state):
    if estimator == "gbt":
        # disentanglement_lib's GradientBoostingClassifier(): 100 stages of depth-3 trees, one
        # tree per class per stage
        return ensemble.GradientBoostingClassifier(random_state=random_state)
    if estimator == "extra_trees":
        return ensemble.ExtraTreesClassifier(
            n_estimators=50, max_features=None, max_depth=10, random_state=random_state
        )
    raise ValueError(f"unknown DCI estimator {estimator!r}; one of {', '.join(DCI_ESTIMATORS)}")


def dci_importance(train_codes, train_factors, test_codes, test_factors, estimator="gbt", seed=0):
    """(importance (d, k), train accuracy, test accuracy) of one classifier per factor predicting
    v_j from the whole code: R[i, j] = |impurity importance of z_i for v_j|, normalised to sum to
    1 per factor; the accuracies averaged over factors. disentanglement_lib's dci.py
    `compute_importance_gbt` with `estimator="gbt"`, to float precision.

    `estimator="extra_trees"`: extremely randomised trees (Geurts et al. 2006; sklearn
    ExtraTreesClassifier), 50 multi-class trees of depth <= 10, every latent a split candidate
    (max_features=None) as in GBT. Eastwood & Williams (2018) themselves use random forests and
    lasso; on imperfect codes extra-trees read D and C 12-45% lower than GBT (issue 30), so
    their scores carry their own names (`dci_names`). Gradient boosting fits 100 trees per class
    of each factor (11,300 for dSprites), minutes on 10,000 points where extra-trees take
    seconds; the factors are fitted in parallel threads (the trees release the GIL).
    """
    train_factors, test_factors = np.asarray(train_factors), np.asarray(test_factors)

    def fit(j):
        model = _dci_classifier(estimator, dci_random_state(seed, j))
        model.fit(train_codes, train_factors[:, j])
        return (
            np.abs(model.feature_importances_),
            np.mean(model.predict(train_codes) == train_factors[:, j]),
            np.mean(model.predict(test_codes) == test_factors[:, j]),
        )

    k = train_factors.shape[1]
    workers = max(1, min(k, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        fitted = list(pool.map(fit, range(k)))
    importance = np.stack([column for column, _, _ in fitted], axis=1)
    train_accuracy = float(np.mean([accuracy for _, accuracy, _ in fitted]))
    test_accuracy = float(np.mean([accuracy for _, _, accuracy in fitted]))
    return importance, train_accuracy, test_accuracy


def _one_minus_entropy(p, axis):
    """1 - H(P) / log(m) along `axis`, P the normalised (p + 1e-11) over that axis of length m
    (disentanglement_lib's scipy.stats.entropy(..., base=m) with its 1e-11 smoothing; m = 1,
    where its base-1 entropy divides by zero, gives 1)."""
    p = np.asarray(p, dtype=np.float64) + 1e-11
    m = p.shape[axis]
    if m < 2:
        return np.ones(p.shape[1 - axis])
    p = p / p.sum(axis=axis, keepdims=True)
    return 1.0 + np.sum(p * np.log(p), axis=axis) / math.log(m)


def _weighted_one_minus_entropy(importance, axis):
    """sum_i rho_i (1 - H(P_i)): `_one_minus_entropy` along `axis` of each latent (axis=1) or
    factor (axis=0), weighted by its share rho_i of the total importance (equal weights when
    the importance is all zero, as disentanglement_lib's np.ones_like)."""
    importance = np.asarray(importance, dtype=np.float64)
    scores = _one_minus_entropy(importance, axis=axis)
    shares = importance.sum(axis=axis)
    total = shares.sum()
    weights = shares / total if total > 0 else np.full(len(shares), 1 / len(shares))
    return float(np.sum(scores * weights))


def dci_disentanglement(importance):
    """D = sum_i rho_i D_i (Eastwood & Williams 2018, sec. 3; dci.py `disentanglement`):
    D_i = 1 - H_K(P_i.), P_ij = R_ij / sum_k R_ik the distribution of latent i's importance over
    the K factors (entropy in base K); rho_i = sum_j R_ij / sum R, so latents that matter for
    nothing weigh nothing."""
    return _weighted_one_minus_entropy(importance, axis=1)


def dci_completeness(importance):
    """C = sum_j rho_j C_j (dci.py `completeness`): C_j = 1 - H_D(P_.j), P_ij = R_ij / sum_i R_ij
    the distribution of factor j's importance over the D latents (entropy in base D);
    rho_j = sum_i R_ij / sum R. (Eastwood & Williams average C_j uniformly; disentanglement_lib
    weighs it as here.)"""
    return _weighted_one_minus_entropy(importance, axis=0)


def dci(codes, factors, seed=0, estimator="gbt"):
    """(disentanglement, completeness, informativeness) of Eastwood & Williams (2018), as
    disentanglement_lib's dci.py `_compute_dci` on the points of `train_test_split` (dci.gin's
    10,000 train and 5,000 test points where the given points hold them).

    From the importance matrix of `dci_importance` (gradient-boosted trees by default);
    informativeness is the test accuracy of the per-factor classifiers averaged over factors
    (disentanglement_lib's informativeness_test; the paper reports a prediction error instead,
    1 - this). Accuracy of an uninformative code is chance, mean_j 1/K_j for uniform factors.
    """
    codes, factors = _check(codes, factors)
    train, test = train_test_split(len(codes), seed)
    importance, _, test_accuracy = dci_importance(
        codes[train], factors[train], codes[test], factors[test], estimator, seed
    )
    return dci_disentanglement(importance), dci_completeness(importance), test_accuracy


def _factor_vae_batches(codes, factors, rng, num_votes, batch_size, encode):
    """(fixed factor of each vote (votes,), its batch of codes (votes, batch, d)): for each vote,
    factor j uniform, a value v_j of it from a random point, and `batch_size` codes sharing v_j."""
    n, k = factors.shape
    fixed = rng.integers(0, k, num_votes)
    anchors = rng.integers(0, n, num_votes)
    if encode is None:
        # points of the given set sharing the anchor's value of the fixed factor, with replacement
        members = np.empty((num_votes, batch_size), dtype=np.int64)
        for j in range(k):
            pick = fixed == j
            order = np.argsort(factors[:, j], kind="stable")
            values = factors[order, j]
            start = np.searchsorted(values, factors[anchors[pick], j], side="left")
            count = np.searchsorted(values, factors[anchors[pick], j], side="right") - start
            offset = (rng.random((pick.sum(), batch_size)) * count[:, None]).astype(np.int64)
            members[pick] = order[start[:, None] + offset]
        return fixed, codes[members]
    # the generator protocol: other factors drawn afresh (from the given points' factors)
    batch_factors = factors[rng.integers(0, n, (num_votes, batch_size))]
    batch_factors[np.arange(num_votes), :, fixed] = factors[anchors, fixed][:, None]
    flat = np.asarray(encode(batch_factors.reshape(-1, k)), dtype=np.float64)
    return fixed, flat.reshape(num_votes, batch_size, -1)


def factor_vae_votes(fixed, batches, scale, active, num_factors):
    """(k, d) vote counts of FactorVAE's majority-vote classifier (factor_vae.py
    `_generate_training_batch`): each batch votes (its fixed factor, the active latent of least
    variance within the batch relative to its global variance `scale**2`)."""
    local = np.var(batches[:, :, active] / scale[active], axis=1, ddof=1)
    argmin = np.flatnonzero(active)[np.argmin(local, axis=1)]
    votes = np.zeros((num_factors, batches.shape[2]), dtype=np.int64)
    np.add.at(votes, (fixed, argmin), 1)
    return votes


def majority_vote_accuracy(train_votes, eval_votes):
    """The accuracy on `eval_votes` of the classifier mapping each latent to the factor it got
    most `train_votes` for (factor_vae.py `compute_factor_vae`'s eval_accuracy)."""
    classifier = np.argmax(train_votes, axis=0)
    return float(eval_votes[classifier, np.arange(train_votes.shape[1])].sum() / eval_votes.sum())


def factor_vae_score(
    codes,
    factors,
    seed=0,
    batch_size=64,
    num_train=NUM_TRAIN,
    num_eval=NUM_TEST,
    prune_threshold=0.05,
    encode=None,
):
    """FactorVAE metric (Kim & Mnih 2018, sec. 4), disentanglement_lib's factor_vae.py
    `compute_factor_vae` with factor_vae_metric.gin's settings: the accuracy of a majority-vote
    classifier.

    1. Each latent's global standard deviation s_i over all the given codes (ddof=1); latents
       with s_i < `prune_threshold` (`_prune_dims`: 0.05 on the standard deviation) count as
       collapsed and are never chosen.
    2. A vote: pick a factor j uniformly, fix its value to that of a random point, take
       `batch_size` points that share it, and vote (j, argmin_i Var_batch[z_i] / s_i^2).
    3. The classifier maps each latent to the factor it got most of `num_train` votes for; the
       score is the fraction of `num_eval` fresh votes it classifies correctly. Chance is about
       1/K. No active latent scores 0.

    Departures: the global deviation is that of the given codes, not of 10,000 fresh samples;
    with `encode=None` a batch is drawn (with replacement) from the given points sharing the
    fixed value, not generated with the other factors resampled; for points sampled uniformly
    over the factor grid (as dSprites') the other factors of such a batch have the same
    distribution. Pass `encode(factor_classes) -> codes` to follow the generator protocol: batches
    then resample the other factors (from the rows of `factors`) and are encoded afresh.
    """
    codes, factors = _check(codes, factors)
    scale = codes.std(axis=0, ddof=1)
    active = scale >= prune_threshold
    if not active.any():
        return 0.0
    rng = np.random.default_rng([seed, 11])
    k = factors.shape[1]
    train_votes = factor_vae_votes(
        *_factor_vae_batches(codes, factors, rng, num_train, batch_size, encode), scale, active, k
    )
    eval_votes = factor_vae_votes(
        *_factor_vae_batches(codes, factors, rng, num_eval, batch_size, encode), scale, active, k
    )
    return majority_vote_accuracy(train_votes, eval_votes)


def all_metrics(codes, factors, seed=0, factor_names=(), dci_estimator="gbt"):
    """Every metric of this module on the same points, as floats keyed by
    `metric_names(dci_estimator)`, then `mig_<name>` for each factor (`factor_names`, else
    factor0, factor1, ...): the gaps that "mig" averages. Deterministic for a given seed."""
    codes, factors = _check(codes, factors)
    gaps = mig_scores(codes, factors, factor_names)
    return {
        "mig": gaps.pop("mig"),
        "sap": sap(codes, factors, seed),
        **dict(
            zip(dci_names(dci_estimator), dci(codes, factors, seed, dci_estimator), strict=True)
        ),
        "factor_vae_score": factor_vae_score(codes, factors, seed),
        **gaps,
    }


def mig_scores(codes, factors, factor_names=()):
    """{"mig": the MIG, "mig_<name>": the gap of each factor it averages}, the factors named by
    `factor_names`, else factor0, factor1, ...: MIG alone, cheap enough to follow every epoch."""
    codes, factors = _check(codes, factors)
    names = _factor_names(factors, factor_names)
    gaps = mig_per_factor(codes, factors)
    return {
        "mig": _mean_gap(gaps),
        **{f"mig_{name}": float(gap) for name, gap in zip(names, gaps, strict=True)},
    }


# samples per block of the aggregate-posterior densities, held as latents x samples x points
_DENSITY_BLOCK = 256
_LOG_2PI = math.log(2 * math.pi)


def aggregate_posterior_entropy(samples, means, log_vars):
    """H(z_j) = -E log q(z_j) in nats for each latent j, by Monte Carlo over `samples` (s, d)
    drawn from the posteriors, where q(z_j) = 1/n sum_i N(z_j; means[i, j], exp(log_vars[i, j]))
    is the aggregate posterior of the n points: Chen et al.'s `estimate_entropies`.

    Densities in float32, latent-major so that each log-sum-exp runs over contiguous memory
    (18 times faster than a (samples, points, latents) block on 10,000 points), summed in float64.
    """
    mean = np.ascontiguousarray(np.transpose(means), np.float32)  # (d, n)
    log_var = np.transpose(np.asarray(log_vars, np.float64))
    half_precision = np.ascontiguousarray(-0.5 * np.exp(-log_var), np.float32)
    offset = np.ascontiguousarray(-0.5 * (log_var + _LOG_2PI), np.float32)
    z = np.ascontiguousarray(np.transpose(samples), np.float32)  # (d, s)
    total = np.zeros(mean.shape[0])
    for start in range(0, z.shape[1], _DENSITY_BLOCK):
        log_density = z[:, start : start + _DENSITY_BLOCK, None] - mean[:, None, :]
        np.square(log_density, out=log_density)
        log_density *= half_precision[:, None, :]
        log_density += offset[:, None, :]
        peak = log_density.max(axis=2, keepdims=True)
        log_density -= peak
        np.exp(log_density, out=log_density)
        log_q = np.log(log_density.sum(axis=2)) + peak[..., 0] - math.log(mean.shape[1])
        total -= log_q.sum(axis=1, dtype=np.float64)
    return total / z.shape[1]


def posterior_samples(means, log_vars, seed=0):
    """One z_i ~ N(means[i], exp(log_vars[i])) per point, seeded: the draw `sampled_mig_scores`
    estimates from (Chen et al.'s `vae.q_dist.sample`)."""
    rng = np.random.default_rng([seed, 11])
    return means + np.exp(0.5 * np.asarray(log_vars, np.float64)) * rng.standard_normal(
        np.shape(means)
    )


def sampled_mutual_info(samples, means, log_vars, factors, seed=0, num_samples=10000):
    """(d, k) matrix of I(z_j; v_k) in nats, clipped at 0, estimated from posterior `samples`
    as Chen et al.'s disentanglement_metrics.py `mutual_info_metric_shapes`:

        I(z_j; v_k) = H(z_j) - sum_v p(v_k = v) H(z_j | v_k = v),

    each entropy by `aggregate_posterior_entropy` over the points concerned (all of them, or
    those with v_k = v), from at most `num_samples` of their samples drawn without replacement
    (seeded), as their `estimate_entropies`. Departure: p(v) is the share of the given points
    with that value (theirs: 1/K_k on the whole, uniform grid).
    """
    rng = np.random.default_rng([seed, 13])

    def entropy(rows):
        drawn = rows if len(rows) <= num_samples else rng.choice(rows, num_samples, replace=False)
        return aggregate_posterior_entropy(samples[drawn], means[rows], log_vars[rows])

    marginal = entropy(np.arange(len(means)))
    mi = np.zeros((means.shape[1], factors.shape[1]))
    for k in range(factors.shape[1]):
        values, counts = np.unique(factors[:, k], return_counts=True)
        conditional = sum(
            count / len(factors) * entropy(np.flatnonzero(factors[:, k] == value))
            for value, count in zip(values, counts, strict=True)
        )
        mi[:, k] = np.maximum(marginal - conditional, 0.0)
    return mi


def sampled_mig_per_factor(means, log_vars, factors, seed=0, num_samples=10000):
    """Each factor's Mutual Information Gap with I(z_j; v_k) estimated from one sample of each
    point's Gaussian posterior (`posterior_samples`, `sampled_mutual_info`), as Chen et al. (2018)
    compute the MIG of their published figures (metric_helpers/mi_metric.py
    `compute_metric_shapes`): a (k,) array, MIG_k = [I(z_(1); v_k) - I(z_(2); v_k)] / H(v_k), not
    clipped at 1 (Monte Carlo error can carry a perfect code a little past it).

    Departures: H(v_k) is the entropy of the given points' values (theirs: log K_k, the same on
    the whole grid); and Chen et al. estimate on the whole 737,280-image grid, here on the given
    points (on 10,000 dSprites points a posX value has about 310), so a latent's own sample weighs
    more in its conditional density, which biases the conditional entropies down and the MI up a
    little.
    """
    means, factors = _check(means, factors)
    log_vars = np.asarray(log_vars, np.float64)
    if log_vars.shape != means.shape:
        raise ValueError(f"log_vars {log_vars.shape} must match means {means.shape}")
    samples = posterior_samples(means, log_vars, seed)
    return normalised_gaps(
        sampled_mutual_info(samples, means, log_vars, factors, seed, num_samples), factors
    )


def sampled_mig_scores(means, log_vars, factors, seed=0, factor_names=()):
    """{"mig_sampled": Chen et al.'s figure, "mig_sampled_all": the mean over every factor,
    "mig_sampled_<name>": each factor's gap}: `sampled_mig_per_factor`, for codes with a
    Gaussian posterior.

    mig_sampled averages every factor but `shape` (CHEN_LEFT_OUT), as Chen et al.'s
    `mutual_info_metric_shapes` averages dSprites' scale, orientation, posX and posY: the number
    comparable with their published figures (on a factor set without `shape`, the same as
    mig_sampled_all)."""
    names = _factor_names(factors, factor_names)
    if "all" in names:
        raise ValueError(f"a factor named `all` would share its key with mig_sampled_all: {names}")
    gaps = sampled_mig_per_factor(means, log_vars, factors, seed)
    chen = np.array([name != CHEN_LEFT_OUT for name in names])
    return {
        "mig_sampled": _mean_gap(gaps[chen]),
        "mig_sampled_all": _mean_gap(gaps),
        **{f"mig_sampled_{name}": float(gap) for name, gap in zip(names, gaps, strict=True)},
    }


def _factor_names(factors, factor_names):
    """`factor_names`, else factor0, factor1, ...: one per column of `factors`."""
    names = list(factor_names) or [f"factor{j}" for j in range(np.shape(factors)[1])]
    if len(names) != np.shape(factors)[1]:
        raise ValueError(f"{len(names)} factor names for {np.shape(factors)[1]} factors: {names}")
    return names
