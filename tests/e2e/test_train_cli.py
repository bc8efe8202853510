"""`aecli train` end to end, as a user runs it: a subprocess, real data, real files."""

import json
import math
from pathlib import Path

import keras
import pytest
from run_records import STARTUP_PHASES
from tensorboard_events import read_events, scalar_series

FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def _only_run(root: Path) -> Path:
    runs = [p.parent for p in root.glob("outputs/train/*/metrics.json")]
    assert len(runs) == 1, runs
    return runs[0]


@pytest.mark.skipif(not FASHION.exists(), reason="needs Debian's dataset-fashion-mnist (make data)")
def test_vae_beta_4_on_fashion_mnist_writes_metrics_events_and_networks(aecli, tmp_path):
    result = aecli(
        "train",
        "model=vae",
        "beta=4",
        "dataset.limit=1024",
        "trainer.epochs=2",
        "trainer.batch_size=128",
        "model.hidden_units=[64]",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = _only_run(tmp_path)

    metrics = json.loads((run / "metrics.json").read_text())
    for key in [
        "model",
        "dataset",
        "beta",
        "epochs_completed",
        "test_loss",
        "test_recon_mse",
        "test_psnr_db",
        "test_kl",
        "test_elbo",
        "active_units",
    ]:
        assert key in metrics, key
    assert (metrics["model"], metrics["dataset"], metrics["beta"], metrics["epochs_completed"]) == (
        "vae",
        "fashion_mnist",
        4.0,
        2,
    )
    assert all(math.isfinite(v) for v in metrics.values() if isinstance(v, float))
    # beta = 4 reached the objective: test loss = recon + 4 KL, while the ELBO uses beta = 1
    assert metrics["test_loss"] == pytest.approx(
        metrics["test_recon"] + 4 * metrics["test_kl"], rel=1e-4
    )
    assert metrics["test_elbo"] == pytest.approx(
        -(metrics["test_recon"] + metrics["test_kl"]), rel=1e-6
    )
    assert 0 < metrics["test_recon_mse"] < 0.25
    assert metrics["test_psnr_db"] == pytest.approx(
        10 * math.log10(1 / metrics["test_recon_mse"]), rel=1e-5
    )

    train_tags = set(read_events(run / "tensorboard" / "train").Tags()["tensors"])
    assert {"epoch_loss", "epoch_recon", "epoch_kl", "epoch_learning_rate"} <= train_tags
    assert {"epoch_loss", "epoch_recon", "epoch_kl"} <= set(
        read_events(run / "tensorboard" / "validation").Tags()["tensors"]
    )
    assert [step for step, _ in scalar_series(run / "tensorboard" / "train", "epoch_loss")] == [
        0,
        1,
    ]
    losses, recons, kls = (
        dict(scalar_series(run / "tensorboard" / "train", f"epoch_{t}"))
        for t in ("loss", "recon", "kl")
    )
    assert losses[1] == pytest.approx(recons[1] + 4 * kls[1], rel=1e-4)
    assert {"inputs_vs_reconstructions", "prior_samples"} <= set(
        read_events(run / "tensorboard" / "images").Tags()["tensors"]
    )

    assert (run / ".hydra" / "config.yaml").exists()
    encoder = keras.saving.load_model(run / "encoder.keras", safe_mode=True)
    decoder = keras.saving.load_model(run / "decoder.keras", safe_mode=True)
    assert [tuple(t.shape) for t in encoder.outputs] == [(None, 16), (None, 16)]
    assert tuple(decoder.outputs[0].shape) == (None, 28, 28, 1)
    assert "epoch 2/2" in result.stdout
    # the run's log says where the time to its first step went, phase by phase
    [log] = run.glob("*.log")
    [startup] = [line for line in log.read_text().splitlines() if "start-up:" in line]
    assert all(f"{phase} " in startup for phase in STARTUP_PHASES)


def test_synthetic_circle_trains_an_mlp_vanilla_autoencoder(aecli, tmp_path):
    result = aecli(
        "train",
        "model=vanilla",
        "dataset=synthetic",
        "dataset.kind=circle",
        "dataset.size=600",
        "model.latent_dim=2",
        "model.hidden_units=[8]",
        "trainer.epochs=2",
        "trainer.batch_size=32",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((_only_run(tmp_path) / "metrics.json").read_text())
    assert metrics["model"] == "vanilla" and metrics["beta"] is None
    assert "test_kl" not in metrics and math.isfinite(metrics["test_recon_mse"])


def test_a_finished_run_folder_is_never_overwritten(aecli, tmp_path):
    args = [
        "train",
        "model=vae",
        "dataset=synthetic",
        "dataset.size=300",
        "trainer.epochs=1",
        "trainer.batch_size=32",
        "model.hidden_units=[8]",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    assert aecli(*args).returncode == 0
    before = (tmp_path / "run" / "metrics.json").read_bytes()
    again = aecli(*args)
    assert again.returncode == 2
    assert "already holds a run" in again.stderr and "Traceback" not in again.stderr
    assert (tmp_path / "run" / "metrics.json").read_bytes() == before
