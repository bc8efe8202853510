"""Test-set metrics of a trained model; every value is documented with its reduction.

- test_loss, test_recon, test_kl: the training objective's terms (nats per example),
  averaged over all test examples (`model.evaluate` with batch-size weights).
- test_elbo: -(recon + KL) at beta = 1, nats per example: a lower bound on log p(x).
- val_recon, val_kl, ..., val_elbo: the same terms on the validation split (validation_metrics).
- test_recon_mse: squared error of E[x | z = posterior mean] against the clean input,
  averaged over every test value (examples x dimensions).
- test_psnr_db: 10 log10(1 / test_recon_mse), the PSNR of that pooled MSE. PSNR takes 1 as
  the peak value, so it is reported only for data in [0, 1] (images, the synthetic sets): when
  a value of the evaluated split lies outside [0, 1] (standardised tabular features) it is left
  out, as are the other PSNRs, rather than reported against a peak the data does not have.
- active_units: latent dimensions whose variance over test inputs of E[z|x] exceeds 0.01
  (Burda et al. 2016).
- with input noise: test_psnr_noisy_db / test_psnr_denoised_db, the PSNR of the pooled MSE of
  the corrupted input / the reconstruction against the clean input; test_ssim_noisy /
  test_ssim_denoised, tf.image.ssim (max value 1) averaged over test images.
- `aecli eval` (evaluate_run): recon_mse and recon_bce (binary cross-entropy of the decoded mean,
  summed over dimensions) per example, averaged; psnr_db; ssim (images); for VAEs the ELBO and the
  importance-weighted bound L_k (aecli/models/likelihood.py) in nats per example, averaged
  over `bound_examples` (eval.bound_limit of the split drawn by the run's seed, or all of it),
  and active_units. For a denoising run also psnr_noisy_db, psnr_denoised_db, ssim_noisy and
  ssim_denoised as above, on the split corrupted with the run's noise drawn from the same fixed
  seed (the run's seed + the split's offset) and batch size that training's final evaluation
  used, so `aecli eval` of the test split repeats train's numbers. For a linear Gaussian
  autoencoder, the PCA baseline on the same data (aecli/evaluation/pca.py).
- sparse codes: mean_activation, the code's mean over units and test examples; dead_fraction,
  the share of units never above 0.5 (the sigmoid's midpoint, "on") for any test example.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from aecli.config.model import NoiseType
from aecli.evaluation.progress import evaluation_progress
from aecli.models import losses


def in_unit_range(low: float, high: float) -> bool:
    """Whether data spanning [low, high] has the peak value 1 that PSNR assumes."""
    return low >= 0.0 and high <= 1.0


def evaluate(model, test, noisy: bool = False) -> dict:
    """Evaluate on the (input, clean) test pipeline; `noisy` adds the denoising metrics."""

    batches = int(test.cardinality())
    with evaluation_progress(2 * batches if batches > 0 else None) as (advance, callback):
        terms = model.evaluate(test, verbose=0, return_dict=True, callbacks=[callback])
        return _pooled_metrics(model, test, noisy, terms, advance)


def _pooled_metrics(model, test, noisy: bool, terms: dict, advance) -> dict:
    sums = {"recon": 0.0, "noisy": 0.0, "ssim_noisy": 0.0, "ssim_denoised": 0.0}
    values, examples, codes = 0, 0, []
    low, high = np.inf, -np.inf
    for x_in, x_clean in test:
        advance()
        low = min(low, float(tf.reduce_min(x_clean)))
        high = max(high, float(tf.reduce_max(x_clean)))
        code = model.encode_mean(x_in)
        reconstruction = model.decoded_mean(model.decoder(code))
        sums["recon"] += float(tf.reduce_sum(tf.square(reconstruction - x_clean)))
        values += int(np.prod(x_clean.shape))
        examples += int(x_clean.shape[0])
        codes.append(np.asarray(code))
        if noisy:
            sums["noisy"] += float(tf.reduce_sum(tf.square(x_in - x_clean)))
            sums["ssim_noisy"] += float(tf.reduce_sum(tf.image.ssim(x_in, x_clean, max_val=1.0)))
            sums["ssim_denoised"] += float(
                tf.reduce_sum(tf.image.ssim(reconstruction, x_clean, max_val=1.0))
            )
    recon_mse = sums["recon"] / values
    metrics = {f"test_{name}": float(value) for name, value in terms.items()}
    metrics["test_recon_mse"] = recon_mse
    unit = in_unit_range(low, high)
    if unit:
        metrics["test_psnr_db"] = float(losses.psnr_db(recon_mse))
    codes = np.concatenate(codes)
    if noisy:
        if unit:
            metrics["test_psnr_noisy_db"] = float(losses.psnr_db(sums["noisy"] / values))
            metrics["test_psnr_denoised_db"] = metrics["test_psnr_db"]
        metrics["test_ssim_noisy"] = sums["ssim_noisy"] / examples
        metrics["test_ssim_denoised"] = sums["ssim_denoised"] / examples
    metrics.update(model.term_metrics(metrics))
    metrics.update(model.code_metrics(codes))
    return metrics


def validation_metrics(model, val) -> dict:
    """The objective's terms on the validation split at the weights evaluated (`val_recon`,
    `val_kl`, ...) and what the family derives from them (`val_elbo` for VAEs), averaged over
    its examples as the test terms are: what runs can be compared and chosen by without looking
    at the test split. `val_loss` itself comes from training's own record (outcome)."""
    terms = model.evaluate(val, verbose=0, return_dict=True)
    derived = model.term_metrics({f"test_{name}": float(value) for name, value in terms.items()})
    return {f"val_{name}": float(value) for name, value in terms.items() if name != "loss"} | {
        f"val_{name.removeprefix('test_')}": value for name, value in derived.items()
    }


