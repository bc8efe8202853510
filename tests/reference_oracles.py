"""The reference implementations of the disentanglement metrics, ported to NumPy and
scikit-learn as independent oracles for tests/unit/evaluation/test_disentanglement_parity.py.

Each function follows one function of the reference code line for line, in its own array layout
(disentanglement_lib's (dims, points); Chen et al.'s (latents, samples)), and shares nothing with
aecli/evaluation/disentanglement.py:

- google-research/disentanglement_lib, disentanglement_lib/evaluation/metrics/ (commit 86a644d):
  utils.py `_histogram_discretize`, `discrete_mutual_info`, `discrete_entropy`; mig.py
  `_compute_mig`; sap_score.py `compute_score_matrix`, `compute_avg_diff_top_two`; dci.py
  `compute_importance_gbt`, `disentanglement`, `completeness`; factor_vae.py `_prune_dims`,
  `_generate_training_sample`, `_generate_training_batch`, `compute_factor_vae`; sample sizes
  and thresholds from config/unsupervised_study_v1/metric_configs/*.gin.
- rtqichen/beta-tcvae (commit of its master branch): disentanglement_metrics.py
  `estimate_entropies`, `mutual_info_metric_shapes`; metric_helpers/mi_metric.py
  `compute_metric_shapes`, with lib/dist.py `Normal.log_density` (PyTorch there, NumPy here).
"""

import numpy as np
import scipy.stats
import sklearn.metrics
from scipy.special import logsumexp
from sklearn import svm
from sklearn.ensemble import GradientBoostingClassifier

# --- disentanglement_lib: utils.py (arrays are (num_codes or num_factors, num_points))


def histogram_discretize(target, num_bins=20):
    discretized = np.zeros_like(target)
    for i in range(target.shape[0]):
        discretized[i, :] = np.digitize(target[i, :], np.histogram(target[i, :], num_bins)[1][:-1])
    return discretized


def discrete_mutual_info(mus, ys):
    m = np.zeros([mus.shape[0], ys.shape[0]])
    for i in range(mus.shape[0]):
        for j in range(ys.shape[0]):
            m[i, j] = sklearn.metrics.mutual_info_score(ys[j, :], mus[i, :])
    return m


def discrete_entropy(ys):
    h = np.zeros(ys.shape[0])
    for j in range(ys.shape[0]):
        h[j] = sklearn.metrics.mutual_info_score(ys[j, :], ys[j, :])
    return h


# --- disentanglement_lib: mig.py


def compute_mig(mus_train, ys_train):
    """`_compute_mig`'s discrete_mig (mig.gin: histogram discretizer, 20 bins)."""
    m = discrete_mutual_info(histogram_discretize(mus_train, 20), ys_train)
    entropy = discrete_entropy(ys_train)
    sorted_m = np.sort(m, axis=0)[::-1]
    return np.mean(np.divide(sorted_m[0, :] - sorted_m[1, :], entropy[:]))


# --- disentanglement_lib: sap_score.py


def compute_sap(mus, ys, mus_test, ys_test, continuous_factors):
    """`_compute_sap`'s SAP_score: `compute_score_matrix`, then `compute_avg_diff_top_two`."""
    score_matrix = np.zeros([mus.shape[0], ys.shape[0]])
    for i in range(mus.shape[0]):
        for j in range(ys.shape[0]):
            mu_i = mus[i, :]
            y_j = ys[j, :]
            if continuous_factors:
                cov_mu_i_y_j = np.cov(mu_i, y_j, ddof=1)
                cov_mu_y = cov_mu_i_y_j[0, 1] ** 2
                var_mu = cov_mu_i_y_j[0, 0]
                var_y = cov_mu_i_y_j[1, 1]
                score_matrix[i, j] = cov_mu_y / (var_mu * var_y) if var_mu > 1e-12 else 0.0
            else:
                classifier = svm.LinearSVC(C=0.01, class_weight="balanced")
                classifier.fit(mu_i[:, np.newaxis], y_j)
                pred = classifier.predict(mus_test[i, :][:, np.newaxis])
                score_matrix[i, j] = np.mean(pred == ys_test[j, :])
    sorted_matrix = np.sort(score_matrix, axis=0)
    return np.mean(sorted_matrix[-1, :] - sorted_matrix[-2, :])


