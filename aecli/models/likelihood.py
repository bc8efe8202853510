"""The importance-weighted bound on log p(x) (Burda et al. 2016), batched over examples and samples.

log p(x) >= L_k = E[log (1/k) sum_i w_i],  w_i = p(x|z_i) p(z_i) / q(z_i|x),  z_i ~ q(z|x).
L_1 is the ELBO; L_k rises with k towards log p(x), and equals it when q is the true posterior.
"""

import math
import weakref

import numpy as np
import tensorflow as tf

LOG_2PI = math.log(2 * math.pi)
# a model's compiled chunk program, kept while the model lives (an attribute would be tracked,
# and saved, by Keras)
_PROGRAMS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


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


def _chunk_program(model):
    """One compiled call per (example chunk, sample chunk): the k samples of several examples go
    through the decoder together and only their log-sum-exp and sum come back, rather than one
    eager op per layer and the (examples, samples) weights. Cached on the model; traced once per
    chunk shape (the last chunks of a split may be shorter)."""
    program = _PROGRAMS.get(model)
    if program is None:

        @tf.function(reduce_retracing=True)
        def program(batch, samples, seed):
            weights = log_weights(model, batch, samples, seed=seed)
            return tf.reduce_logsumexp(weights, axis=1), tf.reduce_sum(weights, axis=1)

        _PROGRAMS[model] = program
    return program


def importance_weighted_bound(
    model,
    x: np.ndarray,
    k: int,
    sample_chunk: int = 256,
    example_chunk: int = 64,
    seed: int = 0,
    offset: int = 0,
    progress=None,
) -> tuple[np.ndarray, np.ndarray]:
    """(L_k, ELBO) per example in nats; samples come in chunks whose log-sum-exp is accumulated, so
    memory is bounded by example_chunk x sample_chunk decoder passes whatever k is. `offset`: the
    position of x[0] in a larger array scored in parts (`aecli predict` streams its input): the
    noise is seeded by position, so parts that start at multiples of example_chunk get the bound
    the whole array would. `progress(n)`, when given, is told each chunk's n decoder passes."""
    program = _chunk_program(model)
    bounds, elbos = [], []
    for start in range(0, len(x), example_chunk):
        batch = tf.constant(x[start : start + example_chunk])
        running = None
        total = tf.zeros(len(batch))
        drawn = 0
        while drawn < k:
            n = min(sample_chunk, k - drawn)
            # one seed per (example chunk, sample chunk): the same x and k give the same bound
            chunk_seed = tf.constant([seed, (offset + start) * k + drawn], tf.int64)
            chunk, chunk_sum = program(batch, n, chunk_seed)
            running = (
                chunk
                if running is None
                else tf.reduce_logsumexp(tf.stack([running, chunk]), axis=0)
            )
            total += chunk_sum
            drawn += n
            if progress is not None:
                progress(n * len(batch))
        bounds.append((running - math.log(k)).numpy())
        elbos.append((total / k).numpy())
    return np.concatenate(bounds), np.concatenate(elbos)
