"""The chapter's losses as pure functions of tensors (keras.ops, so NumPy arrays work too).

Reduction convention: every `*_per_example` function sums over the data (or latent)
dimensions and returns one value per example, in nats; models average that over the
batch. The chapter's per-dimension means (`mse`, `bce`) are kept for its worked examples
and for image metrics.
"""

import math

from keras import ops


def _flat(x):
    """(batch, ...) -> (batch, d), computed in float32 whatever the compute dtype."""
    x = ops.cast(x, "float32")
    return ops.reshape(x, (ops.shape(x)[0], -1))


def mse(x, x_hat):
    """Chapter 5.2: (1/d) sum_i (x_i - x_hat_i)^2, per example."""
    return ops.mean(ops.square(_flat(x) - _flat(x_hat)), axis=-1)


def bce(x, p, eps=1e-7):
    """Chapter 5.2: -(1/d) sum_i [x_i log p_i + (1 - x_i) log(1 - p_i)], per example, from
    probabilities."""
    x, p = _flat(x), ops.clip(_flat(p), eps, 1.0 - eps)
    return -ops.mean(x * ops.log(p) + (1.0 - x) * ops.log(1.0 - p), axis=-1)


def bernoulli_nll_per_example(x, logits):
    """-log p(x|z) of a Bernoulli decoder, summed over dimensions: BCE from logits, stable in
    float32.

    Uses max(l, 0) - l*x + log(1 + exp(-|l|)), which never evaluates log(0).
    """
    x, logits = _flat(x), _flat(logits)
    return ops.sum(ops.relu(logits) - logits * x + ops.log1p(ops.exp(-ops.abs(logits))), axis=-1)


def gaussian_nll_per_example(x, mean, std):
    """-log N(x; mean, std^2 I) summed over dimensions, with a fixed decoder std."""
    x, mean = _flat(x), _flat(mean)
    d = ops.cast(ops.shape(x)[-1], "float32")
    squared = ops.sum(ops.square(x - mean), axis=-1) / (2.0 * std * std)
    return squared + d * (math.log(std) + 0.5 * math.log(2.0 * math.pi))


def gaussian_kl_per_dim(mean, log_var):
    """Chapter 6.3: KL(N(mu, sigma^2) || N(0, 1)) = -1/2 (1 + log sigma^2 - mu^2 - sigma^2), per
    dimension."""
    mean, log_var = ops.cast(mean, "float32"), ops.cast(log_var, "float32")
    return -0.5 * (1.0 + log_var - ops.square(mean) - ops.exp(log_var))


def gaussian_kl_per_example(mean, log_var):
    """KL(q(z|x) || N(0, I)) for a diagonal Gaussian q, summed over latent dimensions (nats)."""
    return ops.sum(gaussian_kl_per_dim(mean, log_var), axis=-1)


def reparameterize(mean, std, eps):
    """Chapter 5.5: z = mu + sigma * eps; z is differentiable in mu (dz/dmu = 1) and sigma
    (dz/dsigma = eps)."""
    return mean + std * eps


def sparsity_kl(rho, rho_hat, eps=1e-7):
    """Chapter 5.3: sum_j [rho log(rho / rho_hat_j) + (1 - rho) log((1 - rho) / (1 -
    rho_hat_j))]."""
    rho_hat = ops.clip(ops.cast(rho_hat, "float32"), eps, 1.0 - eps)
    return ops.sum(
        rho * ops.log(rho / rho_hat) + (1.0 - rho) * ops.log((1.0 - rho) / (1.0 - rho_hat))
    )


def l1_activity_per_example(code):
    """sum_j |h_j| of a code, per example: the L1 sparsity penalty."""
    return ops.sum(ops.abs(_flat(code)), axis=-1)


def psnr_db(mean_squared_error, peak=1.0):
    """Peak signal-to-noise ratio 10 log10(peak^2 / MSE) in dB, for data in [0, peak]."""
    return 10.0 * ops.log(peak * peak / ops.cast(mean_squared_error, "float32")) / math.log(10.0)


def free_bits_kl(kl_per_dim, floor):
    """sum_j max(floor, KL_j) over batch-mean per-dimension KLs: dimensions under the floor get no
    gradient pushing them further to the prior (free bits, Kingma et al. 2016)."""
    return ops.sum(ops.maximum(ops.cast(kl_per_dim, "float32"), floor))


def capacity_penalty(kl, capacity, gamma):
    """gamma * |KL - C| (Burgess et al. 2018): the KL is pulled towards a target capacity C, not
    to 0."""
    return gamma * ops.abs(kl - capacity)


