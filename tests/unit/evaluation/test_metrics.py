"""The test metrics of evaluation/metrics.py on small arrays: PSNR only where it means something."""

import numpy as np
import tensorflow as tf

from aecli.config.model import AutoencoderConfig
from aecli.evaluation.metrics import evaluate
from aecli.models import build_model


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