def has_factor_codes(model, split) -> bool:
    """Whether the disentanglement metrics apply: the split carries ground-truth factors and the
    model's codes are vectors (one latent per dimension)."""
    return split.factors is not None and len(model.code_shape) == 1


def factor_metrics(model, split, seed: int, factor_names=(), dci_estimator: str = "gbt") -> dict:
    """Disentanglement of the split's codes against its ground-truth factors (datasets generated
    from known factors, vector codes): test_mig, test_sap, DCI's three scores
    (test_dci_disentanglement, _completeness, _informativeness with gradient-boosted trees,
    test_dci_extra_trees_* with `dci_estimator="extra_trees"`), test_factor_vae_score, each in
    [0, 1], and test_mig_<factor>, the gap of each factor that test_mig averages (named by
    `factor_names`, else factor0, factor1, ...), which shows which factors a code captures; for a
    Gaussian posterior also Chen et al.'s estimator: test_mig_sampled (every factor but shape, as
    their dSprites figure), test_mig_sampled_all and test_mig_sampled_<factor>
    (aecli/evaluation/disentanglement.py says how each is reduced)."""
    if not has_factor_codes(model, split):
        return {}
    from aecli.evaluation.disentanglement import all_metrics, sampled_mig_scores

    posterior = model.posteriors(split.x)
    # a VAE's code is its posterior mean: one encoding serves both estimators
    codes = model.encode_means(split.x) if posterior is None else posterior[0]
    scores = all_metrics(codes, split.factors, seed, factor_names, dci_estimator)
    if posterior is not None:
        scores.update(sampled_mig_scores(*posterior, split.factors, seed, factor_names))
    return {f"test_{name}": float(value) for name, value in scores.items()}


def bound_subset(run, x: np.ndarray, limit: int | None) -> np.ndarray:
    """The examples the bound L_k is computed on: all of x, or `limit` of them drawn without
    replacement by the run's seed (the same subset every time), in their order in the split."""
    if limit is None or limit >= len(x):
        return x
    chosen = np.random.default_rng(run.cfg.seed).choice(len(x), limit, replace=False)
    return x[np.sort(chosen)]


