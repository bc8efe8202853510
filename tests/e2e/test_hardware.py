"""Hardware paths run for real on this CPU: mixed precision, a two-replica mirrored strategy,
the benchmark."""

import json
import math

import pytest
from run_records import STARTUP_PHASES

from aecli.config.run import Precision
from aecli.training.hardware import BF16_CPU_FLAGS, cpu_identity, resolve_precision

SMALL = [
    "dataset=synthetic",
    "dataset.kind=shapes",
    "dataset.size=1200",
    "model.hidden_units=[32]",
    "model.latent_dim=4",
    "trainer.epochs=2",
    "trainer.batch_size=64",
    "seed=3",
]

# a model small enough to bench in seconds
BENCHED = ["dataset=synthetic", "dataset.size=1200", "model.hidden_units=[16]"]


def _metrics(aecli, tmp_path, name, *overrides):
    result = aecli("train", *SMALL, *overrides, f"hydra.run.dir={tmp_path / name}")
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((tmp_path / name / "metrics.json").read_text()), result


def test_mixed_picks_this_cpus_precision_says_so_and_loss_is_close_to_float32(aecli, tmp_path):
    expected, _ = resolve_precision(
        Precision.mixed_auto, on_gpu=False
    )  # bfloat16 where the CPU has it
    full, _ = _metrics(aecli, tmp_path, "float32", "model=vae", "hardware=cpu")
    mixed, result = _metrics(aecli, tmp_path, "mixed", "model=vae", "hardware=mixed")
    assert full["precision"] == "float32" and mixed["precision"] == expected
    assert f"precision {expected}: " in result.stdout + result.stderr
    assert mixed["test_loss"] == pytest.approx(full["test_loss"], rel=0.01)
    assert mixed["test_recon_mse"] == pytest.approx(full["test_recon_mse"], rel=0.02)