def contractive_sigmoid(code, weights):
    """||dh/dx||_F^2 per example for h = sigmoid(Wx + b), in closed form:
    dh_j/dx_i = h_j (1 - h_j) W_ij, so the squared norm is sum_j (h_j (1 - h_j))^2 sum_i W_ij^2."""
    code = ops.cast(code, "float32")
    column_norms = ops.sum(ops.square(ops.cast(weights, "float32")), axis=0)
    return ops.sum(ops.square(code * (1.0 - code)) * column_norms, axis=-1)


def log_density_gaussian(z, mean, log_var):
    """log N(z; mean, exp(log_var)) elementwise, in nats:
    -1/2 [log(2 pi) + log sigma^2 + (z - mu)^2 / sigma^2]. Broadcasts, so z (M, 1, d) against
    mean, log_var (1, M, d) gives every sample's density under every posterior of a batch."""
    z, mean, log_var = (ops.cast(t, "float32") for t in (z, mean, log_var))
    return -0.5 * (math.log(2.0 * math.pi) + log_var + ops.square(z - mean) * ops.exp(-log_var))


def _log_aggregate_weights(batch, dataset_size, estimator):
    """(M, M) log importance weights w_ij of q(z_i|x_j) in q(z_i) ~ sum_j w_ij q(z_i|x_j).

    "mss" (stratified: z_i was drawn from x_i, whose share of q(z) = (1/N) sum_n q(z|x_n) is
    exactly 1/N; the other M - 1 points stand in for the other N - 1 examples): w_ii = 1/N,
    w_ij = (N - 1) / (N (M - 1)); each row sums to 1, and the estimate of q(z_i) is unbiased.
    "mws" (minibatch-weighted sampling, the estimator of Chen et al. 2018 and their code's
    default): w_ij = 1 / (N M) for all j, whose rows sum to 1/N: log q(z) is shifted by about
    -log N and log prod_j q(z_j) by -d log N, so the three terms carry constant offsets (their
    sum and all gradients are unaffected)."""
    m = ops.cast(batch, "float32")
    n = ops.cast(dataset_size, "float32")
    if estimator == "mws":
        return ops.zeros((batch, batch)) - ops.log(n * m)
    if estimator != "mss":
        raise ValueError(f"estimator must be 'mss' or 'mws', got {estimator!r}")
    own = -ops.log(n)
    other = ops.log(n - 1.0) - ops.log(n) - ops.log(ops.maximum(m - 1.0, 1.0))
    return ops.where(ops.eye(batch) > 0, own, other)


def tc_decomposition(z, mean, log_var, dataset_size, estimator="mss"):
    """(index-code MI, total correlation, dimension-wise KL) of a batch, each a float32 batch
    mean in nats (Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs"):

        E_x KL(q(z|x) || p(z)) = E[log q(z|x) - log q(z)]                 index-code MI
                               + E[log q(z) - log prod_j q(z_j)]          total correlation
                               + E[sum_j log q(z_j) - log p(z_j)]         dimension-wise KL

    with z_i ~ q(z|x_i) the batch's samples, p = N(0, I), and the aggregate posterior q(z) and
    its marginals q(z_j) estimated from the M posteriors of the batch, N = dataset_size:
    log q(z_i) = logsumexp_k [log w_ik + sum_j log q(z_ij|x_k)] and log q(z_ij) = logsumexp_k
    [log w_ik + log q(z_ij|x_k)], w from `_log_aggregate_weights` ("mss" by default, "mws" the
    paper's minibatch-weighted sampling). The three terms telescope, so their sum is the
    one-sample estimate E[log q(z|x) - log p(z)] of the KL whatever the estimator.

    The M x M x d densities are laid out dimension-major, (d, M, M), so that both mixtures
    reduce over the last, contiguous axis: at large batches these densities, not the networks,
    dominate the step, and a contiguous reduction is markedly faster than one strided over the
    (M, M, d) layout, with XLA and without (docs/speed.md).
    """
    z, mean, log_var = (ops.cast(t, "float32") for t in (z, mean, log_var))
    batch = ops.shape(z)[0]
    log_qz_x = ops.sum(log_density_gaussian(z, mean, log_var), axis=-1)  # (M,)
    log_pz = ops.sum(log_density_gaussian(z, 0.0, 0.0), axis=-1)
    # log q(z_ij | x_k) for every dimension j, sample i, posterior k: (d, M, M)
    z_t, mean_t, log_var_t = (ops.transpose(t) for t in (z, mean, log_var))
    pairwise = log_density_gaussian(z_t[:, :, None], mean_t[:, None, :], log_var_t[:, None, :])
    log_w = _log_aggregate_weights(batch, dataset_size, estimator)  # (M, M)
    log_qz = ops.logsumexp(log_w + ops.sum(pairwise, axis=0), axis=-1)
    log_prod_qzj = ops.sum(ops.logsumexp(log_w[None] + pairwise, axis=-1), axis=0)
    mi = ops.mean(log_qz_x - log_qz)
    tc = ops.mean(log_qz - log_prod_qzj)
    dimwise_kl = ops.mean(log_prod_qzj - log_pz)
    return mi, tc, dimwise_kl


