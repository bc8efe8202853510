"""Precision: what `hardware=mixed` picks on which device, and every family training under
bfloat16."""

import keras
import numpy as np
import pytest

from aecli.config.model import (
    Architecture,
    AutoencoderConfig,
    ContractiveConfig,
    DIPVAEConfig,
    FactorVAEConfig,
    NoiseConfig,
    NoiseType,
    SparseConfig,
    VAEConfig,
)
from aecli.config.run import Precision
from aecli.models import build_model
from aecli.training.hardware import CpuIdentity, cpu_identity, resolve_precision

EPYC = CpuIdentity("AMD EPYC", frozenset({"avx2", "avx512f", "avx512_bf16"}))
SAPPHIRE = CpuIdentity("Intel Xeon 8480", frozenset({"avx512f", "amx_bf16", "amx_tile"}))
SKYLAKE = CpuIdentity("Intel Xeon 6130", frozenset({"avx2", "avx512f"}))


@pytest.mark.parametrize("cpu", [EPYC, SAPPHIRE])
def test_mixed_auto_picks_bfloat16_on_cpus_that_compute_it(cpu):
    precision, why = resolve_precision(Precision.mixed_auto, on_gpu=False, cpu=cpu)
    assert precision == "mixed_bfloat16"
    assert cpu.model in why


def test_mixed_auto_stays_float32_on_cpus_without_bfloat16_instructions():
    precision, why = resolve_precision(Precision.mixed_auto, on_gpu=False, cpu=SKYLAKE)
    assert precision == "float32"
    assert "AVX512_BF16" in why


@pytest.mark.parametrize(
    "capability, expected",
    [
        ((8, 0), "mixed_bfloat16"),
        ((9, 0), "mixed_bfloat16"),
        ((7, 5), "mixed_float16"),
        (None, "mixed_float16"),
    ],
)
def test_mixed_auto_on_gpus_follows_compute_capability(capability, expected):
    assert (
        resolve_precision(Precision.mixed_auto, on_gpu=True, gpu_capability=capability)[0]
        == expected
    )


def test_an_explicit_precision_is_kept_whatever_the_device():
    for precision in (Precision.float32, Precision.mixed_float16, Precision.mixed_bfloat16):
        assert resolve_precision(precision, on_gpu=False, cpu=SKYLAKE)[0] == precision.value


def test_cpu_identity_reads_model_name_and_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx512_bf16 avx2\n\n"
        "processor\t: 1\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx512_bf16 avx2\n"
    )
    identity = cpu_identity.__wrapped__(str(cpuinfo))
    assert identity.model == "AMD EPYC" and identity.flags == {"fpu", "avx512_bf16", "avx2"}
    assert identity.flags_hash != CpuIdentity("AMD EPYC", frozenset({"fpu"})).flags_hash
    assert cpu_identity.__wrapped__(str(tmp_path / "absent")).model == "unknown"


IMAGES = np.random.default_rng(0).random((64, 28, 28, 1)).astype(np.float32)
FAMILIES = {
    "vanilla": AutoencoderConfig(name="vanilla", hidden_units=[16], latent_dim=4),
    "conv_denoising": AutoencoderConfig(
        name="conv_denoising",
        architecture=Architecture.fully_conv,
        conv_filters=[8, 16],
        latent_dim=4,
        noise=NoiseConfig(type=NoiseType.gaussian, level=0.4),
    ),
    "vae": VAEConfig(name="vae", hidden_units=[16], latent_dim=4),
    "conv_vae": VAEConfig(
        name="vae", architecture=Architecture.conv, conv_filters=[8, 16], latent_dim=4
    ),
    "sparse": SparseConfig(name="sparse", hidden_units=[16], latent_dim=8),
    "contractive": ContractiveConfig(name="contractive", hidden_units=[16], latent_dim=4),
    "dip_vae": DIPVAEConfig(name="dip_vae", hidden_units=[16], latent_dim=4),
    "factor_vae": FactorVAEConfig(
        name="factor_vae", hidden_units=[16], latent_dim=4, discriminator_hidden_units=[8]
    ),
}


@pytest.fixture
def bfloat16_policy():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("jit", [False, True])
def test_every_family_trains_under_mixed_bfloat16_with_float32_losses(family, jit, bfloat16_policy):
    keras.utils.set_random_seed(0)
    model = build_model(FAMILIES[family], IMAGES.shape[1:], seed=0, dataset_size=len(IMAGES))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit, steps_per_execution=2)
    history = model.fit(IMAGES, IMAGES, batch_size=16, epochs=1, verbose=0)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    batch = keras.ops.convert_to_tensor(IMAGES[:8])
    terms = model.loss_terms(batch, batch, training=True)
    assert {keras.backend.standardize_dtype(value.dtype) for value in terms.values()} == {"float32"}
    assert model.encoder.layers[1].compute_dtype == "bfloat16"  # the trunk really runs in bfloat16


def test_vae_noise_takes_a_half_precision_posteriors_dtype():
    model = build_model(VAEConfig(name="vae", hidden_units=[8], latent_dim=2), (28, 28, 1), seed=0)
    import tensorflow as tf

    mean = tf.zeros((3, 2), tf.bfloat16)
    z = model.sample_posterior(mean, tf.zeros((3, 2), tf.bfloat16))
    assert z.dtype == tf.bfloat16 and z.shape == (3, 2)


def test_timing_the_step_candidates_keeps_the_mixed_precision_policy(
    compose_train, bfloat16_policy, monkeypatch
):
    """`auto` times its candidates on fresh models after keras.backend.clear_session(), which on
    its own resets the policy to float32: every bfloat16 run that measured trained in float32.
    Each candidate trains under its own precision, and the run's policy is back afterwards."""
    import tensorflow as tf

    from aecli.config.validate import validate
    from aecli.data.arrays import load_arrays
    from aecli.training import autotune, step_timing
    from aecli.training.hardware import Placement

    cfg = validate(
        compose_train(
            "model=vae",
            "hardware.precision=mixed_bfloat16",
            "dataset=synthetic",
            "dataset.kind=shapes",
            "dataset.size=400",
            "model.hidden_units=[16]",
            "model.latent_dim=2",
            "trainer.batch_size=32",
        )
    )
    arrays = load_arrays(cfg.dataset, cfg.seed)
    placement = Placement(False, False, tf.distribute.get_strategy(), "mixed_bfloat16")
    calls, measure = [], step_timing.measure_variants

    def recorded(*args):
        calls.append(measure(*args))
        return calls[-1]

    monkeypatch.setattr(step_timing, "measure_variants", recorded)
    # a float32 candidate of a bfloat16 run (`hardware=mixed` times both) beside one in its policy
    speeds = autotune._step_timer(cfg, arrays, placement)(
        [autotune.Candidate(True, 8, "float32"), autotune.Candidate(True, 8, "mixed_bfloat16")]
    )
    assert len(speeds) == 2 and min(speeds) > 0
    [(measurements, _)] = calls
    assert [m.precision for m in measurements] == ["float32", "mixed_bfloat16"]
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    model = build_model(cfg.model, arrays.input_shape, seed=0)
    assert model.encoder.layers[1].compute_dtype == "bfloat16"
