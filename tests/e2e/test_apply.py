"""eval, sample and encode on a finished run (the importance-weighted bound against its closed
form: tests/unit/evaluation/test_likelihood.py)."""

import json
import shutil
from pathlib import Path

import aecli_process
import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers
from tensorboard_events import scalar_series


@pytest.fixture(scope="module")
def trained_vae(tmp_path_factory) -> Path:
    """A tiny 2-D VAE on synthetic shapes, trained for one epoch by `aecli train`."""
    run = tmp_path_factory.mktemp("apply") / "run"
    result = aecli_process.run(
        "train",
        "model=vae",
        "dataset=synthetic",
        "dataset.size=1000",
        "model.hidden_units=[32]",
        "model.latent_dim=2",
        "trainer.epochs=1",
        "trainer.batch_size=32",
        f"hydra.run.dir={run}",
        cwd=run.parent,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return run


def test_the_validation_terms_and_elbo_are_recorded_beside_val_loss(trained_vae):
    """metrics.json holds the objective's terms on the validation split, and the VAE's ELBO from
    them, so runs can be chosen by their validation ELBO without the test split."""
    metrics = json.loads((trained_vae / "metrics.json").read_text())
    assert metrics["val_recon"] > 0 and metrics["val_kl"] >= 0
    assert metrics["val_elbo"] == pytest.approx(-(metrics["val_recon"] + metrics["val_kl"]))
    # the ELBO at beta = 1 of the same weights: within one posterior sample's noise of val_loss
    assert metrics["val_elbo"] == pytest.approx(-metrics["val_loss"], rel=0.1)


def test_eval_bound_is_above_the_elbo_and_rises_with_k(aecli, trained_vae):
    reports, plans = [], []
    for k, limit in ((1, 1000), (50, 60)):
        result = aecli(
            "eval",
            str(trained_vae),
            f"eval.k={k}",
            f"eval.bound_limit={limit}",
            "dataset.limit=200",
            "eval.dci_estimator=extra_trees",
        )
        assert result.returncode == 0, result.stderr[-3000:]
        reports.append(json.loads((trained_vae / "eval.json").read_text()))
        plans.append(result.stdout.splitlines()[0])
    one, many = reports
    # the bound's cost is said before it starts; a subset is drawn by the run's seed
    assert plans[0] == "L_1 on all 200 test examples: 200 decoder passes"
    assert plans[1].startswith("L_50 on 60 of 200 test examples, drawn by the run's seed")
    assert plans[1].endswith(": 3,000 decoder passes")
    assert (one["bound_examples"], many["bound_examples"]) == (200, 60)
    assert one["iw_bound"] == pytest.approx(one["elbo"], rel=1e-5)  # L_1 is the ELBO
    assert many["iw_bound"] >= many["elbo"]
    assert many["iw_bound"] >= one["iw_bound"] - 0.5
    for key in ("recon_mse", "recon_bce", "psnr_db", "ssim", "active_units"):
        assert key in many


def test_sample_writes_every_picture_and_interpolation_ends_at_the_reconstructions(
    aecli, trained_vae
):
    result = aecli("sample", str(trained_vae), "sample.count=16")
    assert result.returncode == 0, result.stderr[-3000:]
    samples = trained_vae / "samples"
    shapes = {
        name: tf.io.decode_png(tf.io.read_file(str(samples / f"{name}.png"))).shape
        for name in ("prior_samples", "interpolation", "traversal", "manifold")
    }
    assert shapes["prior_samples"] == (8 * 28, 2 * 28, 1)
    # the two inputs, then ten decoded steps between their codes
    assert shapes["interpolation"] == (28, 12 * 28, 1)
    # a row per dimension that carries information (KL of at least 0.01 nats), at least one
    assert shapes["traversal"][0] in (28, 2 * 28) and shapes["traversal"][1:] == (9 * 28, 1)
    assert shapes["manifold"] == (15 * 28, 15 * 28, 1)
    assert (samples / "latent_scatter.png").read_bytes()[:4] == b"\x89PNG"
    assert (samples / "traversal_labelled.png").read_bytes()[:4] == b"\x89PNG"
    assert (samples / "traversal.gif").read_bytes()[:6] == b"GIF89a"
    from PIL import Image

    with Image.open(samples / "traversal.gif") as gif:  # readable: panels of 96 px and labels
        rows = shapes["traversal"][0] // 28
        assert gif.size == (rows * 112, 112 + 28) and gif.n_frames == 16
    assert list((trained_vae / "tensorboard" / "projector").glob("events.out.tfevents.*"))
    projector = trained_vae / "tensorboard" / "projector"
    assert (projector / "projector_config.pbtxt").exists() and (projector / "sprite.png").exists()

    from aecli.evaluation.generation import interpolation
    from aecli.evaluation.reload import load_run

    run = load_run(trained_vae, limit=50)
    x_a, x_b = run.arrays.test.x[0], run.arrays.test.x[1]
    frames = interpolation(run.model, x_a, x_b)
    np.testing.assert_allclose(frames[0], run.model.reconstruct(x_a[None])[0], atol=1e-5)
    np.testing.assert_allclose(frames[-1], run.model.reconstruct(x_b[None])[0], atol=1e-5)


def test_encode_writes_codes_and_labels_and_reports_compression(aecli, trained_vae):
    result = aecli("encode", str(trained_vae), "encode.split=test")
    assert result.returncode == 0, result.stderr[-3000:]
    codes = np.load(trained_vae / "codes" / "test_codes.npy")
    labels = np.load(trained_vae / "codes" / "test_labels.npy")
    assert codes.shape == (200, 2) and codes.dtype == np.float32 and labels.shape == (200,)
    assert "784 -> 2 dimensions (392.0x)" in result.stdout
    factors = np.load(trained_vae / "codes" / "test_factors.npy")
    assert factors.shape == (200, 4) and np.issubdtype(factors.dtype, np.integer)


def test_disentanglement_of_the_test_codes_is_reported_per_factor_and_reproduced_by_eval(
    aecli, trained_vae
):
    """Shapes carry four known factors: train reports MIG and the gap of each factor it averages,
    DCI with the reference gradient-boosted trees by default, and Chen et al.'s sampled MIG
    without shape; eval of the same split recomputes the same numbers from the saved networks,
    and names extra-trees' DCI apart."""
    metrics = json.loads((trained_vae / "metrics.json").read_text())
    gaps = [metrics[f"test_mig_{name}"] for name in ("shape", "size", "row", "column")]
    assert all(0.0 <= gap <= 1.0 for gap in gaps)
    assert metrics["test_mig"] == pytest.approx(np.mean(gaps), abs=1e-12)
    for key in ("test_sap", "test_dci_disentanglement", "test_factor_vae_score"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert not any(key.startswith("test_dci_extra_trees") for key in metrics)
    sampled = [metrics[f"test_mig_sampled_{name}"] for name in ("shape", "size", "row", "column")]
    assert metrics["test_mig_sampled"] == pytest.approx(np.mean(sampled[1:]), abs=1e-12)
    assert metrics["test_mig_sampled_all"] == pytest.approx(np.mean(sampled), abs=1e-12)
    result = aecli("eval", str(trained_vae))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((trained_vae / "eval.json").read_text())
    for name in ("mig", "mig_shape", "mig_column", "dci_disentanglement", "mig_sampled"):
        assert report[name] == pytest.approx(metrics[f"test_{name}"], abs=1e-6), name
    fast = aecli("eval", str(trained_vae), "eval.dci_estimator=extra_trees")
    assert fast.returncode == 0, fast.stderr[-3000:]
    report = json.loads((trained_vae / "eval.json").read_text())
    assert (
        "dci_disentanglement" not in report and 0 <= report["dci_extra_trees_disentanglement"] <= 1
    )
    refused = aecli("eval", str(trained_vae), "eval.dci_estimator=forest")
    assert refused.returncode == 2 and "eval.dci_estimator=forest is not an estimator" in (
        refused.stderr
    )


def test_the_validation_mig_of_each_epoch_is_logged_as_the_saved_networks_give_it(trained_vae):
    """Factor datasets log MIG and each factor's gap on the validation split every epoch; the
    one epoch's values are those of the saved networks' codes of that split."""
    from aecli.evaluation.disentanglement import mig_per_factor
    from aecli.evaluation.reload import load_run

    run = load_run(trained_vae)
    gaps = mig_per_factor(run.model.encode_means(run.arrays.val.x), run.arrays.val.factors)
    latents = trained_vae / "tensorboard" / "latents"
    logged = [
        scalar_series(latents, f"disentanglement/val_mig_{name}")
        for name in ("shape", "size", "row", "column")
    ]
    assert [[step for step, _ in series] for series in logged] == [[0]] * 4
    np.testing.assert_allclose([series[0][1] for series in logged], gaps, atol=1e-6)
    ((step, mig),) = scalar_series(latents, "disentanglement/val_mig")
    assert step == 0 and mig == pytest.approx(np.mean(gaps), abs=1e-6)


def test_each_latent_dimensions_kl_is_logged_per_epoch_as_the_saved_networks_give_it(trained_vae):
    """The VAE's epoch scalars: KL(q(z_j|x) || N(0, 1)) of each dimension over the validation
    inputs, written by the training callback the family does not import."""
    from aecli.evaluation.reload import load_run

    run = load_run(trained_vae)
    expected = run.model.kl_per_dimension(run.arrays.val.x[:2000])
    logged = [
        scalar_series(trained_vae / "tensorboard" / "latents", f"kl_per_dim/z{j}") for j in (0, 1)
    ]
    assert [[step for step, _ in series] for series in logged] == [[0]] * 2
    np.testing.assert_allclose([series[0][1] for series in logged], expected, rtol=1e-4, atol=1e-6)


def test_eval_of_a_folder_without_networks_says_how_to_finish_it(aecli, tmp_path):
    result = aecli("eval", str(tmp_path))
    assert result.returncode == 2 and "not an aecli run" in result.stderr


def _with_encoder(trained_vae: Path, folder: Path, write) -> Path:
    run = folder / "run"
    shutil.copytree(trained_vae, run)
    write(run / "encoder.keras")
    return run


def _lambda_network(path: Path) -> None:
    inputs = keras.Input((2,))
    keras.Model(inputs, layers.Lambda(lambda x: x * 2)(inputs)).save(path)


@pytest.mark.parametrize(
    "write, problem",
    [
        (_lambda_network, "Requested the deserialization of a `Lambda` layer"),
        (lambda path: path.write_bytes(b"PK\x03\x04 cut short"), "not a .keras archive"),
    ],
    ids=["a Lambda layer", "truncated"],
)
@pytest.mark.parametrize("command", ["eval", "sample"])
def test_a_foreign_or_damaged_network_is_refused_in_one_paragraph(
    aecli, trained_vae, tmp_path, write, problem, command
):
    run = _with_encoder(trained_vae, tmp_path, write)
    result = aecli(command, str(run))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert f"{run / 'encoder.keras'} cannot be loaded as the run's encoder ({problem}" in (
        " ".join(result.stderr.split())
    )
    assert "safe_mode=False" not in result.stderr  # Keras' advice to run the file's code is not