# --- disentanglement_lib: dci.py


def compute_importance_gbt(x_train, y_train, x_test, y_test, random_states=None):
    """`compute_importance_gbt`; `random_states` (one per factor) where disentanglement_lib
    leaves GradientBoostingClassifier's unset: it breaks ties between splits that separate the
    same points, so only the same states give the same importance to float precision."""
    importance_matrix = np.zeros(shape=[x_train.shape[0], y_train.shape[0]], dtype=np.float64)
    train_loss, test_loss = [], []
    for i in range(y_train.shape[0]):
        model = GradientBoostingClassifier(
            random_state=None if random_states is None else random_states[i]
        )
        model.fit(x_train.T, y_train[i, :])
        importance_matrix[:, i] = np.abs(model.feature_importances_)
        train_loss.append(np.mean(model.predict(x_train.T) == y_train[i, :]))
        test_loss.append(np.mean(model.predict(x_test.T) == y_test[i, :]))
    return importance_matrix, np.mean(train_loss), np.mean(test_loss)


def disentanglement(importance_matrix):
    per_code = 1.0 - scipy.stats.entropy(
        importance_matrix.T + 1e-11, base=importance_matrix.shape[1]
    )
    if importance_matrix.sum() == 0.0:
        importance_matrix = np.ones_like(importance_matrix)
    code_importance = importance_matrix.sum(axis=1) / importance_matrix.sum()
    return np.sum(per_code * code_importance)


def completeness(importance_matrix):
    per_factor = 1.0 - scipy.stats.entropy(
        importance_matrix + 1e-11, base=importance_matrix.shape[0]
    )
    if importance_matrix.sum() == 0.0:
        importance_matrix = np.ones_like(importance_matrix)
    factor_importance = importance_matrix.sum(axis=0) / importance_matrix.sum()
    return np.sum(per_factor * factor_importance)


def compute_dci(mus_train, ys_train, mus_test, ys_test, random_states=None):
    """`_compute_dci`: {informativeness_train, informativeness_test, disentanglement,
    completeness} and, for the tests, the importance matrix."""
    importance_matrix, train_err, test_err = compute_importance_gbt(
        mus_train, ys_train, mus_test, ys_test, random_states
    )
    return {
        "importance_matrix": importance_matrix,
        "informativeness_train": train_err,
        "informativeness_test": test_err,
        "disentanglement": disentanglement(importance_matrix),
        "completeness": completeness(importance_matrix),
    }


# --- disentanglement_lib: factor_vae.py, with factor_vae_metric.gin's settings


def prune_dims(variances, threshold=0.05):
    """`_prune_dims` (prune_dims.threshold = 0.05 in factor_vae_metric.gin)."""
    scale_z = np.sqrt(variances)
    return scale_z >= threshold


def vote(representations, global_variances, active_dims):
    """The argmin of `_generate_training_sample` for one batch's representations (batch, d): an
    index among the active dimensions, as disentanglement_lib stores it."""
    local_variances = np.var(representations, axis=0, ddof=1)
    return np.argmin(local_variances[active_dims] / global_variances[active_dims])


def votes_of_batches(factor_indices, batches, global_variances, active_dims, num_factors):
    """`_generate_training_batch`'s vote counts for given (factor index, batch) pairs."""
    votes = np.zeros((num_factors, global_variances.shape[0]), dtype=np.int64)
    for factor_index, representations in zip(factor_indices, batches, strict=True):
        votes[factor_index, vote(representations, global_variances, active_dims)] += 1
    return votes


def eval_accuracy(training_votes, eval_votes):
    """`compute_factor_vae`'s classifier and eval_accuracy."""
    classifier = np.argmax(training_votes, axis=0)
    other_index = np.arange(training_votes.shape[1])
    return np.sum(eval_votes[classifier, other_index]) * 1.0 / np.sum(eval_votes)