def test_float16_on_a_cpu_runs_but_warns_that_it_is_slower(aecli, tmp_path):
    result = aecli(
        "train",
        "dataset=synthetic",
        "dataset.kind=circle",
        "dataset.size=600",
        "model.hidden_units=[16]",
        "trainer.epochs=1",
        "hardware.precision=mixed_float16",
        f"hydra.run.dir={tmp_path / 'float16'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mixed_float16 on a CPU-only run" in result.stdout + result.stderr


def test_mirrored_strategy_over_two_logical_cpus_matches_one_device(aecli, tmp_path):
    single, _ = _metrics(aecli, tmp_path, "single", "model=vanilla", "hardware=cpu")
    mirrored, result = _metrics(
        aecli,
        tmp_path,
        "mirrored",
        "model=vanilla",
        "hardware=multi_gpu",
        "hardware.device=cpu",
        "hardware.cpu_devices=2",
    )
    assert "mirrored over 2 replicas" in result.stdout + result.stderr
    assert math.isfinite(mirrored["test_loss"])
    # the same global batch and learning rate: per-replica loss scaling keeps the update the same
    # size
    assert mirrored["test_loss"] == pytest.approx(single["test_loss"], rel=0.05)


def test_gpu_hardware_without_a_gpu_is_a_clear_error(aecli):
    result = aecli("train", *SMALL, "hardware=gpu")
    assert result.returncode == 2
    assert "hardware=gpu" in result.stderr and "hardware=cpu" in result.stderr
    assert "Traceback" not in result.stderr


def test_bench_reports_every_variant_and_the_measured_auto_choice_that_train_then_reuses(
    aecli, tmp_path
):
    env = {"AECLI_CACHE_DIR": str(tmp_path / "cache")}
    # two steps a call where the default is 8: the same candidates, a smaller program to unroll
    config = [*BENCHED, "trainer.batch_size=32", "trainer.steps_per_execution=2"]
    bench = ("bench", "--steps", "8", "--repeats", "1", "--steps-per-execution", "1,2")
    result = aecli(*bench, *config, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(next(tmp_path.glob("outputs/bench/*/bench.json")).read_text())
    variants = {
        (v["jit_compile"], v["steps_per_execution"], v["fuse_steps"]) for v in report["variants"]
    }
    # fused steps where XLA is on with several steps a call, as a loop and unrolled
    assert variants == {
        *((jit, per_call, "off") for jit in (False, True) for per_call in (1, 2)),
        (True, 2, "loop"),
        (True, 2, "unrolled"),
    }
    assert all(v["samples_per_second"] > 0 for v in report["variants"])
    assert report["variants"][0]["ratio_to_first"] == 1.0
    assert report["seconds_to_first_step"] > 0 and 0 < report["input_share_of_step"]
    # where the time to the first step went: every phase, from the process's start
    split = report["startup_seconds"]
    assert set(split) == {*STARTUP_PHASES} - {"choosing the compiled step"}
    assert min(split.values()) >= 0
    assert sum(split.values()) == pytest.approx(report["seconds_to_first_step"])
    assert "time to the first training step" in result.stdout
    # `auto` for XLA and fused steps: every candidate timed, the fastest kept
    assert report["auto_source"] == "measured now" and 0 < report["auto_ratio_to_best"] <= 1
    assert [
        (m["jit_compile"], m["steps_per_execution"], m["fuse_steps"])
        for m in report["auto_measured"]
    ] == [(False, 2, "off"), (True, 2, "off"), (True, 2, "loop"), (True, 2, "unrolled")]
    assert "samples/s" in result.stdout and "trains with (measured now)" in result.stdout
    cached = json.loads((tmp_path / "cache" / "step_choices.json").read_text())["choices"]
    [choice] = cached.values()
    assert (choice["jit_compile"], choice["steps_per_execution"], choice["fuse_steps"]) == (
        report["auto_jit_compile"],
        report["auto_steps_per_execution"],
        report["auto_fuse_steps"],
    )

    # a run of the same configuration, however short, reuses the choice without measuring
    trained = aecli(
        "train", *config, "trainer.epochs=1", f"hydra.run.dir={tmp_path / 'run'}", env=env
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "measured here on" in trained.stdout + trained.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (metrics["jit_compile"], metrics["steps_per_execution"], metrics["fuse_steps"]) == (
        choice["jit_compile"],
        choice["steps_per_execution"],
        choice["fuse_steps"],
    )


def test_bench_under_a_mirrored_strategy_times_the_one_variant_it_can_run(aecli, tmp_path):
    """TF 2.21 fails to run XLA-compiled or fused steps mirrored: bench used to crash on them."""
    result = aecli(
        "bench",
        "--steps",
        "8",
        "--repeats",
        "1",
        *SMALL,
        "hardware=multi_gpu",
        "hardware.device=cpu",
        "hardware.cpu_devices=2",
        env={"AECLI_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(next(tmp_path.glob("outputs/bench/*/bench.json")).read_text())
    assert [(v["jit_compile"], v["steps_per_execution"]) for v in report["variants"]] == [
        (False, 1)
    ]
    assert report["auto_source"] == "mirrored" and report["auto_ratio_to_best"] == 1.0


@pytest.mark.skipif(
    not any(flag in cpu_identity().flags for flag in BF16_CPU_FLAGS),
    reason="hardware=mixed times float32 against bfloat16 only on a CPU with AMX or AVX512_BF16",
)
def test_mixed_on_a_bfloat16_cpu_benches_both_precisions_and_trains_in_the_cached_one(
    aecli, tmp_path
):
    env = {"AECLI_CACHE_DIR": str(tmp_path / "cache")}
    # only the precision left to measure: XLA off, 8 steps per call, Keras' loop (so the bench
    # table, which times every XLA setting, times no fused form either)
    config = [
        "hardware=mixed",
        "hardware.jit_compile=off",
        "hardware.fuse_steps=off",
        "trainer.steps_per_execution=8",
        *BENCHED,
    ]
    bench = ("bench", "--steps", "8", "--repeats", "1", "--steps-per-execution", "8")
    result = aecli(*bench, *config, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(next(tmp_path.glob("outputs/bench/*/bench.json")).read_text())
    assert {v["precision"] for v in report["variants"]} == {"mixed_bfloat16", "float32"}
    assert [m["precision"] for m in report["auto_measured"]] == ["mixed_bfloat16", "float32"]
    assert 0 < report["auto_ratio_to_best"] <= 1
    assert f"precision {report['auto_precision']}, XLA" in result.stdout

    # the run follows the cached precision, whichever it is: flipped here, so that following the
    # CPU's flags instead (bfloat16) cannot pass for following the cache
    path = tmp_path / "cache" / "step_choices.json"
    cache = json.loads(path.read_text())
    [choice] = cache["choices"].values()
    choice["precision"] = {"float32": "mixed_bfloat16", "mixed_bfloat16": "float32"}[
        choice["precision"]
    ]
    path.write_text(json.dumps(cache))
    trained = aecli(
        "train", *config, "trainer.epochs=1", f"hydra.run.dir={tmp_path / 'run'}", env=env
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["precision"] == choice["precision"]
    assert f"precision {choice['precision']}, XLA" in trained.stdout + trained.stderr
