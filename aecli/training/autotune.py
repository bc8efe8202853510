"""`hardware.jit_compile=auto` and `trainer.steps_per_execution=auto`: the compiled step as
measured on the machine the run lands on.

Whether XLA helps, and whether fusing several steps into one compiled call does, depends on the
CPU (its vector units, its oneDNN kernels), the layer shapes, the batch and the TensorFlow
version: a table measured on one machine misleads on the next (the same fused steps that speed
an MLP VAE up barely move a convolutional denoiser, and the input pipeline shifts the balance;
docs/speed.md). So the first run of a configuration times a few steps of every
candidate (aecli.training.step_timing.measure_variants, in turns), keeps the fastest, and
remembers it in `step_choices.json` in the user's cache folder, keyed by everything that changes
the answer; later runs of that configuration reuse it for free. `aecli bench --refresh` measures
again.

`hardware.fuse_steps=auto` adds, where XLA is on and a call has several steps, the same call with
its steps in one XLA program (aecli/training/fused_steps.py, as a loop or unrolled): it speeds
some models up and slows others down many times over (docs/speed.md), so it is measured too.

`hardware=mixed` (precision mixed_auto) on a CPU that computes bfloat16 natively adds float32 to
the candidates: such a CPU has the instructions, yet bfloat16 is not faster for every model (on
one such CPU it sped the convolutional denoiser up and slowed the MLP VAE's matmuls down;
docs/speed.md), so the precision is measured with the rest.
"""

import fcntl
import hashlib
import json
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from aecli.config.model import Architecture
from aecli.config.run import AUTO, FuseSteps, JitCompile, Precision, TrainConfig
from aecli.rundir.atomic import write_json
from aecli.training import fused_steps

log = logging.getLogger(__name__)

CACHE_FILE = "step_choices.json"
# 2: every choice carries its precision; 3: and whether its steps are fused (fuse_steps)
CACHE_VERSION = 3
# `trainer.steps_per_execution=auto` picks among these; a run too short to measure uses the last.
STEPS_PER_CALL_CANDIDATES = (1, 8)
MEASURE_STEPS = 16
MEASURE_REPEATS = 3
# Measuring costs a compilation and about (1 + MEASURE_REPEATS) x MEASURE_STEPS steps per
# candidate (measuring_steps); a run spends at most this share of its steps on it, else it uses
# the unmeasured defaults (XLA off: no compilation either, the last steps-per-call candidate, the
# precision the device chose) unless a choice is cached.
MAX_SHARE_MEASURING = 0.1


class Candidate(NamedTuple):
    """XLA on; steps per compiled call; dtype policy; how the call's steps run (FuseSteps' off,
    loop or unrolled)."""

    jit: bool
    per_call: int
    precision: str
    fused: str = FuseSteps.off.value


# samples/s of the configured run under each candidate, measured together
Timer = Callable[[list[Candidate]], list[float]]


@dataclass(frozen=True)
class StepChoice:
    """jit: XLA on; steps_per_execution: train steps per compiled call; precision: the dtype policy
    to train under; fused: off, or how the call's steps run in one XLA program (loop, unrolled);
    source: setting | mirrored | cached | measured now | short run; reason: one
    line for the terminal; detail: the measured figures and where they are cached, for the log and
    `aecli bench`; measured: one {"jit_compile", "steps_per_execution", "precision",
    "fuse_steps", "samples_per_second"} per candidate timed (now or when the choice was cached)."""

    jit: bool
    steps_per_execution: int
    precision: str
    fused: str
    source: str
    reason: str
    measured: list = field(default_factory=list)
    detail: str = ""


FUSED_WORDS = {"loop": "fused in an XLA loop", "unrolled": "fused unrolled"}


def describe(
    jit: bool, per_call: int, precision: str | None = None, fused: str = FuseSteps.off.value
) -> str:
    """'XLA on, 8 steps per call', then how they are fused where they are ('fused in an XLA
    loop'), preceded by the precision where it was a candidate."""
    step = f"XLA {'on' if jit else 'off'}, {per_call} step{'s' * (per_call > 1)} per call"
    if fused in FUSED_WORDS:
        step += f", {FUSED_WORDS[fused]}"
    return f"precision {precision}, {step}" if precision else step


