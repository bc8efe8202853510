"""`aecli bench [--steps N] [--repeats R] [--steps-per-execution 1,8] [--refresh] [overrides]`:
measured training speed, and what `hardware.jit_compile=auto` and
`trainer.steps_per_execution=auto` (and `hardware=mixed`'s precision, on a CPU with bfloat16
instructions) pick here."""

import argparse
from datetime import datetime
from pathlib import Path

from hydra import compose, initialize_config_dir
from rich.table import Table

from aecli.config.store import CONF_DIR, register
from aecli.config.validate import validate
from aecli.console import console
from aecli.rundir.atomic import write_json
from aecli.training import startup
from aecli.training.autotune import whole_calls


def _arguments(args):
    parser = argparse.ArgumentParser(
        prog="aecli bench",
        description="Train the configured model with XLA off and on and several steps per "
        "execution, their steps fused into one XLA program where `hardware.fuse_steps` allows "
        "(and, under `hardware=mixed` on a CPU with AMX or AVX512_BF16, in bfloat16 "
        "and float32), timed in turns, and report samples/s (writes bench.json). Overrides are "
        "Hydra's, as for `aecli train`, e.g. "
        "`aecli bench model=conv_denoising dataset.limit=8192`.",
    )
    parser.add_argument("--steps", type=int, default=64, help="steps per timed round (default 64)")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timed rounds after the warm-up epoch; each variant's fastest is kept (default 3)",
    )
    parser.add_argument(
        "--steps-per-execution",
        default="1,8",
        help="comma-separated steps fused per compiled call (default 1,8)",
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="measure the candidates of `hardware.jit_compile=auto` and "
        "`trainer.steps_per_execution=auto` (and `hardware=mixed`'s precision) again, replacing "
        "the cached choice of this configuration",
    )
    return parser.parse_known_args(args)


def _table(report: dict) -> Table:
    table = Table(
        title=f"{report['model']} ({report['architecture']}) on {report['dataset']}, "
        f"{report['hardware']} {report['precision']}, batch {report['batch_size']}"
    )
    columns = (
        "precision",
        "XLA",
        "steps/call",
        "fused",
        "compile s",
        "step ms",
        "samples/s",
        "ratio",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for v in report["variants"]:
        table.add_row(
            v["precision"],
            "on" if v["jit_compile"] else "off",
            str(v["steps_per_execution"]),
            v["fuse_steps"],
            f"{v['compile_seconds']:.2f}",
            f"{v['step_ms']:.2f}",
            f"{v['samples_per_second']:.0f}",
            f"{v['ratio_to_first']:.2f}",
        )
    return table


def _startup_table(report: dict) -> Table:
    """Where the time to the first training step went, phase by phase."""
    split, total = report["startup_seconds"], report["seconds_to_first_step"]
    table = Table(title=f"time to the first training step: {total:.2f} s")
    for column in ("phase", "seconds", "share"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for phase, seconds in split.items():
        table.add_row(phase, f"{seconds:.2f}", f"{seconds / total:.0%}")
    own = total - split.get("import tensorflow", 0.0)
    table.caption = f"all but `import tensorflow`: {own:.2f} s"
    return table


def main(args) -> int:
    startup.clock.mark("import aecli, Hydra")
    options, overrides = _arguments(args)
    per_call = [int(n) for n in options.steps_per_execution.split(",")]
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out_dir = Path.cwd() / "outputs" / "bench" / stamp
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[f"paths.root_dir={Path.cwd()}", *overrides])
    settings = validate(cfg)
    steps = whole_calls(options.steps, per_call)
    startup.clock.mark("compose")

    bench = startup.import_with_tensorflow("aecli.bench")
    from aecli.data import load_arrays  # NumPy and the readers: counted with the data

    arrays = load_arrays(settings.dataset, settings.seed)
    startup.clock.mark("data loading")
    report = bench.run_benchmark(
        settings, arrays, steps, options.repeats, per_call, refresh=options.refresh
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "bench.json", report)
    console.print(_table(report))
    console.print(_startup_table(report))
    console.print(
        f"input pipeline {report['input_ms_per_step']:.2f} ms/step = "
        f"{100 * report['input_share_of_step']:.1f}% of the fastest step; CPU {report['cpu']}"
    )
    versus_best = (
        f"; that variant runs at {report['auto_ratio_to_best']:.2f}x the fastest above"
        if report["auto_ratio_to_best"] is not None
        else ""
    )
    console.print(
        f"what a run of this configuration trains with ({report['auto_source']}): "
        f"{report['auto_reason']}; {report['auto_detail']}"
        f"{versus_best}\nwrote {out_dir / 'bench.json'}"
    )
    return 0
