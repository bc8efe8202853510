"""An Optuna search read back from its trial records: its objective, its best run, Optuna's two
figures, and a one-line note where Optuna cannot draw one."""

import yaml

from aecli.config.run import Objective
from aecli.rundir.listing import read_run
from aecli.sweeps.study import (
    HISTORY,
    IMPORTANCES,
    Search,
    best_run,
    objective_name,
    optuna_search,
    ranked,
    write_study_plots,
)

MINIMISE = Search("val_loss", "minimize")


def _record(run, status, val_loss, beta, latent_dim=16.0):
    return {
        "run": run,
        "status": status,
        "val_loss": val_loss,
        "beta": beta,
        "model.latent_dim": latent_dim,
    }


RECORDS = [
    _record("0_beta=2.253", "completed", 12.5, 2.2530054232869765, 8.0),
    _record("1_beta=0.7", "failed", None, 0.7),
    _record("2_beta=3.1", "completed", 10.25, 3.1, 32.0),
    _record("3_beta=1.4", "completed", 11.0, 1.4, 16.0),
]


def test_the_objective_is_the_validation_loss_or_the_anomaly_objective():
    assert objective_name({"model": {}}) == "val_loss"
    assert objective_name({"anomaly": {"objective": "val_roc_auc"}}) == "val_roc_auc"
    # as the composed config holds it, before validation: the schema's enum
    assert objective_name({"anomaly": {"objective": Objective.val_pr_auc}}) == "val_pr_auc"


def test_records_rank_by_the_objective_in_its_direction_failed_runs_last():
    assert [r["run"][0] for r in ranked(RECORDS, MINIMISE)] == ["2", "3", "0", "1"]
    assert best_run(RECORDS, MINIMISE) == "2_beta=3.1"
    assert best_run(RECORDS, Search("val_loss", "maximize")) == "0_beta=2.253"
    assert best_run(RECORDS[1:2], MINIMISE) is None


def test_a_search_is_told_from_a_grid_by_its_trials_hydra_record(tmp_path):
    for name, sweeper in [
        ("optuna", {"_target_": "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper",
                    "direction": "maximize"}),
        ("grid", {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"}),
        ("damaged", {"_target_": "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper",
                     "direction": 5}),
    ]:  # fmt: skip
        run = tmp_path / name / "0"
        (run / ".hydra").mkdir(parents=True)
        (run / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"sweeper": sweeper}))
        config = {"anomaly": {"objective": "val_roc_auc"}}
        (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    assert optuna_search([read_run(tmp_path / "optuna" / "0")]) == Search("val_roc_auc", "maximize")
    assert optuna_search([read_run(tmp_path / "grid" / "0")]) is None
    assert optuna_search([read_run(tmp_path / "damaged" / "0")]) is None


def test_both_figures_of_a_study_with_completed_trials_and_two_parameters(tmp_path):
    notes = write_study_plots(tmp_path, RECORDS, ["beta", "model.latent_dim"], MINIMISE)
    assert notes == []
    for name in (HISTORY, IMPORTANCES):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_where_optuna_cannot_rank_parameters_a_note_says_why_and_no_stale_figure_stays(tmp_path):
    (tmp_path / IMPORTANCES).write_bytes(b"an earlier figure")
    one_parameter = write_study_plots(tmp_path, RECORDS, ["beta"], MINIMISE)
    assert one_parameter == [
        f"{IMPORTANCES} not drawn: the search varies 1 parameter (Optuna ranks two or more)"
    ]
    assert (tmp_path / HISTORY).exists() and not (tmp_path / IMPORTANCES).exists()
    one_completed = write_study_plots(tmp_path, RECORDS[:2], ["beta", "model.latent_dim"], MINIMISE)
    assert one_completed == [
        f"{IMPORTANCES} not drawn: 1 trial completed (Optuna needs two or more)"
    ]
    (tmp_path / HISTORY).unlink()
    none_completed = write_study_plots(tmp_path, RECORDS[1:2], ["beta"], MINIMISE)
    assert none_completed[0] == f"{HISTORY} not drawn: no trial completed with a val_loss"
    assert not (tmp_path / HISTORY).exists()
