"""hardware.jit_compile=auto and trainer.steps_per_execution=auto: measured once per configuration
on this machine, cached, reused."""

import json
from types import SimpleNamespace

import pytest
import tensorflow as tf

from aecli.config.validate import validate
from aecli.errors import ConfigError
from aecli.training import autotune
from aecli.training.hardware import Placement

PLACEMENT = Placement(on_gpu=False, mixed=False, strategy=tf.distribute.get_strategy())
SHAPE = (28, 28, 1)


ALL = [(False, 1), (False, 8), (True, 1), (True, 8)]


class CountingTimer:
    """Stands in for the measurement: fixed samples/s per XLA setting, `fused` times that at 8
    steps per call, `bfloat16` times that under mixed_bfloat16, and which candidates it was asked
    for ((XLA, steps per call), and the precision of each in `precisions`)."""

    def __init__(self, off=100.0, on=150.0, fused=1.0, bfloat16=1.0, in_xla=None):
        self.speeds, self.fused, self.bfloat16 = {False: off, True: on}, fused, bfloat16
        self.in_xla = in_xla or {}  # fuse_steps form: factor over Keras' loop of XLA steps
        self.calls, self.precisions, self.forms = [], [], []

    def __call__(self, candidates) -> list[float]:
        return [self.speed(*candidate) for candidate in candidates]

    def speed(self, jit: bool, per_call: int, precision: str, fused: str) -> float:
        self.calls.append((jit, per_call))
        self.precisions.append(precision)
        self.forms.append(fused)
        half = self.bfloat16 if precision == "mixed_bfloat16" else 1.0
        in_xla = self.in_xla.get(fused, 1.0)
        return self.speeds[jit] * (self.fused if per_call > 1 else 1.0) * half * in_xla


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AECLI_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / autotune.CACHE_FILE


@pytest.fixture
def settings(compose_train):
    """XLA, steps per call and precision left to auto; fused steps off (their own tests below)."""
    return lambda *overrides: validate(
        compose_train("model=vae", "hardware=cpu", "hardware.fuse_steps=off", *overrides)
    )


