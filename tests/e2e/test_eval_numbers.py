"""Numbers that mean something: `aecli eval` of a denoiser repeats train's noisy-vs-denoised
figures, and PSNR is left out where the data has no peak value of 1."""

import json

import numpy as np
import pytest
import tensorflow as tf

from aecli.config.model import AutoencoderConfig
from aecli.evaluation.metrics import evaluate
from aecli.models import build_model


def test_eval_of_a_denoiser_reports_the_noisy_and_denoised_psnr_train_reported(aecli, tmp_path):
    run = tmp_path / "run"
    trained = aecli(
        "train",
        "model=conv_denoising",
        "model.conv_filters=[4,8]",
        "model.latent_dim=4",
        "dataset=synthetic",
        "dataset.kind=shapes",
        "dataset.size=400",
        "debug=smoke",
        "trainer.batch_size=16",
        f"hydra.run.dir={run}",
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    evaluated = aecli("eval", str(run))
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    report = json.loads((run / "eval.json").read_text())
    assert report["psnr_noisy_db"] == pytest.approx(metrics["test_psnr_noisy_db"], rel=1e-4)
    assert report["psnr_denoised_db"] == pytest.approx(metrics["test_psnr_denoised_db"], rel=1e-4)
    assert report["ssim_noisy"] == pytest.approx(metrics["test_ssim_noisy"], rel=1e-4)
    assert report["ssim_denoised"] == pytest.approx(metrics["test_ssim_denoised"], rel=1e-4)


def _metrics_on(x):
    model = build_model(
        AutoencoderConfig(name="vanilla", hidden_units=[8], latent_dim=2, likelihood="gaussian"),
        (x.shape[1],),
        seed=0,
    )
    model.compile(optimizer="adam")
    return evaluate(model, tf.data.Dataset.from_tensor_slices(x).batch(16).map(lambda b: (b, b)))


def test_psnr_is_reported_for_unit_range_data_and_not_for_standardised_features():
    rng = np.random.default_rng(0)
    unit = _metrics_on(rng.random((64, 5)).astype(np.float32))
    assert np.isfinite(unit["test_psnr_db"])
    standardised = _metrics_on(rng.normal(size=(64, 5)).astype(np.float32))
    assert "test_psnr_db" not in standardised and np.isfinite(standardised["test_recon_mse"])


def test_eval_of_a_linear_gaussian_autoencoder_reports_the_pca_baseline(aecli, tmp_path):
    run = tmp_path / "run"
    trained = aecli(
        "train",
        "model=vanilla",
        "model.hidden_units=[]",
        "model.likelihood=gaussian",
        "model.latent_dim=2",
        "dataset=synthetic",
        "dataset.kind=circle",
        "dataset.size=600",
        "debug=smoke",
        f"hydra.run.dir={run}",
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    evaluated = aecli("eval", str(run))
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    report = json.loads((run / "eval.json").read_text())
    assert len(report["pca_principal_angles_deg"]) == 2
    assert all(0 <= angle <= 90 for angle in report["pca_principal_angles_deg"])
    assert 0 < report["pca_explained_variance"] <= 1
    # PCA's error is the least a rank-2 reconstruction can have
    assert report["pca_recon_mse"] <= report["recon_mse"] * 1.01
    assert "pca_principal_angles_deg" in evaluated.stdout
