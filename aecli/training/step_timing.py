"""The speed of a training step, measured: what `auto` (aecli/training/autotune.py) times to choose
XLA, steps per call, fused steps and precision, and what `aecli bench` (aecli/bench.py) reports.

Each variant trains a fresh model on the real pipeline: a warm-up epoch of `steps` steps pays for
tracing and compilation, then `repeats` rounds time `steps` steps of every variant in turn, and
the fastest round is the steady state (measure_variants says why).
"""

import time
from dataclasses import dataclass
from typing import NamedTuple

import keras

from aecli.config.run import TrainConfig
from aecli.data.pipeline import make_pipelines
from aecli.models import build_model
from aecli.training import hardware
from aecli.training.optimization import build_optimizer

# A variant whose round takes this many times the fastest variant's in the same round is not timed
# again: it cannot win, and a candidate that slows the step down many times over (a convolutional
# step inside an XLA loop, docs/speed.md) would cost that many times its steps every round. Twice
# as slow is within what a busy machine does to one round (see measure_variants), so not that.
GIVE_UP_SLOWER = 4.0


@dataclass(frozen=True)
class Measurement:
    jit_compile: bool
    steps_per_execution: int
    precision: str
    fuse_steps: str
    compile_seconds: float
    step_ms: float
    samples_per_second: float


class FirstVariant(NamedTuple):
    """perf_counter times: the first variant's model compiled, and its first step ended."""

    built_at: float
    first_step_at: float


class _EpochTimer(keras.callbacks.Callback):
    """Seconds per epoch, and when the first step ended."""

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


def measure_variants(
    cfg: TrainConfig, arrays, placement, variants, steps: int, repeats: int
) -> tuple[list[Measurement], FirstVariant]:
    """Each variant's steady-state speed (aecli.training.autotune.Candidate: XLA, steps per call,
    precision, fused steps), and when the first one was built and took its first step (`aecli
    bench`'s start-up split).

    Every variant is built and trained for one warm-up epoch of `steps` steps first (tracing,
    compilation); then `repeats` rounds time `steps` steps of each variant in turn, and a
    variant's figure is its fastest round. Timed one after another, a slow spell of a shared
    machine (such spells can halve the speed for seconds) lands on one variant and flips the
    order, so `auto` would keep a variant clearly slower than the best (docs/speed.md has the
    cases). In turns, a spell falls on every variant alike, and noise only
    ever slows a step, so the fastest round is the nearest to the variant's own speed. The timed
    steps call each model's train function as `fit` does, on an iterator already running, so an
    epoch's start (callbacks, a new iterator) is not counted against a step. A variant
    GIVE_UP_SLOWER times slower than the fastest in a round sits out the rounds after it."""
    hardware.clear_session()
    models, built = [], []
    for jit, per_call, precision, fused in variants:
        candidate = hardware.with_precision(placement, precision)
        keras.utils.set_random_seed(cfg.seed)
        data = make_pipelines(arrays, cfg.trainer.batch_size, cfg.model.noise, cfg.seed)
        with placement.strategy.scope():
            model = build_model(
                cfg.model, arrays.input_shape, seed=cfg.seed, dataset_size=len(arrays.train.x)
            )
            model.compile(
                optimizer=build_optimizer(cfg.trainer, steps, candidate.mixed),
                jit_compile=jit,
                steps_per_execution=hardware.steps_per_execution(per_call, placement),
            )
            model.fuse_steps = fused
        built.append(time.perf_counter())
        warmup = _EpochTimer()
        model.fit(
            data.train.repeat(),
            epochs=1,
            steps_per_epoch=steps,
            callbacks=[warmup],
            shuffle=False,
            verbose=0,
        )
        # as `fit` feeds it (over the replicas of a mirrored strategy)
        batches = iter(placement.strategy.experimental_distribute_dataset(data.train.repeat()))
        model.train_function(batches)  # starts the iterator (its buffers fill) untimed
        models.append((model, batches, warmup))
    hardware.with_precision(placement, placement.precision)
    rounds = [[] for _ in models]  # seconds per round, per variant
    timed = set(range(len(models)))
    for _ in range(repeats):
        for index in sorted(timed):
            model, batches, _warmup = models[index]
            calls = steps // model.steps_per_execution
            start = time.perf_counter()
            for _call in range(calls):
                model.train_function(batches)
            rounds[index].append(time.perf_counter() - start)
        fastest = min(rounds[index][-1] for index in timed)
        timed = {index for index in timed if rounds[index][-1] <= GIVE_UP_SLOWER * fastest}
    measurements = []
    for (jit, per_call, _, fused), (model, _, warmup), seconds in zip(
        variants, models, rounds, strict=True
    ):
        fastest = min(seconds)
        measurements.append(
            Measurement(
                jit_compile=jit,
                steps_per_execution=per_call,
                precision=model.dtype_policy.name,  # what the model computed in, not what was asked
                fuse_steps=fused,
                compile_seconds=max(0.0, warmup.seconds[0] - fastest),
                step_ms=1000 * fastest / steps,
                samples_per_second=steps * cfg.trainer.batch_size / fastest,
            )
        )
    return measurements, FirstVariant(built[0], models[0][2].first_step_at)


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
