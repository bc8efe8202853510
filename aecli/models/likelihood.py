"""The importance-weighted bound on log p(x) (Burda et al. 2016), batched over examples and samples.

log p(x) >= L_k = E[log (1/k) sum_i w_i],  w_i = p(x|z_i) p(z_i) / q(z_i|x),  z_i ~ q(z|x).
L_1 is the ELBO; L_k rises with k towards log p(x), and equals it when q is the true posterior.
"""

import math

import numpy as np
import tensorflow as tf

LOG_2PI = math.log(2 * math.pi)


def _log_normal(z, mean, log_var):
    """log N(z; mean, diag(exp(log_var))), summed over the last axis."""
    return -0.5 * tf.reduce_sum(LOG_2PI + log_var + tf.square(z - mean) / tf.exp(log_var), axis=-1)


def log_weights(model, x, samples: int, seed=(0, 0)):
    """(batch, samples) log importance weights log p(x|z) + log p(z) - log q(z|x); the draws are
    a function of `seed`, so a bound is reproducible."""
    mean, log_var = model.posterior(x)
    batch, latent = tf.shape(mean)[0], tf.shape(mean)[1]
    eps = tf.random.stateless_normal((samples, batch, latent), seed=seed)
    z = mean[None] + tf.exp(0.5 * log_var)[None] * eps
    flat_z = tf.reshape(z, (-1, latent))
    repeated_x = tf.repeat(x[None], samples, axis=0)
    repeated_x = tf.reshape(repeated_x, (-1, *x.shape[1:]))
    log_px_z = -model.reconstruction_nll(repeated_x, model.decoder(flat_z))
    log_px_z = tf.reshape(log_px_z, (samples, batch))
    log_pz = _log_normal(z, 0.0, tf.zeros_like(z))
    log_qz = _log_normal(z, mean[None], log_var[None])
    return tf.transpose(log_px_z + log_pz - log_qz)


def importance_weighted_bound(
    model,
    x: np.ndarray,
    k: int,
    sample_chunk: int = 256,
    example_chunk: int = 64,
    seed: int = 0,
    offset: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(L_k, ELBO) per example in nats; samples come in chunks whose log-sum-exp is accumulated, so
    memory is bounded by example_chunk x sample_chunk decoder passes whatever k is. `offset`: the
    position of x[0] in a larger array scored in parts (`aecli predict` streams its input): the
    noise is seeded by position, so parts that start at multiples of example_chunk get the bound
    the whole array would."""
    bounds, elbos = [], []
    for start in range(0, len(x), example_chunk):
        batch = tf.constant(x[start : start + example_chunk])
        running = None
        total = tf.zeros(len(batch))
        drawn = 0
        while drawn < k:
            n = min(sample_chunk, k - drawn)
            # one seed per (example chunk, sample chunk): the same x and k give the same bound
            weights = log_weights(model, batch, n, seed=(seed, (offset + start) * k + drawn))
            chunk = tf.reduce_logsumexp(weights, axis=1)
            running = (
                chunk
                if running is None
                else tf.reduce_logsumexp(tf.stack([running, chunk]), axis=0)
            )
            total += tf.reduce_sum(weights, axis=1)
            drawn += n
        bounds.append((running - math.log(k)).numpy())
        elbos.append((total / k).numpy())
    return np.concatenate(bounds), np.concatenate(elbos)
