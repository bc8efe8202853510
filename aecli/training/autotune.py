"""`hardware.jit_compile=auto`: XLA on or off as measured on the machine the run lands on.

Whether XLA helps depends on the CPU (its vector units, its oneDNN kernels), the layer shapes,
the batch and the TensorFlow version: a table measured on one machine misleads on the next. So
the first run of a configuration times a few steps with XLA off and on (aecli.bench.measure),
keeps the faster, and remembers it in `jit_choices.json` in the user's cache folder, keyed by
everything that changes the answer; later runs of that configuration reuse it for free.
`aecli bench --refresh` measures again.
"""

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from aecli.config.model import Architecture
from aecli.config.run import JitCompile, TrainConfig
from aecli.rundir.atomic import write_json

log = logging.getLogger(__name__)

CACHE_FILE = "jit_choices.json"
CACHE_VERSION = 1
# Measuring costs two compilations and 2 x 3 x MEASURE_STEPS steps (a few seconds); a run shorter
# than this many steps would not earn that back, so it runs without XLA (no compilation either)
# and measures nothing, unless a choice is already cached.
MIN_STEPS_TO_MEASURE = 500
MEASURE_STEPS = 16
MEASURE_REPEATS = 2

# samples/s of the configured run with XLA off (False) or on (True)
Timer = Callable[[bool], float]


@dataclass(frozen=True)
class JitChoice:
    """jit: XLA on; source: setting | mirrored | cached | measured now | short run; reason: a
    sentence for the log; samples_per_second: the measured {"off": .., "on": ..} where there
    are any."""

    jit: bool
    source: str
    reason: str
    samples_per_second: dict = field(default_factory=dict)


def cache_dir() -> Path:
    """$AECLI_CACHE_DIR, else $XDG_CACHE_HOME/aecli, else ~/.cache/aecli."""
    if os.environ.get("AECLI_CACHE_DIR"):
        return Path(os.environ["AECLI_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "aecli"
    return Path.home() / ".cache" / "aecli"


def config_key(cfg: TrainConfig, input_shape, placement) -> dict:
    """Everything that changes whether XLA wins: the network's shapes, the batch, the precision,
    the device, the CPU (model and instruction flags), TensorFlow's version and whether its
    oneDNN kernels are on (they speed up the steps without XLA)."""
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


def choose(
    cfg: TrainConfig,
    input_shape,
    placement,
    planned_steps: int | None = None,
    refresh: bool = False,
    timer: Timer | None = None,
    arrays=None,
) -> JitChoice:
    """XLA on or off for this run. `planned_steps` None measures whatever the run's length;
    `refresh` measures even when a choice is cached; `timer` replaces the real measurement
    (otherwise aecli.bench.measure on `arrays`)."""
    if cfg.hardware.jit_compile != JitCompile.auto:
        return JitChoice(
            cfg.hardware.jit_compile == JitCompile.on,
            "setting",
            f"hardware.jit_compile={cfg.hardware.jit_compile.value}",
        )
    if placement.strategy.num_replicas_in_sync > 1:
        return JitChoice(
            False,
            "mirrored",
            "XLA off: TF 2.21 fails to run XLA-compiled steps "
            "mirrored over several devices (InvalidArgumentError), so it is not measured",
        )
    key = config_key(cfg, input_shape, placement)
    path = cache_dir() / CACHE_FILE
    choices = load_choices(path)
    cached = choices.get(key_id(key))
    if cached is not None and not refresh:
        speeds = cached["samples_per_second"]
        return JitChoice(
            cached["jit_compile"],
            "cached",
            f"XLA {_on_off(cached['jit_compile'])}: measured here on {cached['measured_at']}"
            f" ({_speeds(speeds)}), cached in {path}",
            speeds,
        )
    if not refresh and planned_steps is not None and planned_steps < MIN_STEPS_TO_MEASURE:
        return JitChoice(
            False,
            "short run",
            f"XLA off: this run's {planned_steps} steps are too few to "
            f"earn back measuring XLA (from {MIN_STEPS_TO_MEASURE} steps it is measured "
            "once and cached)",
        )
    timer = timer or _bench_timer(cfg, arrays, placement)
    speeds = {"off": timer(False), "on": timer(True)}
    jit = speeds["on"] > speeds["off"]
    _remember(
        path,
        key_id(key),
        {
            "key": key,
            "jit_compile": jit,
            "samples_per_second": speeds,
            "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        },
    )
    return JitChoice(
        jit,
        "measured now",
        f"XLA {_on_off(jit)}: measured now ({_speeds(speeds)}), cached in {path}",
        speeds,
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


def _on_off(jit: bool) -> str:
    return "on" if jit else "off"


def _speeds(speeds: dict) -> str:
    return f"{speeds['off']:.0f} samples/s without XLA, {speeds['on']:.0f} samples/s with"


def _bench_timer(cfg: TrainConfig, arrays, placement) -> Timer:
    """A few steps of the configured run itself, with fresh models; the seeds are reset afterwards
    so a run that measured trains exactly as one that read the cache."""
    import keras

    from aecli.bench import measure

    per_call = cfg.trainer.steps_per_execution
    steps = max(MEASURE_STEPS // per_call, 1) * per_call

    def timer(jit: bool) -> float:
        measurement, _ = measure(cfg, arrays, placement, jit, per_call, steps, MEASURE_REPEATS)
        keras.backend.clear_session()
        keras.utils.set_random_seed(cfg.seed)
        return measurement.samples_per_second

    return timer
