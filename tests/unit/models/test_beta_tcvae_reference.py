"""benchmarks/throughput.py's tcvae workload times the same math on both sides: its port of Chen
et al.'s beta-TCVAE (benchmarks/beta_tcvae_reference.py) computes aecli's beta-TCVAE loss."""

import importlib.util
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from aecli.data.dsprites import NUM_IMAGES
from aecli.models import losses, vae

torch = pytest.importorskip(
    "torch", reason="the benchmark's reference port needs PyTorch: pip install 'aecli[bench]'"
)

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def benchmarks(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    yield _load("beta_tcvae_reference"), _load("throughput")
    sys.modules.pop("beta_tcvae_reference", None)


def test_the_fixed_importance_weights_give_each_sample_its_own_posterior_at_one_over_n(
    benchmarks,
):
    port, _ = benchmarks
    batch, n = 6, 100
    w = port.log_importance_weight_matrix(batch, n).exp().double().numpy()
    np.testing.assert_allclose(np.diag(w), 1 / n, rtol=1e-6)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-6)
    # one stratum weight (N - M) / (N M), M = batch - 1, in every row, beside the diagonal
    stratum = (n - (batch - 1)) / (n * (batch - 1))
    np.testing.assert_allclose(np.diag(np.roll(w, -1, axis=1)), stratum, rtol=1e-6)


def _copy_networks(keras_model, port):
    """The Keras model's weights into the port: torch's Linear holds kernel.T; Chen et al.'s encoder
    emits (mu_j, log sigma_j) interleaved, and log sigma = log_var / 2."""
    dense = [
        [layer for layer in network.layers if isinstance(layer, keras.layers.Dense)]
        for network in (keras_model.encoder, keras_model.decoder)
    ]
    *trunk, mean, log_var = dense[0]
    heads = [
        np.stack([m, 0.5 * v], axis=-1).reshape(*m.shape[:-1], -1)
        for m, v in zip(mean.get_weights(), log_var.get_weights(), strict=True)
    ]
    weights = [layer.get_weights() for layer in trunk] + [heads]
    weights += [layer.get_weights() for layer in dense[1]]
    linears = [m for m in (*port.encoder, *port.decoder) if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for (kernel, bias), linear in zip(weights, linears, strict=True):
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
            linear.bias.copy_(torch.from_numpy(bias))


@pytest.mark.parametrize("released", [True, False], ids=["eager", "tuned"])
def test_the_port_computes_aecli_beta_tcvae_loss_on_the_same_weights_and_noise(
    benchmarks, monkeypatch, released
):
    port, throughput = benchmarks
    batch, rng = 32, np.random.default_rng(0)
    x = (rng.random((batch, 64, 64, 1)) < 0.1).astype(np.float32)
    noise = rng.standard_normal((batch, 10)).astype(np.float32)
    monkeypatch.setattr(vae, "standard_normal", lambda *_, **__: keras.ops.convert_to_tensor(noise))
    ours = throughput.keras_beta_tcvae()
    # posterior means spread far enough apart that the total correlation, the one term the
    # estimator's weights enter, moves the loss well beyond the tolerance
    head = ours.encoder.get_layer("z_mean")
    kernel, bias = head.get_weights()
    head.set_weights([10 * kernel, bias])
    reference = port.ReferenceBetaTCVAE(NUM_IMAGES, throughput.TCVAE_BETA, released=released)
    _copy_networks(ours, reference)
    # the weights whose cost is the same and whose values differ (aecli's row i: 1/N for x_i and
    # (N - 1) / (N (M - 1)) for the others; Chen et al.'s: one stratum weight, the rest 1/(M - 1))
    aecli_weights = np.array(losses._log_aggregate_weights(batch, NUM_IMAGES, "mss"))
    monkeypatch.setattr(
        port, "log_importance_weight_matrix", lambda *_: torch.from_numpy(aecli_weights)
    )

    terms = ours.loss_terms(x, x)
    assert abs(float(terms["tc"])) > 1.0
    expected = float(terms["loss"])
    x_nchw = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    with torch.no_grad():
        actual = float(reference(x_nchw, x_nchw, noise=torch.from_numpy(noise)))
    assert actual == pytest.approx(expected, rel=1e-5)
