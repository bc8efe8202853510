"""hardware.jit_compile=auto: measured once per configuration on this machine, cached, reused."""

import json

import pytest
import tensorflow as tf

from aecli.config.validate import validate
from aecli.training import autotune
from aecli.training.hardware import Placement

PLACEMENT = Placement(on_gpu=False, mixed=False, strategy=tf.distribute.get_strategy())
SHAPE = (28, 28, 1)


class CountingTimer:
    """Stands in for the measurement: fixed samples/s per variant, and how often it was asked."""

    def __init__(self, off=100.0, on=150.0):
        self.speeds, self.calls = {False: off, True: on}, []

    def __call__(self, jit: bool) -> float:
        self.calls.append(jit)
        return self.speeds[jit]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AECLI_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / autotune.CACHE_FILE


@pytest.fixture
def settings(compose_train):
    return lambda *overrides: validate(compose_train("model=vae", "hardware=cpu", *overrides))


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
        autotune.config_key(settings("model.latent_dim=20"), SHAPE, PLACEMENT),
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
    assert (first.jit, first.source, timer.calls) == (True, "measured now", [False, True])
    assert "150 samples/s" in first.reason and str(cache) in first.reason
    again = autotune.choose(settings(), SHAPE, PLACEMENT, planned_steps=10_000, timer=timer)
    assert (again.jit, again.source, again.samples_per_second) == (
        True,
        "cached",
        {"off": 100.0, "on": 150.0},
    )
    assert len(timer.calls) == 2
    # another batch size is another configuration
    autotune.choose(settings("trainer.batch_size=64"), SHAPE, PLACEMENT, timer=timer)
    assert len(timer.calls) == 4
    assert len(json.loads(cache.read_text())["choices"]) == 2


def test_a_choice_cached_by_another_job_while_this_one_measured_is_kept(settings, cache):
    """Two jobs of a parallel sweep: the other one writes its choice during this one's timing."""

    def timer_while_another_job_caches(jit: bool) -> float:
        if jit:
            autotune.choose(
                settings("trainer.batch_size=64"), SHAPE, PLACEMENT, timer=CountingTimer()
            )
        return 150.0 if jit else 100.0

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


def test_refresh_measures_again_and_replaces_the_choice(settings, cache):
    autotune.choose(settings(), SHAPE, PLACEMENT, timer=CountingTimer(off=100.0, on=150.0))
    slower_now = CountingTimer(off=100.0, on=50.0)
    refreshed = autotune.choose(settings(), SHAPE, PLACEMENT, refresh=True, timer=slower_now)
    assert (refreshed.jit, refreshed.source, len(slower_now.calls)) == (False, "measured now", 2)
    assert not autotune.choose(settings(), SHAPE, PLACEMENT, timer=slower_now).jit
    assert len(slower_now.calls) == 2


def test_a_short_run_measures_nothing_and_runs_without_xla(settings, cache):
    timer = CountingTimer()
    choice = autotune.choose(settings(), SHAPE, PLACEMENT, planned_steps=20, timer=timer)
    assert (choice.jit, choice.source, timer.calls) == (False, "short run", [])
    assert not cache.exists()


@pytest.mark.parametrize(
    "content", ["{not json", '["a list"]', '{"version": 99, "choices": {}}', ""]
)
def test_a_corrupt_cache_file_is_ignored_and_rewritten(settings, cache, content):
    cache.parent.mkdir(parents=True)
    cache.write_text(content)
    timer = CountingTimer()
    assert autotune.choose(settings(), SHAPE, PLACEMENT, timer=timer).source == "measured now"
    assert timer.calls == [False, True]
    assert json.loads(cache.read_text())["version"] == autotune.CACHE_VERSION


def test_an_explicit_setting_is_obeyed_without_measuring(settings, cache):
    timer = CountingTimer()
    choice = autotune.choose(settings("hardware.jit_compile=off"), SHAPE, PLACEMENT, timer=timer)
    assert (choice.jit, choice.source, timer.calls) == (False, "setting", [])