def test_the_cache_folder_follows_the_environment(cache, tmp_path, monkeypatch):
    assert autotune.cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("AECLI_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert autotune.cache_dir() == tmp_path / "xdg" / "aecli"


def test_the_key_changes_with_batch_size_shapes_and_precision(settings):
    base = autotune.config_key(settings(), SHAPE, PLACEMENT)
    assert base["cpu_model"] and base["tensorflow"] == tf.__version__
    others = [
        autotune.config_key(settings("trainer.batch_size=64"), SHAPE, PLACEMENT),
        autotune.config_key(settings("model.hidden_units=[400]"), SHAPE, PLACEMENT),
        autotune.config_key(settings("model.decoder_hidden_units=[400]"), SHAPE, PLACEMENT),
        autotune.config_key(settings("model.decoder_activation=tanh"), SHAPE, PLACEMENT),
        autotune.config_key(settings("model.latent_dim=20"), SHAPE, PLACEMENT),
        autotune.config_key(settings("trainer.steps_per_execution=4"), SHAPE, PLACEMENT),
        autotune.config_key(settings(), (32, 32, 3), PLACEMENT),
        autotune.config_key(
            settings(), SHAPE, Placement(False, False, PLACEMENT.strategy, "mixed_bfloat16")
        ),
    ]
    ids = {autotune.key_id(key) for key in [base, *others]}
    assert len(ids) == 1 + len(others)
    assert autotune.key_id(autotune.config_key(settings(), SHAPE, PLACEMENT)) == autotune.key_id(
        base
    )


def test_the_first_run_measures_and_later_runs_reuse_the_cached_choice(settings, cache):
    timer = CountingTimer(off=100.0, on=150.0)
    first = autotune.choose(settings(), SHAPE, PLACEMENT, timer=timer)
    assert (first.jit, first.steps_per_execution, first.source) == (True, 1, "measured now")
    assert timer.calls == ALL
    assert first.reason == "XLA on, 1 step per call: the fastest of 4 candidates measured now"
    assert "XLA off, 8 steps per call: 100" in first.detail and str(cache) in first.detail
    again = autotune.choose(settings(), SHAPE, PLACEMENT, planned_steps=10_000, timer=timer)
    assert (again.jit, again.steps_per_execution, again.source) == (True, 1, "cached")
    assert [m["samples_per_second"] for m in again.measured] == [100.0, 100.0, 150.0, 150.0]
    assert len(timer.calls) == 4
    # another batch size is another configuration
    autotune.choose(settings("trainer.batch_size=64"), SHAPE, PLACEMENT, timer=timer)
    assert len(timer.calls) == 8
    assert len(json.loads(cache.read_text())["choices"]) == 2


def test_a_choice_cached_by_another_job_while_this_one_measured_is_kept(settings, cache):
    """Two jobs of a parallel sweep: the other one writes its choice during this one's timing."""

    def timer_while_another_job_caches(candidates) -> list[float]:
        autotune.choose(settings("trainer.batch_size=64"), SHAPE, PLACEMENT, timer=CountingTimer())
        return [150.0 if candidate.jit else 100.0 for candidate in candidates]

    autotune.choose(settings(), SHAPE, PLACEMENT, timer=timer_while_another_job_caches)
    timer = CountingTimer()
    for overrides in ([], ["trainer.batch_size=64"]):
        assert autotune.choose(settings(*overrides), SHAPE, PLACEMENT, timer=timer).source == (
            "cached"
        )
    assert timer.calls == []


def test_xla_stays_off_when_it_measures_slower(settings, cache):
    assert not autotune.choose(
        settings(), SHAPE, PLACEMENT, timer=CountingTimer(off=200.0, on=150.0)
    ).jit


def test_fused_steps_are_chosen_where_they_measure_faster(settings, cache):
    choice = autotune.choose(settings(), SHAPE, PLACEMENT, timer=CountingTimer(fused=1.2))
    assert (choice.jit, choice.steps_per_execution) == (True, 8)


def test_only_what_is_left_to_auto_is_measured(settings, cache):
    timer = CountingTimer(fused=1.2)
    fixed_jit = autotune.choose(settings("hardware.jit_compile=off"), SHAPE, PLACEMENT, timer=timer)
    assert timer.calls == [(False, 1), (False, 8)] and fixed_jit.steps_per_execution == 8
    timer = CountingTimer(fused=1.2)
    fixed_calls = settings("trainer.steps_per_execution=4")
    choice = autotune.choose(fixed_calls, SHAPE, PLACEMENT, timer=timer)
    assert timer.calls == [(False, 4), (True, 4)] and (choice.jit, choice.steps_per_execution) == (
        True,
        4,
    )


def test_refresh_measures_again_and_replaces_the_choice(settings, cache):
    autotune.choose(settings(), SHAPE, PLACEMENT, timer=CountingTimer(off=100.0, on=150.0))
    slower_now = CountingTimer(off=100.0, on=50.0)
    refreshed = autotune.choose(settings(), SHAPE, PLACEMENT, refresh=True, timer=slower_now)
    assert (refreshed.jit, refreshed.source, len(slower_now.calls)) == (False, "measured now", 4)
    assert not autotune.choose(settings(), SHAPE, PLACEMENT, timer=slower_now).jit
    assert len(slower_now.calls) == 4


def test_a_short_run_measures_nothing_and_runs_without_xla(settings, cache):
    """Timing 4 candidates trains 274 steps (per candidate 4 epochs of 16 and one call to start
    its iterator: 1 or 8): more than 10% of a run of 1,500."""
    timer = CountingTimer()
    choice = autotune.choose(settings(), SHAPE, PLACEMENT, planned_steps=1500, timer=timer)
    assert (choice.jit, choice.steps_per_execution, choice.source, timer.calls) == (
        False,
        8,
        "short run",
        [],
    )
    assert "274 steps" in choice.reason and not cache.exists()
    autotune.choose(settings(), SHAPE, PLACEMENT, planned_steps=3000, timer=timer)
    assert timer.calls == ALL


@pytest.mark.parametrize(
    "content", ["{not json", '["a list"]', '{"version": 99, "choices": {}}', ""]
)
def test_a_corrupt_cache_file_is_ignored_and_rewritten(settings, cache, content):
    cache.parent.mkdir(parents=True)
    cache.write_text(content)
    timer = CountingTimer()
    assert autotune.choose(settings(), SHAPE, PLACEMENT, timer=timer).source == "measured now"
    assert timer.calls == ALL
    assert json.loads(cache.read_text())["version"] == autotune.CACHE_VERSION


def test_an_explicit_setting_is_obeyed_without_measuring(settings, cache):
    timer = CountingTimer()
    choice = autotune.choose(
        settings("hardware.jit_compile=off", "trainer.steps_per_execution=2"),
        SHAPE,
        PLACEMENT,
        timer=timer,
    )
    assert (choice.jit, choice.steps_per_execution, choice.source, timer.calls) == (
        False,
        2,
        "setting",
        [],
    )
    assert choice.reason.endswith("trainer.steps_per_execution=2, hardware.fuse_steps=off")
    # fuse_steps left to auto where it could not fuse (XLA off) is not named
    left = autotune.choose(
        settings(
            "hardware.jit_compile=off", "trainer.steps_per_execution=2", "hardware.fuse_steps=auto"
        ),
        SHAPE,
        PLACEMENT,
        timer=timer,
    )
    assert left.reason == (
        "XLA off, 2 steps per call: hardware.jit_compile=off, trainer.steps_per_execution=2"
    )


# `hardware=mixed` on a CPU whose flags made it pick bfloat16 (AVX512_BF16 or AMX)
BFLOAT16_CPU = Placement(False, False, PLACEMENT.strategy, "mixed_bfloat16")


@pytest.mark.parametrize("bfloat16, expected", [(0.7, "float32"), (1.3, "mixed_bfloat16")])
def test_mixed_on_a_bfloat16_cpu_times_float32_too_and_keeps_the_faster(
    settings, cache, bfloat16, expected
):
    timer = CountingTimer(bfloat16=bfloat16)
    choice = autotune.choose(settings("hardware=mixed"), SHAPE, BFLOAT16_CPU, timer=timer)
    assert timer.calls == ALL + ALL
    assert timer.precisions == ["mixed_bfloat16"] * 4 + ["float32"] * 4
    assert (choice.precision, choice.jit, choice.source) == (expected, True, "measured now")
    assert choice.reason.startswith(f"precision {expected}, XLA on")
    assert "precision float32, XLA off, 1 step per call: 100" in choice.detail

    again = autotune.choose(settings("hardware=mixed"), SHAPE, BFLOAT16_CPU, timer=timer)
    assert (again.precision, again.source, len(timer.calls)) == (expected, "cached", 8)


def test_a_precision_set_explicitly_or_chosen_for_a_gpu_is_not_measured_against_float32(
    settings, cache
):
    timer = CountingTimer(bfloat16=0.5)
    explicit = autotune.choose(
        settings("hardware.precision=mixed_bfloat16"), SHAPE, BFLOAT16_CPU, timer=timer
    )
    assert explicit.precision == "mixed_bfloat16"
    assert set(timer.precisions) == {"mixed_bfloat16"} and "precision" not in explicit.reason
    mixed, gpu = (
        settings("hardware=mixed"),
        Placement(True, False, PLACEMENT.strategy, "mixed_bfloat16"),
    )
    assert autotune.precisions(mixed, gpu) == ("mixed_bfloat16",)
    assert autotune.precisions(mixed, BFLOAT16_CPU) == ("mixed_bfloat16", "float32")
    assert autotune.precisions(mixed, PLACEMENT) == ("float32",)  # a CPU without bfloat16


def test_a_short_mixed_run_keeps_the_precision_the_cpu_flags_chose(settings, cache):
    timer = CountingTimer()
    choice = autotune.choose(
        settings("hardware=mixed"), SHAPE, BFLOAT16_CPU, planned_steps=1500, timer=timer
    )
    assert (choice.precision, choice.source, timer.calls) == ("mixed_bfloat16", "short run", [])
    assert "timing the 8 candidates trains 548 steps" in choice.reason


def test_a_cache_written_before_choices_carried_their_precision_is_measured_again(settings, cache):
    cache.parent.mkdir(parents=True)
    old = {"jit_compile": True, "steps_per_execution": 8, "measured": [], "measured_at": "x"}
    key = autotune.key_id(autotune.config_key(settings(), SHAPE, PLACEMENT))
    cache.write_text(json.dumps({"version": 1, "choices": {key: old}}))
    timer = CountingTimer()
    assert autotune.choose(settings(), SHAPE, PLACEMENT, timer=timer).source == "measured now"
    assert json.loads(cache.read_text())["choices"][key]["precision"] == "float32"


def test_several_replicas_train_the_plain_step_whatever_was_asked(settings, cache):
    """TF 2.21 fails on XLA or fused steps mirrored over several devices: such a run trains with
    both off, measured or set, and times nothing."""
    two_replicas = Placement(False, False, SimpleNamespace(num_replicas_in_sync=2))
    timer = CountingTimer()
    for asked in [(), ("hardware.jit_compile=on", "trainer.steps_per_execution=8")]:
        choice = autotune.choose(settings(*asked), SHAPE, two_replicas, timer=timer)
        assert (choice.jit, choice.steps_per_execution, choice.source) == (False, 1, "mirrored")
    assert timer.calls == [] and not cache.exists()


# the candidates of hardware.fuse_steps=auto: Keras' loop of XLA steps, and the same 8 steps in one
# XLA program, as a loop and unrolled
FUSED = [(True, 8, "loop"), (True, 8, "unrolled")]


def _timed(timer) -> list[tuple]:
    return [(*call, form) for call, form in zip(timer.calls, timer.forms, strict=True)]


def test_fused_steps_are_timed_where_xla_is_on_with_several_steps_a_call(settings, cache):
    timer = CountingTimer(in_xla={"unrolled": 1.3, "loop": 1.1})
    choice = autotune.choose(settings("hardware.fuse_steps=auto"), SHAPE, PLACEMENT, timer=timer)
    assert _timed(timer) == [(*c, "off") for c in ALL] + FUSED
    assert (choice.jit, choice.steps_per_execution, choice.fused) == (True, 8, "unrolled")
    assert choice.reason.startswith("XLA on, 8 steps per call, fused unrolled: the fastest of 6")
    assert "XLA on, 8 steps per call, fused in an XLA loop: 165" in choice.detail
    cached = json.loads(cache.read_text())["choices"].popitem()[1]
    assert cached["fuse_steps"] == "unrolled"
    assert [m["fuse_steps"] for m in cached["measured"]] == ["off"] * 4 + ["loop", "unrolled"]
    again = autotune.choose(settings("hardware.fuse_steps=auto"), SHAPE, PLACEMENT, timer=timer)
    assert (again.fused, again.source, len(timer.calls)) == ("unrolled", "cached", 6)


def test_fused_steps_lose_where_they_measure_slower(settings, cache):
    timer = CountingTimer(fused=1.2, in_xla={"unrolled": 0.9, "loop": 0.05})
    choice = autotune.choose(settings("hardware.fuse_steps=auto"), SHAPE, PLACEMENT, timer=timer)
    assert (choice.jit, choice.steps_per_execution, choice.fused) == (True, 8, "off")


@pytest.mark.parametrize(
    "overrides",
    [("hardware.jit_compile=off",), ("trainer.steps_per_execution=1",), ()],
    ids=["xla_off", "one_step_a_call", "fuse_steps_off"],
)
def test_fused_steps_are_not_timed_where_they_cannot_run_or_are_off(settings, cache, overrides):
    fuse = [] if overrides else ["hardware.fuse_steps=off"]
    timer = CountingTimer()
    autotune.choose(
        settings("hardware.fuse_steps=auto", *overrides, *fuse), SHAPE, PLACEMENT, timer=timer
    )
    assert set(timer.forms) == {"off"}


@pytest.mark.parametrize("form", ["loop", "unrolled"])
def test_fused_steps_asked_for_are_obeyed_with_xla_and_the_most_steps_a_call(settings, cache, form):
    timer = CountingTimer()
    choice = autotune.choose(settings(f"hardware.fuse_steps={form}"), SHAPE, PLACEMENT, timer=timer)
    assert (choice.jit, choice.steps_per_execution, choice.fused, choice.source) == (
        True,
        8,
        form,
        "setting",
    )
    assert timer.calls == [] and f"hardware.fuse_steps={form}" in choice.reason


@pytest.mark.parametrize(
    "overrides, named",
    [
        (("hardware.jit_compile=off",), "hardware.jit_compile=off"),
        (("trainer.steps_per_execution=1",), "trainer.steps_per_execution=1"),
    ],
)
def test_fused_steps_without_xla_or_with_one_step_a_call_are_refused(
    compose_train, overrides, named
):
    with pytest.raises(ConfigError, match="hardware.fuse_steps") as refused:
        validate(compose_train("hardware.fuse_steps=loop", *overrides))
    assert named in str(refused.value)


def test_a_short_run_does_not_fuse_unless_asked(settings, cache):
    """Six candidates cost 418 steps: 2 x 65 (one step a call) + 4 x 72 (eight)."""
    short = autotune.choose(
        settings("hardware.fuse_steps=auto"),
        SHAPE,
        PLACEMENT,
        planned_steps=4000,
        timer=CountingTimer(),
    )
    assert (short.jit, short.fused, short.source) == (False, "off", "short run")
    assert "418 steps" in short.reason
    asked = autotune.choose(
        settings("hardware.fuse_steps=loop", "hardware.jit_compile=on"),
        SHAPE,
        PLACEMENT,
        planned_steps=100,
    )
    assert (asked.jit, asked.steps_per_execution, asked.fused) == (True, 8, "loop")


def test_several_replicas_do_not_fuse_steps_even_when_asked(settings, cache):
    two_replicas = Placement(False, False, SimpleNamespace(num_replicas_in_sync=2))
    choice = autotune.choose(settings("hardware.fuse_steps=loop"), SHAPE, two_replicas)
    assert (choice.jit, choice.steps_per_execution, choice.fused) == (False, 1, "off")
