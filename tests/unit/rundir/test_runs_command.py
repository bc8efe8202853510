"""`aecli runs` over 200 run records: filter, sort, group by sweep, choose columns, each format, at
80 and 200 columns, with failed and damaged runs among them."""

import csv
import io
import json
import os

import pytest
import yaml
from run_records import settings, write_run

from aecli.commands import resume, runs
from aecli.console import console
from aecli.errors import UserError
from aecli.rundir.fields import alias, resolve
from aecli.rundir.layout import RunFolder

BETAS = (0.5, 1.0, 2.0, 4.0, 8.0)
SWEEPS = 4
PER_SWEEP = 45  # 4 sweeps of 45 jobs, 19 single runs and a damaged one: 200 runs


def _metrics(beta: float, seed: int, index: int) -> dict:
    return {
        "val_loss": 100 / (1 + beta) + seed + index * 1e-4,
        "test_elbo": -100 / (1 + beta) - seed - index * 1e-4,
        "test_recon_mse": 0.01 * beta,
        "test_kl_per_dim": [0.1, 0.2],
    }


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            os, "fsync", lambda descriptor: None
        )  # 600 files: the disk need not keep them
        return build(tmp_path_factory.mktemp("runs") / "outputs")


def build(root):
    """outputs/ with 4 sweeps over beta and seed (vae), single runs (vanilla and vae; one failed,
    one extended by `aecli resume RUN trainer.epochs=5`) and a damaged record."""
    from hydra import compose, initialize_config_dir

    from aecli.config.store import CONF_DIR, register

    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        base = {
            model: settings(
                lambda *o: compose("train", overrides=list(o)),
                f"model={model}",
                "dataset=synthetic",
                "trainer.epochs=3",
                "paths.root_dir=/tmp/aecli-compose",
            )
            for model in ("vae", "vanilla")
        }
    index = 0
    for sweep in range(SWEEPS):
        folder = root / "train-multirun" / f"2026-12-0{sweep + 1}_10-00-00_ab{sweep}"
        folder.mkdir(parents=True)
        task = ["model=vae", f"beta={','.join(map(str, BETAS))}", "seed=0,1,2,3,4,5,6,7,8"]
        (folder / "multirun.yaml").write_text(
            yaml.safe_dump({"hydra": {"overrides": {"task": task}}})
        )
        for job in range(PER_SWEEP):
            beta, seed = BETAS[job % 5], job // 5
            write_run(
                folder / f"{job}_beta={beta},seed={seed}",
                base["vae"],
                ["model=vae", f"beta={beta}", f"seed={seed}"],
                metrics=_metrics(beta, seed, index),
                seed=seed,
                model__beta=beta,
            )
            index += 1
    for single in range(19):
        model = "vanilla" if single % 2 else "vae"
        failed = single == 4
        write_run(
            root / "train" / f"2026-11-{single + 10}_09-00-00_cd{single}",
            base[model],
            [f"model={model}", f"seed={single}"],
            status="failed" if failed else "completed",
            error="trainer.batch_size=4096 is larger than the training set (480 examples). Lower "
            "it to 480 or less.\nSecond line of the error."
            if failed
            else None,
            metrics=None if failed else {"val_loss": 50.0 + single, "test_recon_mse": 0.5},
            seed=single,
        )
    damaged = root / "train" / "2026-11-01_00-00-00_zz"
    write_run(damaged, base["vae"], ["beta=3"], metrics={"val_loss": 1.0})
    RunFolder(damaged).config.write_text("model: 5\nseed: 7\n")
    extended = RunFolder(root / "train" / "2026-11-10_09-00-00_cd0")
    resume._extend(extended, resume.load_run_config(extended.path), "trainer.epochs=5", {})
    return root


def _table(*args, width: int) -> str:
    previous = console.width
    console.width = width
    try:
        with console.capture() as captured:
            assert runs.main([*args]) == 0
    finally:
        console.width = previous
    return captured.get()


