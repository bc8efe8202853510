"""hardware.fuse_steps: the steps of one call in one XLA program train the same weights as
Keras' loop of XLA steps, a partial last call included (aecli/training/fused_steps.py)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from aecli.config.validate import validate
from aecli.models import build_model
from aecli.training.hardware import clear_session
from aecli.training.optimization import build_optimizer

SHAPE = (28, 28, 1)
BATCH = 16
PER_CALL = 4
# two full calls of four steps, then a partial call of two
BATCHES = 2 * PER_CALL + 2


def _batches(seed: int = 0) -> tf.data.Dataset:
    rng = np.random.default_rng(seed)
    clean = rng.uniform(size=(BATCHES * BATCH, *SHAPE)).astype("float32")
    noisy = np.clip(clean + rng.normal(0, 0.3, clean.shape), 0, 1).astype("float32")
    return tf.data.Dataset.from_tensor_slices((noisy, clean)).batch(BATCH, drop_remainder=True)


def _train(cfg, fuse: str):
    """Weights, optimizer updates and per-call losses after one epoch of BATCHES steps, in the
    global dtype policy (loss-scaled under mixed_float16, as a run)."""
    clear_session()
    keras.utils.set_random_seed(cfg.seed)
    mixed = keras.mixed_precision.global_policy().name == "mixed_float16"
    model = build_model(cfg.model, SHAPE, seed=cfg.seed, dataset_size=BATCHES * BATCH)
    model.compile(
        optimizer=build_optimizer(cfg.trainer, BATCHES, mixed=mixed),
        jit_compile=True,
        steps_per_execution=PER_CALL,
    )
    model.fuse_steps = fuse
    losses = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: calls.append((batch, float(logs["loss"])))
    )
    calls = []
    model.fit(_batches(), epochs=1, shuffle=False, verbose=0, callbacks=[losses])
    return model.get_weights(), int(model.optimizer.iterations.numpy()), calls


@pytest.fixture
def settings(compose_train):
    return lambda *overrides: validate(compose_train("hardware=cpu", *overrides))


MLP_VAE = ["model=vae", "model.hidden_units=[32]", "model.latent_dim=4"]
CONV_DENOISER = ["model=conv_denoising", "model.conv_filters=[4,8]", "model.latent_dim=4"]
# two optimizers in one step: the discriminator's update runs inside the fused program too
FACTOR_VAE = ["model=factor_vae", "model.hidden_units=[32]", "model.latent_dim=4"]


@pytest.mark.parametrize(
    "model, form, precision",
    [
        (MLP_VAE, "loop", "float32"),
        (MLP_VAE, "unrolled", "float32"),
        (CONV_DENOISER, "loop", "float32"),
        (CONV_DENOISER, "unrolled", "float32"),
        (FACTOR_VAE, "loop", "float32"),
        # the loss scale's finite-gradient check and update inside the fused program
        (MLP_VAE, "loop", "mixed_float16"),
        (MLP_VAE, "unrolled", "mixed_float16"),
    ],
    ids=lambda value: value[0].split("=")[1] if isinstance(value, list) else value,
)
def test_fused_steps_train_the_same_weights_as_one_xla_launch_per_step(
    settings, model, form, precision
):
    keras.mixed_precision.set_global_policy(precision)
    try:
        _check_fused_equals_plain(settings(*model), form, precision)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def _check_fused_equals_plain(cfg, form, precision):
    plain_weights, plain_updates, plain_calls = _train(cfg, "off")
    weights, updates, calls = _train(cfg, form)
    assert updates == plain_updates == BATCHES  # the partial last call trains its two steps
    assert [batch for batch, _ in calls] == [batch for batch, _ in plain_calls] == [3, 7, 11]
    # float16's rounding differs where XLA fuses the program differently: tolerances of its
    # epsilon (9.8e-4), against float32's
    loss_rtol, weight_rtol, weight_atol = (
        (1e-5, 1e-4, 1e-6) if precision == "float32" else (1e-3, 1e-3, 1e-5)
    )
    np.testing.assert_allclose(
        [loss for _, loss in calls], [loss for _, loss in plain_calls], rtol=loss_rtol
    )
    for fused, plain in zip(weights, plain_weights, strict=True):
        np.testing.assert_allclose(fused, plain, rtol=weight_rtol, atol=weight_atol)
