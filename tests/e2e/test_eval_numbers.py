"""Numbers that mean something: `aecli eval` of a denoiser repeats train's noisy-vs-denoised
figures, and of a linear Gaussian autoencoder sets it beside PCA (PSNR where the data has no peak
value of 1: tests/unit/evaluation/test_metrics.py)."""

import json

import pytest


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
