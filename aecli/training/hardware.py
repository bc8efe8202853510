"""Device, precision, threads and the XLA decision, applied before the first TensorFlow op."""

import logging
from dataclasses import dataclass

import keras
import tensorflow as tf

from aecli.config.model import Architecture
from aecli.config.run import HardwareConfig, JitCompile, Precision, Strategy
from aecli.errors import ConfigError

log = logging.getLogger(__name__)

# `aecli bench` on the reference 2-core AVX-512 CPU, batch 128, 8 steps per call, samples/s without -> with XLA:
# VAE 784-512-256-16: 17.3k -> 20.0k and 16.7k -> 20.7k (2026-11-24, after the VAE's noise moved to
# Philox; earlier, on a then faster machine, 29.5k -> 30.0k and 30.9k -> 34.4k); VAE 784-400-20:
# 45.8k -> 45.8k; conv_denoising (fully_conv 32-64): 5.3k -> 3.3k and 3.0k -> 2.2k. XLA never lost on
# the MLPs and costs about 1 s more to compile; it loses 25-40% on the convs, so `auto` follows the
# architecture. On a GPU it fuses the elementwise loss math around the matmuls and convs.
_CPU_XLA_WINS = {Architecture.mlp: True, Architecture.conv: False, Architecture.fully_conv: False}


@dataclass(frozen=True)
class Placement:
    on_gpu: bool
    mixed: bool
    strategy: tf.distribute.Strategy


def _strategy(cfg: HardwareConfig, on_gpu: bool) -> tf.distribute.Strategy:
    if cfg.strategy == Strategy.multi_worker:
        from aecli.training import multi_worker

        return multi_worker.strategy()
    if cfg.strategy == Strategy.mirrored:
        kind = "GPU" if on_gpu else "CPU"
        return tf.distribute.MirroredStrategy([device.name for device in tf.config.list_logical_devices(kind)])
    return tf.distribute.get_strategy()


def configure(cfg: HardwareConfig) -> Placement:
    """Pin threads, hide or require GPUs, split the CPU if asked, set the dtype policy, pick the strategy."""
    if cfg.cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cfg.cpu_devices)
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
            "Use `hardware=cpu`, or install the CUDA build with `pip install 'aecli[gpu]'` on a machine with an NVIDIA GPU."
        )
    on_gpu = bool(gpus) and cfg.device != "cpu"
    mixed = cfg.precision == Precision.mixed_float16
    if mixed and not on_gpu:
        log.warning(
            "hardware.precision=mixed_float16 on a CPU-only run: float16 has no fast path on this CPU, "
            "so the run will be correct but slower than float32. It runs as asked; use `hardware=cpu` for speed."
        )
    keras.mixed_precision.set_global_policy(cfg.precision.value)
    strategy = _strategy(cfg, on_gpu)
    if strategy.num_replicas_in_sync > 1:
        log.info("%s over %d replicas", cfg.strategy.value, strategy.num_replicas_in_sync)
    return Placement(on_gpu=on_gpu, mixed=mixed, strategy=strategy)


def jit_compile(cfg: HardwareConfig, architecture: Architecture, placement: Placement) -> tuple[bool, str]:
    """Whether to compile the train step with XLA, and why."""
    if cfg.jit_compile != JitCompile.auto:
        return cfg.jit_compile == JitCompile.on, f"hardware.jit_compile={cfg.jit_compile.value}"
    if placement.on_gpu:
        return True, "auto: XLA on (GPU)"
    if placement.strategy.num_replicas_in_sync > 1:
        # TF 2.21 fails to run XLA-compiled steps mirrored over logical CPU devices (InvalidArgumentError)
        return False, "auto: XLA off (mirrored over CPU devices)"
    wins = _CPU_XLA_WINS[architecture]
    return wins, f"auto: XLA {'on' if wins else 'off'} ({architecture.value} on CPU, measured, see aecli/hardware.py)"


# Keras' default first loss scale, 2**15, suits losses averaged over dimensions; ours are summed
# over them (hundreds of nats per example), so 2**15 overflows float16 gradients and the first ~9
# steps are skipped while the scale halves its way down. Starting lower loses no steps.
INITIAL_LOSS_SCALE = 2.0**8


def optimizer(learning_rate: float, placement: Placement) -> keras.optimizers.Optimizer:
    """Adam, wrapped in dynamic loss scaling under mixed_float16."""
    adam = keras.optimizers.Adam(learning_rate)
    if placement.mixed:
        return keras.optimizers.LossScaleOptimizer(adam, initial_scale=INITIAL_LOSS_SCALE)
    return adam


def steps_per_execution(requested: int, placement: Placement) -> int:
    """Steps fused per compiled call; 1 under several replicas, where Keras 3.15's fused loop
    fails to run (InvalidArgumentError in `multi_step_on_iterator`)."""
    if requested > 1 and placement.strategy.num_replicas_in_sync > 1:
        log.warning("trainer.steps_per_execution=%d is not supported with several replicas; using 1", requested)
        return 1
    return requested
