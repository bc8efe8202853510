"""`hardware.jit_compile=auto` and `trainer.steps_per_execution=auto`: the compiled step as
measured on the machine the run lands on.

Whether XLA helps, and whether fusing several steps into one compiled call does, depends on the
CPU (its vector units, its oneDNN kernels), the layer shapes, the batch and the TensorFlow
version: a table measured on one machine misleads on the next (on a Zen 2 EPYC, eight steps per
call sped an MLP VAE up 1.7x without XLA, and moved a convolutional denoiser by -8% to +1%
depending on the input pipeline). So the first run of a
configuration times a few steps of every candidate (aecli.bench.measure), keeps the fastest, and
remembers it in `step_choices.json` in the user's cache folder, keyed by everything that changes
the answer; later runs of that configuration reuse it for free. `aecli bench --refresh` measures
again.
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

from aecli.config.model import Architecture
from aecli.config.run import AUTO, JitCompile, TrainConfig
from aecli.rundir.atomic import write_json

log = logging.getLogger(__name__)

CACHE_FILE = "step_choices.json"
CACHE_VERSION = 1
# `trainer.steps_per_execution=auto` picks among these; a run too short to measure uses the last.
STEPS_PER_CALL_CANDIDATES = (1, 8)
MEASURE_STEPS = 16
MEASURE_REPEATS = 2
# Measuring costs a compilation and (1 + MEASURE_REPEATS) x MEASURE_STEPS steps per candidate; a
# run spends at most this share of its steps on it, else it uses the unmeasured defaults (XLA
# off: no compilation either, the last steps-per-call candidate) unless a choice is cached.
MAX_SHARE_MEASURING = 0.1

# samples/s of the configured run with XLA off/on (False/True) at N steps per compiled call
Timer = Callable[[bool, int], float]


@dataclass(frozen=True)
class StepChoice:
    """jit: XLA on; steps_per_execution: train steps per compiled call; source: setting |
    mirrored | cached | measured now | short run; reason: one line for the terminal; detail: the
    measured figures and where they are cached, for the log and `aecli bench`; measured: one
    {"jit_compile", "steps_per_execution", "samples_per_second"} per candidate timed (now or when
    the choice was cached)."""

    jit: bool
    steps_per_execution: int
    source: str
    reason: str
    measured: list = field(default_factory=list)
    detail: str = ""


def describe(jit: bool, per_call: int) -> str:
    """'XLA on, 8 steps per call'."""
    return f"XLA {'on' if jit else 'off'}, {per_call} step{'s' * (per_call > 1)} per call"


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
    widths = model.hidden_units if model.architecture == Architecture.mlp else model.conv_filters
    return {
        "family": type(model).__name__,
        "architecture": model.architecture.value,
        "input_shape": [int(n) for n in input_shape],
        "widths": [int(n) for n in widths],
        "latent_dim": int(model.latent_dim),
        "noise": model.noise.type.value,
        "batch_size": cfg.trainer.batch_size,
        "jit_compile": cfg.hardware.jit_compile.value,
        "steps_per_execution": cfg.trainer.steps_per_execution,
        "precision": placement.precision,
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
    """The cached choices; an unreadable or foreign file counts as empty (it is rewritten)."""
    try:
        content = json.loads(path.read_text())
        if content.get("version") == CACHE_VERSION and isinstance(content.get("choices"), dict):
            return content["choices"]
        log.warning("%s has an unknown layout; measuring again and rewriting it", path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, AttributeError) as error:
        log.warning("%s is unreadable (%s); measuring again and rewriting it", path, error)
    return {}


def candidates(cfg: TrainConfig) -> list[tuple[bool, int]]:
    """(XLA, steps per call) pairs to time: every combination of what is left to `auto`."""
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
    return [(jit, per_call) for jit in jits for per_call in per_calls]


def measuring_steps(count: int) -> int:
    """Steps that timing `count` candidates trains (each: a warm-up epoch and the timed ones)."""
    return count * (1 + MEASURE_REPEATS) * MEASURE_STEPS


def choose(
    cfg: TrainConfig,
    input_shape,
    placement,
    planned_steps: int | None = None,
    refresh: bool = False,
    timer: Timer | None = None,
    arrays=None,
) -> StepChoice:
    """XLA and steps per call for this run. `planned_steps` None measures whatever the run's
    length; `refresh` measures even when a choice is cached; `timer` replaces the real measurement
    (otherwise aecli.bench.measure on `arrays`)."""
    options = candidates(cfg)
    settings = (
        f"hardware.jit_compile={cfg.hardware.jit_compile.value}, "
        f"trainer.steps_per_execution={cfg.trainer.steps_per_execution}"
    )
    if placement.strategy.num_replicas_in_sync > 1:
        from aecli.training.hardware import steps_per_execution

        # the first candidate: XLA off where it is left to auto, the fewest steps per call
        jit, per_call = options[0][0], steps_per_execution(options[0][1], placement)
        return StepChoice(
            jit,
            per_call,
            "mirrored",
            f"{describe(jit, per_call)}: TF 2.21 fails to run XLA-compiled or fused steps "
            "mirrored over several devices (InvalidArgumentError), so neither is measured",
        )
    if len(options) == 1:
        return StepChoice(*options[0], "setting", f"{describe(*options[0])}: {settings}")
    key = config_key(cfg, input_shape, placement)
    path = cache_dir() / CACHE_FILE
    cached = load_choices(path).get(key_id(key))
    if cached is not None and not refresh:
        choice = StepChoice(
            cached["jit_compile"], cached["steps_per_execution"], "cached", "", cached["measured"]
        )
        return _explained(choice, f"measured here on {cached['measured_at']}", path)
    if not refresh and planned_steps is not None:
        cost = measuring_steps(len(options))
        if cost > MAX_SHARE_MEASURING * planned_steps:
            jit, per_call = options[0][0], options[-1][1]  # XLA off where auto: no compilation
            return StepChoice(
                jit,
                per_call,
                "short run",
                f"{describe(jit, per_call)}, not measured: timing the {len(options)} candidates "
                f"trains {cost} steps, over {MAX_SHARE_MEASURING:.0%} of this run's "
                f"{planned_steps}; a run of {math.ceil(cost / MAX_SHARE_MEASURING):,} steps or "
                "more, or `aecli bench`, measures once and caches the fastest",
            )
    timer = timer or _bench_timer(cfg, arrays, placement)
    measured = [
        {
            "jit_compile": jit,
            "steps_per_execution": per_call,
            "samples_per_second": timer(jit, per_call),
        }
        for jit, per_call in options
    ]
    best = max(measured, key=lambda m: m["samples_per_second"])
    _remember(
        path,
        key_id(key),
        {
            "key": key,
            "jit_compile": best["jit_compile"],
            "steps_per_execution": best["steps_per_execution"],
            "measured": measured,
            "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        },
    )
    choice = StepChoice(
        best["jit_compile"], best["steps_per_execution"], "measured now", "", measured
    )
    return _explained(choice, "measured now", path)


def _explained(choice: StepChoice, when: str, path: Path) -> StepChoice:
    speeds = "; ".join(
        f"{describe(m['jit_compile'], m['steps_per_execution'])}: {m['samples_per_second']:,.0f}"
        for m in choice.measured
    )
    return replace(
        choice,
        reason=f"{describe(choice.jit, choice.steps_per_execution)}: the fastest of "
        f"{len(choice.measured)} candidates {when}",
        detail=f"samples/s measured: {speeds}; cached in {path}",
    )


def _remember(path: Path, key_hash: str, choice: dict) -> None:
    """Add one choice to the cache file. The jobs of a parallel sweep measure at the same time:
    each re-reads the file under an exclusive lock just before writing, so none drops what
    another wrote while it was measuring."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        choices = load_choices(path)
        choices[key_hash] = choice
        write_json(path, {"version": CACHE_VERSION, "choices": choices})


def _bench_timer(cfg: TrainConfig, arrays, placement) -> Timer:
    """A few steps of the configured run itself, with fresh models; the seeds are reset afterwards
    so a run that measured trains exactly as one that read the cache."""
    import keras

    from aecli.bench import measure
    from aecli.training import hardware

    def timer(jit: bool, per_call: int) -> float:
        steps = max(MEASURE_STEPS // per_call, 1) * per_call
        measurement, _ = measure(cfg, arrays, placement, jit, per_call, steps, MEASURE_REPEATS)
        hardware.clear_session()
        keras.utils.set_random_seed(cfg.seed)
        return measurement.samples_per_second

    return timer
