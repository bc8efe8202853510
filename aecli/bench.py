"""Training speed of one config, measured: XLA on/off and steps per execution side by side.

Each variant trains a fresh model for `warmup + repeats` epochs of `steps` steps on the
real pipeline. The first epoch pays for tracing and compilation; the median of the others
is the steady state. Ratios against the first variant matter more than absolute numbers
on a noisy machine, which is why all variants run in one invocation.
"""

import statistics
import time
from dataclasses import asdict, dataclass

import keras

from aecli.config.run import TrainConfig
from aecli.data.pipeline import make_pipelines
from aecli.models import build_model
from aecli.training import hardware
from aecli.training.optimization import build_optimizer


@dataclass(frozen=True)
class Measurement:
    jit_compile: bool
    steps_per_execution: int
    compile_seconds: float
    step_ms: float
    samples_per_second: float


class _EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds, self.first_step_at = [], None

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.first_step_at is None:
            self.first_step_at = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def measure(
    cfg: TrainConfig,
    arrays,
    placement,
    jit: bool,
    steps_per_execution: int,
    steps: int,
    repeats: int,
) -> tuple[Measurement, float]:
    """One variant's steady-state speed, and the perf_counter time its first step ended."""
    hardware.clear_session()
    keras.utils.set_random_seed(cfg.seed)
    data = make_pipelines(arrays, cfg.trainer.batch_size, cfg.model.noise, cfg.seed)
    with placement.strategy.scope():
        model = build_model(
            cfg.model, arrays.input_shape, seed=cfg.seed, dataset_size=len(arrays.train.x)
        )
        model.compile(
            optimizer=build_optimizer(cfg.trainer, steps, placement.mixed),
            jit_compile=jit,
            steps_per_execution=hardware.steps_per_execution(steps_per_execution, placement),
        )
    timer = _EpochTimer()
    model.fit(
        data.train.repeat(),
        epochs=1 + repeats,
        steps_per_epoch=steps,
        callbacks=[timer],
        shuffle=False,
        verbose=0,
    )
    steady = statistics.median(timer.seconds[1:])
    return Measurement(
        jit_compile=jit,
        steps_per_execution=steps_per_execution,
        compile_seconds=max(0.0, timer.seconds[0] - steady),
        step_ms=1000 * steady / steps,
        samples_per_second=steps * cfg.trainer.batch_size / steady,
    ), timer.first_step_at


def input_seconds_per_step(cfg: TrainConfig, arrays, steps: int) -> float:
    """Seconds the input pipeline alone needs per batch (shuffle, batch, corrupt, prefetch),
    pulled inside a compiled loop as `fit` pulls them (no Python call per batch), from an
    iterator already running (its start-up, once per epoch in training, is not a per-step cost)."""
    import tensorflow as tf

    data = make_pipelines(arrays, cfg.trainer.batch_size, cfg.model.noise, cfg.seed)
    batches = iter(data.train.repeat())

    @tf.function
    def pull(count):
        for _ in tf.range(count):
            next(batches)

    pull(tf.constant(steps))  # traces, and fills the prefetch buffer
    start = time.perf_counter()
    pull(tf.constant(steps))
    return (time.perf_counter() - start) / steps


def run_benchmark(
    cfg: TrainConfig,
    arrays,
    steps: int,
    repeats: int,
    steps_per_execution: list[int],
    started_at: float,
    refresh: bool = False,
) -> dict:
    """Every (XLA, steps per execution) variant, the input pipeline's share, time to first step,
    and what this configuration's `auto` settings pick (cached, or measured now)."""
    from aecli.training.autotune import choose

    placement = hardware.configure(cfg.hardware)
    results, first_step = [], None
    for jit in (False, True):
        for per_call in steps_per_execution:
            measurement, first_step_at = measure(
                cfg, arrays, placement, jit, per_call, steps, repeats
            )
            first_step = first_step or first_step_at
            results.append(measurement)
    # after the variants, so that time to first step is a plain run's
    auto = choose(cfg, arrays.input_shape, placement, refresh=refresh, arrays=arrays)
    baseline = results[0].samples_per_second
    input_step = input_seconds_per_step(cfg, arrays, steps)
    best = max(results, key=lambda m: m.samples_per_second)
    # the variant a run with this configuration trains as
    as_auto = [
        m
        for m in results
        if (m.jit_compile, m.steps_per_execution) == (auto.jit, auto.steps_per_execution)
    ]
    return {
        "model": cfg.model.name,
        "architecture": cfg.model.architecture.value,
        "dataset": cfg.dataset.name.value,
        "hardware": cfg.hardware.name,
        "precision": placement.precision,
        "cpu": hardware.cpu_identity().model,
        "batch_size": cfg.trainer.batch_size,
        "steps_per_epoch": steps,
        "repeats": repeats,
        "seconds_to_first_step": first_step - started_at,
        "auto_jit_compile": auto.jit,
        "auto_steps_per_execution": auto.steps_per_execution,
        "auto_source": auto.source,
        "auto_reason": auto.reason,
        "auto_detail": auto.detail,
        "auto_measured": auto.measured,
        # how far the auto choice's variant is from the fastest one measured here (None when its
        # steps per call was not among the variants)
        "auto_ratio_to_best": as_auto[0].samples_per_second / best.samples_per_second
        if as_auto
        else None,
        "input_ms_per_step": 1000 * input_step,
        # the pipeline runs ahead of training (prefetch), so this is an upper bound on input waiting
        "input_share_of_step": input_step / (best.step_ms / 1000),
        "variants": [
            {**asdict(m), "ratio_to_first": m.samples_per_second / baseline} for m in results
        ],
    }