def cache_dir() -> Path:
    """$AECLI_CACHE_DIR, else $XDG_CACHE_HOME/aecli, else ~/.cache/aecli."""
    if os.environ.get("AECLI_CACHE_DIR"):
        return Path(os.environ["AECLI_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "aecli"
    return Path.home() / ".cache" / "aecli"


def config_key(cfg: TrainConfig, input_shape, placement) -> dict:
    """Everything that changes which compiled step wins: the network's shapes, the batch, the
    precision, the device, the CPU (model and instruction flags), TensorFlow's version, whether its
    oneDNN kernels are on (they speed up the steps without XLA), and which of the two settings
    were left to `auto` (the candidates)."""
    import tensorflow as tf

    from aecli.training.hardware import cpu_identity

    model = cfg.model
    cpu = cpu_identity()
    widths = model.conv_filters  # the encoder's, mirrored by the decoder
    if model.architecture == Architecture.mlp:
        widths = [*model.hidden_units, *model.decoder_units]
    return {
        "family": type(model).__name__,
        "architecture": model.architecture.value,
        "input_shape": [int(n) for n in input_shape],
        "widths": [int(n) for n in widths],
        "decoder_activation": model.decoder_activation.value,
        "latent_dim": int(model.latent_dim),
        "noise": model.noise.type.value,
        "batch_size": cfg.trainer.batch_size,
        "jit_compile": cfg.hardware.jit_compile.value,
        "fuse_steps": cfg.hardware.fuse_steps.value,
        "steps_per_execution": cfg.trainer.steps_per_execution,
        "precision": "/".join(precisions(cfg, placement)),
        "device": _device_name(placement),
        "cpu_model": cpu.model,
        "cpu_flags": cpu.flags_hash,
        "tensorflow": tf.__version__,
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
    }


def _device_name(placement) -> str:
    if not placement.on_gpu:
        return "cpu"
    import tensorflow as tf

    gpu = tf.config.list_physical_devices("GPU")[0]
    return "gpu:" + tf.config.experimental.get_device_details(gpu).get("device_name", "unknown")


def key_id(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def load_choices(path: Path) -> dict:
    """The cached choices; an unreadable or foreign file counts as empty (it is rewritten), and so
    does one an earlier aecli wrote (its choices lack what this one keys on)."""
    try:
        content = json.loads(path.read_text())
        if content.get("version") == CACHE_VERSION and isinstance(content.get("choices"), dict):
            return content["choices"]
        if isinstance(content.get("version"), int) and content["version"] < CACHE_VERSION:
            log.info("%s was written by an earlier aecli; measuring again", path)
            return {}
        log.warning("%s has an unknown layout; measuring again and rewriting it", path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, AttributeError) as error:
        log.warning("%s is unreadable (%s); measuring again and rewriting it", path, error)
    return {}


def precisions(cfg: TrainConfig, placement) -> tuple[str, ...]:
    """The dtype policies to time: the one in force, and float32 too where `hardware=mixed` chose
    bfloat16 for a CPU by its instruction flags (a GPU's choice stands: float16 or bfloat16 there
    is a matter of tensor cores, and float32 is never faster)."""
    if (
        cfg.hardware.precision == Precision.mixed_auto
        and not placement.on_gpu
        and placement.precision == Precision.mixed_bfloat16.value
    ):
        return (placement.precision, Precision.float32.value)
    return (placement.precision,)


def fused_forms(setting: FuseSteps) -> tuple[str, ...]:
    """How the steps of a call may run under `hardware.fuse_steps`: Keras' loop (off) and, under
    auto, each fused form; only the form asked for where one is."""
    if setting == FuseSteps.auto:
        return (FuseSteps.off.value, *fused_steps.FORMS)
    return (setting.value,)


def candidates(cfg: TrainConfig, placement) -> list[Candidate]:
    """The variants to time: every combination of what is left to `auto` that can run (fused
    steps need XLA and several steps per call, so asking for them rules out the rest)."""
    jits = (
        (False, True)
        if cfg.hardware.jit_compile == JitCompile.auto
        else (cfg.hardware.jit_compile == JitCompile.on,)
    )
    per_calls = (
        STEPS_PER_CALL_CANDIDATES
        if cfg.trainer.steps_per_execution == AUTO
        else (cfg.trainer.steps_per_execution,)
    )
    return combinations(
        precisions(cfg, placement), jits, per_calls, fused_forms(cfg.hardware.fuse_steps)
    )


def combinations(precisions_, jits, per_calls, forms) -> list[Candidate]:
    """Every (precision, XLA, steps per call, fused form) that can run, in that nesting order:
    a fused form only with XLA and several steps per call (aecli.training.fused_steps.applies)."""
    return [
        Candidate(jit, per_call, precision, fused)
        for precision in precisions_
        for jit in jits
        for per_call in per_calls
        for fused in forms
        if fused == FuseSteps.off.value or fused_steps.applies(jit, per_call)
    ]


def measuring_steps(options: list[Candidate]) -> int:
    """Steps that timing `options` trains: per candidate a warm-up epoch, MEASURE_REPEATS timed
    ones, and one call that starts its iterator (aecli.training.step_timing.measure_variants)."""
    steps = whole_calls(MEASURE_STEPS, [option.per_call for option in options])
    return sum((1 + MEASURE_REPEATS) * steps + option.per_call for option in options)


def whole_calls(steps: int, per_calls) -> int:
    """`steps` rounded down to whole calls of every steps-per-call in `per_calls` (at least one
    call): they are 1 and one N, so to whole calls of the largest."""
    longest = max(per_calls)
    return max(steps // longest, 1) * longest


def choose(
    cfg: TrainConfig,
    input_shape,
    placement,
    planned_steps: int | None = None,
    refresh: bool = False,
    timer: Timer | None = None,
    arrays=None,
) -> StepChoice:
    """XLA, steps per call and (under `hardware=mixed` on a CPU with bfloat16 instructions)
    precision for this run. `planned_steps` None measures whatever the run's length; `refresh`
    measures even when a choice is cached; `timer` replaces the real measurement (otherwise
    aecli.training.step_timing.measure_variants on `arrays`)."""
    options = candidates(cfg, placement)
    settings = (
        f"hardware.jit_compile={cfg.hardware.jit_compile.value}, "
        f"trainer.steps_per_execution={cfg.trainer.steps_per_execution}"
    )
    # fuse_steps is named where it was set or could have fused: else it changed nothing
    if cfg.hardware.fuse_steps != FuseSteps.auto or any(
        fused_steps.applies(option.jit, option.per_call) for option in options
    ):
        settings += f", hardware.fuse_steps={cfg.hardware.fuse_steps.value}"
    first = options[0]  # XLA off where it is left to auto, the fewest steps per call, the policy
    from aecli.training import hardware

    if hardware.plain_steps_only(placement):
        if cfg.hardware.jit_compile == JitCompile.on:
            log.warning("hardware.jit_compile=on is not supported with several replicas; using off")
        if cfg.hardware.fused:
            log.warning("hardware.fuse_steps is not supported with several replicas; using off")
        per_call = hardware.steps_per_execution(first.per_call, placement)
        return StepChoice(
            False,
            per_call,
            first.precision,
            FuseSteps.off.value,
            "mirrored",
            f"{describe(False, per_call)}: {hardware.PLAIN_STEPS_REASON}, so neither is measured",
        )
    if len(options) == 1:
        return StepChoice(
            *first,
            "setting",
            f"{describe(first.jit, first.per_call, fused=first.fused)}: {settings}",
        )
    key = config_key(cfg, input_shape, placement)
    path = cache_dir() / CACHE_FILE
    cached = load_choices(path).get(key_id(key))
    if cached is not None and not refresh:
        choice = StepChoice(
            cached["jit_compile"],
            cached["steps_per_execution"],
            cached["precision"],
            cached["fuse_steps"],
            "cached",
            "",
            cached["measured"],
        )
        return _explained(choice, f"measured here on {cached['measured_at']}", path)
    if not refresh and planned_steps is not None:
        cost = measuring_steps(options)
        if cost > MAX_SHARE_MEASURING * planned_steps:
            # XLA off where auto (no compilation), so steps unfused unless asked for; the most
            # steps per call; the policy in force
            jit, per_call, fused = first.jit, options[-1].per_call, first.fused
            return StepChoice(
                jit,
                per_call,
                first.precision,
                fused,
                "short run",
                f"{describe(jit, per_call, fused=fused)}, not measured: timing the "
                f"{len(options)} candidates trains {cost} steps, over "
                f"{MAX_SHARE_MEASURING:.0%} of this run's {planned_steps}; a run of "
                f"{math.ceil(cost / MAX_SHARE_MEASURING):,} steps or more, or `aecli bench`, "
                "measures once and caches the fastest",
            )
    timer = timer or _step_timer(cfg, arrays, placement)
    measured = [
        {
            "jit_compile": jit,
            "steps_per_execution": per_call,
            "precision": precision,
            "fuse_steps": fused,
            "samples_per_second": speed,
        }
        for (jit, per_call, precision, fused), speed in zip(options, timer(options), strict=True)
    ]
    best = max(measured, key=lambda m: m["samples_per_second"])
    _remember(
        path,
        key_id(key),
        {
            "key": key,
            "jit_compile": best["jit_compile"],
            "steps_per_execution": best["steps_per_execution"],
            "precision": best["precision"],
            "fuse_steps": best["fuse_steps"],
            "measured": measured,
            "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        },
    )
    choice = StepChoice(
        best["jit_compile"],
        best["steps_per_execution"],
        best["precision"],
        best["fuse_steps"],
        "measured now",
        "",
        measured,
    )
    return _explained(choice, "measured now", path)


def _explained(choice: StepChoice, when: str, path: Path) -> StepChoice:
    """The choice with its reason and detail; precisions named where more than one was timed."""
    several = len({m["precision"] for m in choice.measured}) > 1
    speeds = "; ".join(
        describe(
            m["jit_compile"],
            m["steps_per_execution"],
            m["precision"] if several else None,
            m["fuse_steps"],
        )
        + f": {m['samples_per_second']:,.0f}"
        for m in choice.measured
    )
    shown = choice.precision if several else None
    return replace(
        choice,
        reason=f"{describe(choice.jit, choice.steps_per_execution, shown, choice.fused)}: the "
        "fastest of "
        f"{len(choice.measured)} candidates {when}",
        detail=f"samples/s measured: {speeds}; cached in {path}",
    )


def _remember(path: Path, key_hash: str, choice: dict) -> None:
    """Add one choice to the cache file. The jobs of a parallel sweep measure at the same time:
    each re-reads the file under an exclusive lock just before writing, so none drops what
    another wrote while it was measuring. A cache that cannot be written (a full or read-only
    disk) costs a measurement next time, never the run."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            choices = load_choices(path)
            choices[key_hash] = choice
            write_json(path, {"version": CACHE_VERSION, "choices": choices})
    except OSError as error:
        log.warning("the measured choice was not cached in %s (%s)", path, error.strerror or error)


def _step_timer(cfg: TrainConfig, arrays, placement) -> Timer:
    """A few steps of the configured run itself per candidate, with fresh models, timed in turns
    (aecli.training.step_timing.measure_variants); the seeds are reset afterwards so a run that
    measured trains exactly as one that read the cache."""
    import keras

    from aecli.training import hardware
    from aecli.training.step_timing import measure_variants

    def timer(options: list[Candidate]) -> list[float]:
        steps = whole_calls(MEASURE_STEPS, [option.per_call for option in options])
        measured, _ = measure_variants(cfg, arrays, placement, options, steps, MEASURE_REPEATS)
        hardware.clear_session()
        keras.utils.set_random_seed(cfg.seed)
        return [m.samples_per_second for m in measured]

    return timer
