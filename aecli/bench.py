"""Training speed of one config, measured: XLA on/off, steps per execution and (under XLA, with
several steps per call) the fused forms `hardware.fuse_steps` allows, side by side.

Every variant is timed by aecli.training.step_timing, in turns, in one invocation: ratios against
the first variant matter more than absolute numbers on a noisy machine.
"""

from dataclasses import asdict

from aecli.config.run import FuseSteps, TrainConfig
from aecli.training import hardware
from aecli.training.autotune import choose, combinations, fused_forms, precisions
from aecli.training.startup import FIRST_STEP, clock
from aecli.training.step_timing import input_seconds_per_step, measure_variants


def run_benchmark(
    cfg: TrainConfig,
    arrays,
    steps: int,
    repeats: int,
    steps_per_execution: list[int],
    refresh: bool = False,
) -> dict:
    """Every (XLA, steps per execution, fused steps) variant that can run, under each precision
    `auto` times (Keras' loop of steps always, and the fused forms `hardware.fuse_steps` allows,
    so that a fused form is timed against it), the input pipeline's share, time to first step
    and where it went (aecli.training.startup), and what this configuration's `auto` settings
    pick (cached, or measured now)."""
    placement = hardware.configure(cfg.hardware)
    clock.mark("start-up")
    jits = (False, True)
    if hardware.plain_steps_only(placement):  # only the one variant such a run trains with
        jits, steps_per_execution = (False,), [1]
    timed = precisions(cfg, placement)
    forms = dict.fromkeys((FuseSteps.off.value, *fused_forms(cfg.hardware.fuse_steps)))
    results, first = measure_variants(
        cfg,
        arrays,
        placement,
        combinations(timed, jits, steps_per_execution, forms),
        steps,
        repeats,
    )
    # the first variant's pipelines, model and compile; then its first step (tracing, compiling)
    clock.mark("building the model", at=first.built_at)
    clock.mark(FIRST_STEP, at=first.first_step_at)
    # after the variants, so that time to first step is a plain run's
    auto = choose(cfg, arrays.input_shape, placement, refresh=refresh, arrays=arrays)
    baseline = results[0].samples_per_second
    input_step = input_seconds_per_step(cfg, arrays, steps)
    best = max(results, key=lambda m: m.samples_per_second)
    # the variant a run with this configuration trains as
    as_auto = [
        m
        for m in results
        if (m.jit_compile, m.steps_per_execution, m.precision, m.fuse_steps)
        == (auto.jit, auto.steps_per_execution, auto.precision, auto.fused)
    ]
    return {
        "model": cfg.model.name,
        "architecture": cfg.model.architecture.value,
        "dataset": cfg.dataset.name.value,
        "hardware": cfg.hardware.name,
        "precision": "/".join(timed),  # the precisions the variants ran under
        "cpu": hardware.cpu_identity().model,
        "batch_size": cfg.trainer.batch_size,
        "steps_per_epoch": steps,
        "repeats": repeats,
        "seconds_to_first_step": clock.total(),
        # seconds of each phase up to it, in order (only `import tensorflow` is TensorFlow's own)
        "startup_seconds": clock.split(),
        "auto_jit_compile": auto.jit,
        "auto_steps_per_execution": auto.steps_per_execution,
        "auto_precision": auto.precision,
        "auto_fuse_steps": auto.fused,
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