def evaluate_run(
    run,
    split: str,
    k: int,
    dci_estimator: str | None = None,
    bound_limit: int | None = None,
    bound_progress=None,
) -> dict:
    """Metrics of a reloaded run on one split (see the module docstring for each reduction);
    DCI with `dci_estimator` (gbt or extra_trees), else with the run's own
    eval.dci_estimator. bound_limit: L_k on a seeded subset of that many examples
    (bound_subset); the other metrics use the whole split. bound_progress(passes, examples,
    split_examples): a context that is given the bound's decoder passes before they start and
    yields advance(n)."""
    from aecli.errors import UserError

    if split not in ("test", "val", "train"):
        raise UserError(f"eval.split={split} is not a split; use test, val or train.")
    if k < 1:
        raise UserError(f"eval.k={k} must be >= 1 (the number of importance samples).")
    if bound_limit is not None and bound_limit < 1:
        raise UserError(
            f"eval.bound_limit={bound_limit} must be >= 1 (examples of the bound L_k), or null "
            "for the whole split."
        )
    dci_estimator = dci_estimator or run.cfg.eval.dci_estimator.value
    x = getattr(run.arrays, split).x
    model = run.model
    report = {"run": str(run.folder.path), "split": split, "examples": len(x)}
    mse, bce, ssim, codes = [], [], [], []
    for start in range(0, len(x), 256):
        batch = tf.constant(x[start : start + 256])
        code = model.encode_mean(batch)
        reconstruction = model.decoded_mean(model.decoder(code))
        mse.append(losses.mse(batch, reconstruction).numpy())
        bce.append(losses.bce(batch, reconstruction).numpy() * np.prod(batch.shape[1:]))
        if len(batch.shape) == 4:
            ssim.append(
                tf.image.ssim(batch, tf.cast(reconstruction, tf.float32), max_val=1.0).numpy()
            )
        codes.append(np.asarray(code))
    report["recon_mse"] = float(np.concatenate(mse).mean())
    report["recon_bce"] = float(np.concatenate(bce).mean())
    unit = in_unit_range(float(x.min()), float(x.max()))
    if unit:
        report["psnr_db"] = float(losses.psnr_db(report["recon_mse"]))
    if ssim:
        report["ssim"] = float(np.concatenate(ssim).mean())
    if run.cfg.model.noise.type != NoiseType.none:
        report.update(_denoising(run, split, unit))
    basis = model.linear_decoder_basis()
    if basis is not None:
        from aecli.evaluation.pca import pca_baseline

        report.update(pca_baseline(basis, run.arrays.train.x, x))
    bound_x = bound_subset(run, x, bound_limit)
    passes = model.likelihood_bound_passes(len(bound_x), k)
    if passes and bound_progress is not None:
        with bound_progress(passes, len(bound_x), len(x)) as advance:
            bounds = model.likelihood_bounds(bound_x, k, advance)
    else:
        bounds = model.likelihood_bounds(bound_x, k)
    if bounds:
        report["k"] = k
        report["bound_examples"] = len(bound_x)
    report.update(bounds)
    report.update(model.code_metrics(np.concatenate(codes)))
    report.update(
        {
            key.removeprefix("test_"): value
            for key, value in {
                **model.posterior_metrics(x),
                **factor_metrics(
                    model,
                    getattr(run.arrays, split),
                    run.cfg.seed,
                    run.arrays.factor_names,
                    dci_estimator,
                ),
            }.items()
        }
    )
    return report


def _denoising(run, split: str, unit: bool) -> dict:
    """Noisy-vs-denoised PSNR and SSIM of `split`, corrupted as training's final evaluation
    corrupts it: the run's noise, seed and batch size (the train split takes the test split's
    seed offset, being evaluated in its place)."""
    from aecli.data.pipeline import make_pipelines

    arrays = (
        run.arrays
        if split == "test"
        else dataclasses.replace(run.arrays, test=getattr(run.arrays, split))
    )
    pipeline = make_pipelines(
        arrays,
        min(run.cfg.trainer.batch_size, len(arrays.train.x)),
        run.cfg.model.noise,
        run.cfg.seed,
    ).test
    model = run.model
    sums = {"noisy": 0.0, "denoised": 0.0, "ssim_noisy": 0.0, "ssim_denoised": 0.0}
    values, examples = 0, 0
    for x_in, x_clean in pipeline:
        denoised = tf.cast(model.decoded_mean(model.decoder(model.encode_mean(x_in))), tf.float32)
        sums["noisy"] += float(tf.reduce_sum(tf.square(x_in - x_clean)))
        sums["denoised"] += float(tf.reduce_sum(tf.square(denoised - x_clean)))
        values += int(np.prod(x_clean.shape))
        examples += int(x_clean.shape[0])
        if len(x_clean.shape) == 4:
            sums["ssim_noisy"] += float(tf.reduce_sum(tf.image.ssim(x_in, x_clean, max_val=1.0)))
            sums["ssim_denoised"] += float(
                tf.reduce_sum(tf.image.ssim(denoised, x_clean, max_val=1.0))
            )
    report = {}
    if unit:
        report["psnr_noisy_db"] = float(losses.psnr_db(sums["noisy"] / values))
        report["psnr_denoised_db"] = float(losses.psnr_db(sums["denoised"] / values))
    if sums["ssim_noisy"] or sums["ssim_denoised"]:
        report["ssim_noisy"] = sums["ssim_noisy"] / examples
        report["ssim_denoised"] = sums["ssim_denoised"] / examples
    return report
