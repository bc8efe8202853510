"""The regularised models end to end through `aecli train`."""

import json
from pathlib import Path

import pytest
from tensorboard_events import read_events

FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def _run(aecli, tmp_path, *overrides):
    result = aecli("train", *overrides, f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((tmp_path / "run" / "metrics.json").read_text())


@pytest.mark.skipif(not FASHION.exists(), reason="needs Debian's dataset-fashion-mnist (make data)")
def test_denoiser_beats_its_noisy_input_on_real_fashion_mnist(aecli, tmp_path):
    metrics = _run(
        aecli,
        tmp_path,
        "model=conv_denoising",
        "dataset.limit=3000",
        "dataset.test_limit=2000",
        "trainer.epochs=2",
    )
    assert metrics["test_psnr_denoised_db"] > metrics["test_psnr_noisy_db"] + 2
    assert metrics["test_ssim_denoised"] > metrics["test_ssim_noisy"]
    tags = read_events(tmp_path / "run" / "tensorboard" / "images").Tags()["tensors"]
    assert "clean_noisy_denoised" in tags


def test_sparse_model_reports_activation_and_decoder_features(aecli, tmp_path):
    metrics = _run(
        aecli,
        tmp_path,
        "model=sparse",
        "dataset=synthetic",
        "dataset.size=800",
        "trainer.epochs=1",
        "trainer.batch_size=32",
        "model.latent_dim=16",
    )
    assert 0 < metrics["mean_activation"] < 1 and 0 <= metrics["dead_fraction"] <= 1
    assert "test_sparsity" in metrics
    assert (
        "decoder_features"
        in read_events(tmp_path / "run" / "tensorboard" / "images").Tags()["tensors"]
    )


def test_vae_schedules_log_effective_beta_and_capacity(aecli, tmp_path):
    _run(
        aecli,
        tmp_path,
        "model=vae",
        "dataset=synthetic",
        "dataset.size=600",
        "trainer.epochs=3",
        "trainer.batch_size=32",
        "model.hidden_units=[16]",
        "model.kl_schedule=linear",
        "model.kl_schedule_epochs=2",
        "model.capacity_max=5",
        "model.capacity_epochs=2",
        "model.free_bits=0.1",
    )
    from tensorboard_events import scalar_series

    train = tmp_path / "run" / "tensorboard" / "train"
    assert [round(v, 6) for _, v in scalar_series(train, "epoch_beta_effective")] == [0.0, 0.5, 1.0]
    assert [round(v, 6) for _, v in scalar_series(train, "epoch_capacity")] == [0.0, 2.5, 5.0]


def test_fully_conv_vae_is_rejected_with_the_key(aecli):
    result = aecli("train", "model=vae", "model.architecture=fully_conv")
    assert result.returncode == 2 and "model.architecture" in result.stderr


@pytest.mark.parametrize(
    "family",
    [
        ["model=factor_vae", "model.discriminator_hidden_units=[16]"],
        ["model=dip_vae", "model.dip_type=ii"],
    ],
    ids=["factor_vae", "dip_vae"],
)
def test_disentanglement_families_train_and_log_their_regularisers(aecli, tmp_path, family):
    metrics = _run(
        aecli,
        tmp_path,
        *family,
        "dataset=synthetic",
        "dataset.size=300",
        "trainer.epochs=1",
        "trainer.batch_size=32",
        "model.hidden_units=[16]",
        "model.latent_dim=2",
    )
    from tensorboard_events import scalar_series

    terms = (
        ["tc", "discriminator_loss", "discriminator_accuracy"] if "factor" in family[0] else ["dip"]
    )
    for term in terms:
        assert metrics[f"test_{term}"] == metrics[f"test_{term}"]  # reported, and not NaN
        assert scalar_series(tmp_path / "run" / "tensorboard" / "train", f"epoch_{term}")
