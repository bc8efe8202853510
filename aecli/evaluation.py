"""Test-set metrics of a trained model; every value is documented with its reduction.

- test_loss, test_recon, test_kl: the training objective's terms (nats per example),
  averaged over all test examples (`model.evaluate` with batch-size weights).
- test_elbo: -(recon + KL) at beta = 1, nats per example: a lower bound on log p(x).
- test_recon_mse: squared error of E[x | z = posterior mean] against the clean input,
  averaged over every test value (examples x dimensions).
- test_psnr_db: 10 log10(1 / test_recon_mse), the PSNR of that pooled MSE.
- active_units: latent dimensions whose variance over test inputs of E[z|x] exceeds 0.01
  (Burda et al. 2016).
"""

import numpy as np

from aecli import losses
from aecli.models import VAE

ACTIVE_UNIT_THRESHOLD = 0.01


def active_units(posterior_means: np.ndarray, threshold: float = ACTIVE_UNIT_THRESHOLD) -> int:
    """Number of dimensions j with Cov_x(E[z_j | x]) > threshold."""
    return int(np.sum(np.var(posterior_means, axis=0) > threshold))


def evaluate(model, test) -> dict:
    """Evaluate on the (input, clean) test pipeline."""
    terms = model.evaluate(test, verbose=0, return_dict=True)
    squared_error, values, means = 0.0, 0, []
    for x_in, x_clean in test:
        code = model.encode_mean(x_in)
        reconstruction = model.decoded_mean(model.decoder(code))
        squared_error += float(np.sum(np.square(np.asarray(reconstruction) - np.asarray(x_clean))))
        values += int(np.prod(x_clean.shape))
        means.append(np.asarray(code))
    recon_mse = squared_error / values
    metrics = {f"test_{name}": float(value) for name, value in terms.items()}
    metrics["test_recon_mse"] = recon_mse
    metrics["test_psnr_db"] = float(losses.psnr_db(recon_mse))
    if isinstance(model, VAE):
        metrics["test_elbo"] = -(metrics["test_recon"] + metrics["test_kl"])
        metrics["active_units"] = active_units(np.concatenate(means))
    return metrics