def _rows(text: str) -> list[str]:
    """The lines under the table's rule, but the reason lines."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("─")) + 1
    return [line for line in lines[start:] if not line.startswith("  ↳") and line]


@pytest.mark.parametrize("width", [80, 200])
def test_every_run_is_one_line_within_the_width(outputs, width):
    text = _table(str(outputs), width=width)
    assert text.splitlines()[0] == f"200 runs under {outputs}"
    assert all(len(line) <= width for line in text.splitlines())
    rows = _rows(text)
    assert len([row for row in rows if not row.startswith("not shown")]) == 200
    header = text.splitlines()[
        text.splitlines().index(next(line for line in text.splitlines() if line.startswith("─")))
        - 1
    ]
    # what tells these runs apart earns a column: the model, β and seed, the metrics
    for column in ("model", "beta", "seed", "status", "val_loss"):
        assert f" {column} " in f" {header} "


def test_the_columns_that_do_not_fit_at_80_are_named_and_shown_at_200(outputs):
    narrow = _table(str(outputs), width=80)
    wide = _table(str(outputs), width=200)
    assert "test_recon_mse" in narrow.split("not shown for width")[-1]
    assert "not shown for width" not in wide


def test_a_failed_run_gives_its_reason_on_a_second_line_and_whole_with_errors(outputs):
    text = _table(str(outputs), width=80)
    (reason,) = [line for line in text.splitlines() if line.startswith("  ↳ failed")]
    assert reason.startswith("  ↳ failed: trainer.batch_size=4096 is larger than the training")
    assert len(reason) == 80 and reason.endswith("…")
    whole = _table(str(outputs), "--errors", "--where", "status=failed", width=80)
    assert "Second line of the error." in whole and "Lower it" in " ".join(whole.split())


def test_a_damaged_record_is_a_row_that_says_so(outputs):
    text = _table(str(outputs), "--where", "seed=7", width=200)
    assert "damaged record: config.yaml's `model` is `5`, not a section" in text
    assert "2026-11-01_00-00-00_zz" in text


def test_where_filters_by_config_values_metrics_and_status(outputs):
    text = _table(str(outputs), "--where", "model=vae beta>=2 status=completed", width=200)
    assert text.splitlines()[0].startswith(
        f"108 of 200 runs under {outputs} where model.name=vae model.beta>=2 status=completed"
    )
    assert "same in all: status=completed model=vae" in text
    numbers = _table(str(outputs), "--where", "val_loss<20", "--where", "seed!=0", width=200)
    # β=8 (val_loss 11.1 + seed) of seeds 1 to 8 in 4 sweeps, and the damaged record
    assert numbers.splitlines()[0].startswith("33 of 200")


def test_sort_answers_which_beta_and_seed_gave_the_best_validation_loss(outputs):
    text = _table(
        str(outputs),
        "--where",
        "model=vae status=completed",
        "--sort",
        "val_loss",
        "--columns",
        "beta,seed,val_loss",
        width=80,
    )
    best = _rows(text)[0].split()
    assert best[0].endswith("ab0/4_beta=8.0,seed=0") and best[1:] == ["8", "0", "11.11"]
    descending = _rows(
        _table(str(outputs), "--sort", "-test_elbo", "--columns", "test_elbo", width=80)
    )
    assert descending[0].split()[-1] == "-11.11"
    assert (
        _rows(
            _table(
                str(outputs), "--sort", "test_elbo", "--desc", "--columns", "test_elbo", width=80
            )
        )[0]
        == descending[0]
    )


def test_a_resumed_run_is_listed_with_the_config_it_was_extended_to(outputs):
    text = _table(str(outputs), "--where", "epochs=5", "--columns", "epochs", width=80)
    assert text.splitlines()[0].startswith("1 of 200") and "cd0" in _rows(text)[0]


def test_sweep_groups_the_runs_one_block_per_sweep(outputs):
    text = _table("--sweep", str(outputs), "--where", "seed=0", width=100)
    blocks = [line for line in text.splitlines() if line.startswith(("sweep ", "not in a sweep"))]
    assert len(blocks) == SWEEPS + 1
    assert "not in a sweep: 1 runs" in blocks
    assert sum(block.endswith(": 5 runs") and block.startswith("sweep ") for block in blocks) == 4


def test_csv_and_json_carry_every_config_value_and_metric(outputs, capsys):
    assert runs.main([str(outputs), "--format", "csv", "--where", "model=vae"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 190  # 180 sweep jobs, 10 single runs; the damaged record has no model
    assert {"model.beta", "seed", "trainer.learning_rate", "val_loss", "test_kl_per_dim"} <= rows[
        0
    ].keys()
    assert runs.main([str(outputs), "--format", "json", "--sort", "val_loss"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 200 and len({frozenset(record) for record in records}) == 1
    assert records[0]["damage"] == "damaged record: config.yaml's `model` is `5`, not a section"
    assert records[1]["model.beta"] == 8.0 and records[1]["test_kl_per_dim"] == [0.1, 0.2]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--where", "beta~2"], "is not a condition"),
        (["--sort", "elbo_test"], "`elbo_test` in --sort is no field"),
        (["--columns", "seed,name,zz"], "`zz` in --columns is no field"),
        (["--where", "noise=4"], "`noise` in --where is no field"),
    ],
)
def test_a_bad_key_or_condition_is_one_clear_error(outputs, args, message):
    with pytest.raises(UserError, match=message):
        runs.main([str(outputs), *args])


def test_a_folder_given_both_as_root_and_to_sweep_is_refused(outputs):
    with pytest.raises(UserError, match="give the folder once"):
        runs.main([str(outputs), "--sweep", str(outputs)])


def test_a_short_name_that_ends_several_keys_is_refused_naming_them():
    keys = ["model.noise.level", "dataset.noise.level", "seed"]
    with pytest.raises(UserError, match="`level` in --where could mean `model.noise.level`, `data"):
        resolve("level", keys, "--where")
    assert resolve("model.noise.level", keys, "--where") == "model.noise.level"
    assert alias("model.noise.level", keys) == "model.noise.level"
    assert alias("seed", keys) == "seed"