def compute_factor_vae(
    factor_sizes,
    representation_function,
    random_state,
    batch_size=64,
    num_train=10000,
    num_eval=5000,
    num_variance_estimate=10000,
):
    """`compute_factor_vae` with a ground-truth sampler drawing each factor uniformly over its
    classes (dSprites' `sample_factors`) and `representation_function(factor_classes)` as the
    encoder of the observations those factors generate."""
    num_factors = len(factor_sizes)

    def sample_factors(num):
        return np.stack([random_state.randint(size, size=num) for size in factor_sizes], axis=1)

    def generate_batch(num_points):
        votes = np.zeros((num_factors, global_variances.shape[0]), dtype=np.int64)
        for _ in range(num_points):
            factor_index = random_state.randint(num_factors)
            factors = sample_factors(batch_size)
            factors[:, factor_index] = factors[0, factor_index]
            representations = representation_function(factors)
            votes[factor_index, vote(representations, global_variances, active_dims)] += 1
        return votes

    global_variances = np.var(
        representation_function(sample_factors(num_variance_estimate)), axis=0, ddof=1
    )
    active_dims = prune_dims(global_variances)
    if not active_dims.any():
        return 0.0
    training_votes = generate_batch(num_train)
    return eval_accuracy(training_votes, generate_batch(num_eval))


# --- rtqichen/beta-tcvae: disentanglement_metrics.py and metric_helpers/mi_metric.py


def log_density(sample, mu, logsigma):
    """lib/dist.py `Normal.log_density`."""
    tmp = (sample - mu) * np.exp(-logsigma)
    return -0.5 * (tmp * tmp + 2 * logsigma + np.log(2 * np.pi))


def estimate_entropies(qz_samples, mu, logsigma, rng, n_samples=10000):
    """E_{q(z_j|x)}[-log q(z_j)] of each latent j, q(z_j) = 1/N sum_n q(z_j|x_n): qz_samples
    (K, N) of the N points, mu and logsigma (N, K); `n_samples` samples drawn without
    replacement (`torch.randperm`)."""
    qz_samples = qz_samples[:, rng.permutation(qz_samples.shape[1])[:n_samples]]
    num_latents, num_drawn = qz_samples.shape
    weights = -np.log(mu.shape[0])
    entropies = np.zeros(num_latents)
    for k in range(0, num_drawn, 10):
        logqz_i = log_density(
            qz_samples[None, :, k : k + 10], mu[:, :, None], logsigma[:, :, None]
        )  # (N, K, batch)
        entropies += -logsumexp(logqz_i + weights, axis=0).sum(axis=1)
    return entropies / num_drawn


def compute_metric(marginal_entropies, cond_entropies, factor_sizes):
    """`compute_metric_shapes` for the factors of `cond_entropies` (theirs: scale, orientation,
    posX, posY with factor_entropies = [6, 40, 32, 32]): MIG = the mean normalised gap."""
    mutual_infos = marginal_entropies[None] - cond_entropies
    mutual_infos = np.clip(np.sort(mutual_infos, axis=1)[:, ::-1], 0, None)
    mi_normed = mutual_infos / np.log(np.asarray(factor_sizes, dtype=np.float64))[:, None]
    return np.mean(mi_normed[:, 0] - mi_normed[:, 1])


def mutual_info_metric_shapes(qz_samples, mu, logsigma, grid_sizes, factors, rng):
    """`mutual_info_metric_shapes` on a whole factor grid: qz_samples, mu and logsigma (N, K) in
    the grid's C order (N = prod(grid_sizes)); the conditional entropies of each factor in
    `factors` (theirs: 1, 2, 3, 4 of dSprites' shape, scale, orientation, posX, posY), each
    averaged over the factor's values with weight 1/K. Returns (MIG, marginal entropies (K,),
    conditional entropies (len(factors), K))."""
    num_points, num_latents = mu.shape
    marginal = estimate_entropies(qz_samples.T, mu, logsigma, rng)
    shaped = [a.reshape(*grid_sizes, num_latents) for a in (qz_samples, mu, logsigma)]
    cond = np.zeros((len(factors), num_latents))
    for row, factor in enumerate(factors):
        size = grid_sizes[factor]
        for i in range(size):
            s, m, ls = (np.take(a, i, axis=factor).reshape(-1, num_latents) for a in shaped)
            cond[row] += estimate_entropies(s.T, m, ls, rng) / size
    metric = compute_metric(marginal, cond, [grid_sizes[f] for f in factors])
    return metric, marginal, cond
