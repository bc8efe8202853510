"""Device, precision, threads and the XLA decision, applied before the first TensorFlow op."""

import logging
from dataclasses import dataclass, replace

import keras
import tensorflow as tf

from aecli.config.run import HardwareConfig, Precision, Strategy
from aecli.console import say
from aecli.errors import ConfigError
from aecli.rundir.provenance import CpuIdentity, cpu_identity

log = logging.getLogger(__name__)

# CPU instructions that compute bfloat16 natively; without them oneDNN emulates it through float32
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
# Ampere and later run bfloat16 on tensor cores as fast as float16
BF16_GPU_CAPABILITY = (8, 0)


@dataclass(frozen=True)
class Placement:
    """on_gpu; mixed: float16 compute, whose gradients need loss scaling (bfloat16 has float32's
    exponent range and needs none); precision: the Keras dtype policy in force."""

    on_gpu: bool
    mixed: bool
    strategy: tf.distribute.Strategy
    precision: str = Precision.float32.value


def resolve_precision(
    requested: Precision, on_gpu: bool, gpu_capability=None, cpu: CpuIdentity | None = None
) -> tuple[str, str]:
    """The dtype policy for `requested` on this device, and why; mixed_auto picks the half precision
    the device computes fastest, or float32 where it has none (on a CPU with bfloat16
    instructions, a default that aecli.training.autotune then times against float32)."""
    if requested != Precision.mixed_auto:
        return requested.value, f"hardware.precision={requested.value}"
    if on_gpu:
        if gpu_capability and tuple(gpu_capability) >= BF16_GPU_CAPABILITY:
            return Precision.mixed_bfloat16.value, (
                f"GPU compute capability {gpu_capability[0]}.{gpu_capability[1]} >= 8.0 computes "
                "bfloat16 as fast as float16, and bfloat16 needs no loss scaling"
            )
        return Precision.mixed_float16.value, (
            f"GPU compute capability {gpu_capability or 'unknown'} < 8.0: float16 tensor cores, "
            "with dynamic loss scaling"
        )
    cpu = cpu or cpu_identity()
    native = [flag for flag in BF16_CPU_FLAGS if flag in cpu.flags]
    if native:
        return Precision.mixed_bfloat16.value, (
            f"the CPU ({cpu.model}) has {', '.join(native)}; float32 is timed against it where "
            "the run measures its step candidates (bfloat16 is not faster for every model)"
        )
    return Precision.float32.value, (
        f"the CPU ({cpu.model}) has neither AMX nor AVX512_BF16, so half precision would be "
        "emulated and slower than float32"
    )


def _gpu_capability(gpus):
    details = tf.config.experimental.get_device_details(gpus[0]) if gpus else {}
    return details.get("compute_capability")


def _strategy(cfg: HardwareConfig, on_gpu: bool) -> tf.distribute.Strategy:
    if cfg.strategy == Strategy.multi_worker:
        from aecli.training import multi_worker

        return multi_worker.strategy()
    if cfg.strategy == Strategy.mirrored:
        kind = "GPU" if on_gpu else "CPU"
        return tf.distribute.MirroredStrategy(
            [device.name for device in tf.config.list_logical_devices(kind)]
        )
    return tf.distribute.get_strategy()


def configure(cfg: HardwareConfig) -> Placement:
    """Pin threads, hide or require GPUs, split the CPU if asked, set the dtype policy, pick the
    strategy."""
    if cfg.cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * cfg.cpu_devices
        )
    if cfg.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(cfg.intra_op_threads)
    if cfg.inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(cfg.inter_op_threads)
    gpus = tf.config.list_physical_devices("GPU")
    if cfg.device == "cpu" and gpus:
        tf.config.set_visible_devices([], "GPU")
    if cfg.device == "gpu" and not gpus:
        raise ConfigError(
            f"hardware={cfg.name} asks for a GPU, but TensorFlow sees none on this machine. "
            "Use `hardware=cpu`, or install the CUDA build with `pip install 'aecli[gpu]'` on a "
            "machine with an NVIDIA GPU."
        )
    on_gpu = bool(gpus) and cfg.device != "cpu"
    precision, why = resolve_precision(
        cfg.precision, on_gpu, _gpu_capability(gpus) if on_gpu else None
    )
    if precision == Precision.mixed_float16.value and not on_gpu:
        log.warning(
            "hardware.precision=mixed_float16 on a CPU-only run: float16 has no fast path on this "
            "CPU, "
            "so the run will be correct but slower than float32. It runs as asked; use "
            "`hardware=mixed` "
            "(bfloat16 where the CPU has it) or `hardware=cpu` for speed."
        )
    if (
        cfg.precision == Precision.mixed_bfloat16
        and not on_gpu
        and not any(flag in cpu_identity().flags for flag in BF16_CPU_FLAGS)
    ):
        log.warning(
            "hardware.precision=mixed_bfloat16 on a CPU without AMX or AVX512_BF16: bfloat16 is "
            "emulated "
            "there, so the run will be correct but slower than float32. Use `hardware=cpu` for "
            "speed."
        )
    if precision == Precision.float32.value and cfg.precision != Precision.mixed_auto:
        log.info("precision %s: %s", precision, why)
    else:  # a half-precision run, or `hardware=mixed` whatever it chose, says which, and why
        say(f"precision {precision}: {why}")
    strategy = _strategy(cfg, on_gpu)
    if strategy.num_replicas_in_sync > 1:
        say(f"{cfg.strategy.value} over {strategy.num_replicas_in_sync} replicas")
    return with_precision(Placement(on_gpu=on_gpu, mixed=False, strategy=strategy), precision)


def with_precision(placement: Placement, precision: str) -> Placement:
    """`placement` under another dtype policy, made the global one (models built from now on
    compute in it)."""
    keras.mixed_precision.set_global_policy(precision)
    return replace(placement, precision=precision, mixed=precision == Precision.mixed_float16.value)


def clear_session() -> None:
    """keras.backend.clear_session(), keeping the dtype policy: Keras 3 resets the policy to
    float32 with the rest of its global state, which turned every mixed-precision run that timed
    its step candidates (`auto`), and every model `aecli bench` built, into a float32 one."""
    policy = keras.mixed_precision.global_policy()
    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy(policy)


# why a run over several replicas trains, and `auto` and `aecli bench` time, one step only
PLAIN_STEPS_REASON = (
    "TF 2.21 fails to run XLA-compiled or fused steps mirrored over several devices "
    "(InvalidArgumentError in `multi_step_on_iterator`)"
)


def plain_steps_only(placement: Placement) -> bool:
    """Whether `placement` runs only the plain step, XLA off and one step per call
    (PLAIN_STEPS_REASON): the one rule for a strategy over several replicas."""
    return placement.strategy.num_replicas_in_sync > 1


def steps_per_execution(requested: int, placement: Placement) -> int:
    """Steps fused per compiled call; 1 where the placement runs plain steps only."""
    if requested > 1 and plain_steps_only(placement):
        log.warning(
            "trainer.steps_per_execution=%d is not supported with several replicas; using 1",
            requested,
        )
        return 1
    return requested