def permute_dims(z, noise):
    """Each column of z (M, d) permuted across the batch independently of the others (Kim & Mnih
    2018, algorithm 1; disentanglement_lib's `shuffle_codes`): every marginal q(z_j) is kept and
    the dependence between dimensions destroyed, so the rows are draws from prod_j q(z_j).
    Column j's permutation is the argsort of noise[:, j] (noise: (M, d) i.i.d. continuous draws,
    hence uniformly random permutations), which XLA compiles where a random shuffle op does not."""
    order = ops.argsort(noise, axis=0)
    return ops.take_along_axis(z, order, axis=0)


def density_ratio_tc(logits):
    """FactorVAE's total correlation estimate E[log D(z) / (1 - D(z))] over codes z ~ q(z), in
    nats: the mean of logits[:, 0] - logits[:, 1], the discriminator's two-class logits (class 0
    "joint", class 1 "permuted"; disentanglement_lib's `tc_loss`)."""
    logits = ops.cast(logits, "float32")
    return ops.mean(logits[:, 0] - logits[:, 1])


def discriminator_loss(logits_joint, logits_permuted):
    """Cross-entropy of the FactorVAE discriminator, -(1/2) (E log D_0(z) + E log D_1(z_perm)),
    with z ~ q(z) labelled class 0 and permuted codes class 1: disentanglement_lib's
    `-discr_loss`, through log-softmax rather than its probabilities clipped to [1e-6, 1 - 1e-6]
    (the same value wherever the clip does not bind)."""
    joint = ops.log_softmax(ops.cast(logits_joint, "float32"), axis=-1)[:, 0]
    permuted = ops.log_softmax(ops.cast(logits_permuted, "float32"), axis=-1)[:, 1]
    return -0.5 * (ops.mean(joint) + ops.mean(permuted))


def discriminator_accuracy(logits_joint, logits_permuted):
    """The share of joint and permuted codes (equal numbers) the discriminator classes right."""
    right_joint = ops.cast(logits_joint[:, 0] > logits_joint[:, 1], "float32")
    right_permuted = ops.cast(logits_permuted[:, 1] > logits_permuted[:, 0], "float32")
    return 0.5 * (ops.mean(right_joint) + ops.mean(right_permuted))


def covariance(x):
    """The batch covariance E[x x^T] - E[x] E[x]^T of rows x (M, d), normalised by M as
    disentanglement_lib's `compute_covariance_z_mean`."""
    x = ops.cast(x, "float32")
    centred = x - ops.mean(x, axis=0, keepdims=True)
    return ops.matmul(ops.transpose(centred), centred) / ops.cast(ops.shape(x)[0], "float32")


def dip_covariance(mean, log_var, dip_type):
    """The covariance DIP-VAE regularises (Kumar et al. 2018): "i", Cov_p(x)[mu(x)] (eq. 6);
    "ii", Cov_q(z) = E_p(x)[diag exp(log_var)] + Cov_p(x)[mu(x)] (eq. 7), both over the batch."""
    cov_mean = covariance(mean)
    if dip_type == "i":
        return cov_mean
    if dip_type != "ii":
        raise ValueError(f"dip_type must be 'i' or 'ii', got {dip_type!r}")
    variances = ops.mean(ops.exp(ops.cast(log_var, "float32")), axis=0)
    return cov_mean + ops.diag(variances)


def dip_penalty(cov, lambda_od, lambda_d):
    """lambda_od * sum_{i != j} C_ij^2 + lambda_d * sum_i (C_ii - 1)^2: C's distance from the
    identity (disentanglement_lib's `regularize_diag_off_diag_dip`)."""
    diagonal = ops.diagonal(cov)
    off_diagonal = cov - ops.diag(diagonal)
    return lambda_od * ops.sum(ops.square(off_diagonal)) + lambda_d * ops.sum(
        ops.square(diagonal - 1.0)
    )
