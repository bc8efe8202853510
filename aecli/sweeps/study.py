"""An Optuna search (`hparams_search=optuna`) read back from its trial folders: the metric it
optimised and in which direction, its best run, and the two figures Optuna draws of a study,
optimization_history.png and param_importances.png (optuna.visualization.matplotlib).

Optuna's Hydra sweeper keeps its study in memory unless `hydra.sweeper.storage` is set, and writes
only optimization_results.yaml; so, like the rest of the summary (aecli/sweeps/summary.py), the
study is rebuilt from files: each trial's sampled values (its overrides) and objective (its
metrics.json). Rebuilt from this folder only, a continued study's figures show the trials of this
folder, numbered by their jobs.

Importances are Optuna's mean decrease in impurity of a random forest fitted to the trials
(`MeanDecreaseImpurityImportanceEvaluator`; Breiman 2001, "Random Forests"), seeded so that a
rebuilt summary draws the same figure, and drawn here as Optuna's `plot_param_importances` draws
them (one bar per parameter, the most important on top). The Optuna 2.10 that the Hydra sweeper
allows fails on today's libraries in both of its own steps: its default evaluator, fANOVA, reads
scikit-learn's trees in their layout before 1.4, and its figure calls `matplotlib.cm.get_cmap`,
removed in matplotlib 3.9.
"""

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aecli.rundir.atomic import save_figure
from aecli.rundir.listing import Run
from aecli.sweeps.aggregate import is_number
from aecli.sweeps.discover import hydra_config

HISTORY = "optimization_history.png"
IMPORTANCES = "param_importances.png"


@dataclass(frozen=True)
class Search:
    objective: str  # the metrics.json key each trial returned to the sweeper
    direction: str  # "minimize" or "maximize", as hydra.sweeper.direction says

    @property
    def extreme(self) -> str:
        return "lowest" if self.direction == "minimize" else "highest"

    def order(self, value: float) -> float:
        """A sort key: the best value first."""
        return value if self.direction == "minimize" else -value


def objective_name(config: Mapping) -> str:
    """The metric an aecli job returns to a sweeper: `anomaly.objective` for `aecli anomaly`, else
    the validation loss (aecli/commands/train.py, aecli/commands/anomaly.py)."""
    anomaly = config.get("anomaly")
    objective = anomaly.get("objective") if isinstance(anomaly, Mapping) else None
    return str(getattr(objective, "value", objective) or "val_loss")


def optuna_search(runs: list[Run]) -> Search | None:
    """What the sweep's Optuna sweeper optimised, from its first trial's records; None for a grid
    sweep (or one whose records say no more, or name no direction Optuna knows)."""
    for run in runs:
        sweeper = hydra_config(run.path).get("sweeper")
        if not isinstance(sweeper, dict) or not run.config:
            continue
        if "optuna" not in str(sweeper.get("_target_")):
            return None
        direction = sweeper.get("direction") or "minimize"
        if isinstance(direction, list) and len(direction) == 1:
            direction = direction[0]
        if str(direction).lower() not in ("minimize", "maximize"):
            return None  # a damaged record: summarized as any sweep
        return Search(objective_name(run.config), str(direction).lower())
    return None


def objective_value(record: dict, search: Search) -> float | None:
    """A run's objective, None unless it completed with a finite one (Optuna's sweeper records
    anything else as a failed trial)."""
    value = record.get(search.objective)
    if record.get("status") != "completed" or not is_number(value) or not math.isfinite(value):
        return None
    return float(value)


def ranked(records: list[dict], search: Search) -> list[dict]:
    """The records best objective first; those without one after them, in job order."""
    scored = [record for record in records if objective_value(record, search) is not None]
    rest = [record for record in records if objective_value(record, search) is None]
    return sorted(scored, key=lambda r: search.order(objective_value(r, search))) + rest


def best_run(records: list[dict], search: Search) -> str | None:
    """The folder name of the run with the best objective in this sweep folder."""
    best = ranked(records, search)[:1]
    return best[0]["run"] if best and objective_value(best[0], search) is not None else None


def _study(records: list[dict], params: list[str], search: Search):
    """An in-memory Optuna study of the records, one trial per run in job order: completed with
    its objective, failed, or still running (a killed trial, as Optuna's own storage has it). Each
    parameter's distribution spans the values the trials took: numbers as a range, else the
    choices."""
    import optuna
    from optuna.distributions import CategoricalDistribution, UniformDistribution
    from optuna.trial import TrialState, create_trial

    distributions = {}
    for key in params:
        values = [record[key] for record in records if record.get(key) is not None]
        if values and all(is_number(value) for value in values):
            distributions[key] = UniformDistribution(min(values), max(values))
        elif values:
            distributions[key] = CategoricalDistribution(sorted({str(v) for v in values}))
    study = optuna.create_study(direction=search.direction)
    for record in records:
        value = objective_value(record, search)
        state = (
            TrialState.COMPLETE
            if value is not None
            else TrialState.FAIL
            if record.get("status") in ("completed", "failed")
            else TrialState.RUNNING
        )
        sampled = {
            key: record[key] if is_number(record[key]) else str(record[key])
            for key in distributions
            if record.get(key) is not None
        }
        study.add_trial(
            create_trial(
                state=state,
                value=value,
                params=sampled,
                distributions={key: distributions[key] for key in sampled},
            )
        )
    return study


def _importance_refusal(study, params: list[str]) -> str | None:
    """Why Optuna cannot rank the parameters of this study, or None."""
    from optuna.trial import TrialState

    completed = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    if len(params) < 2:
        return f"the search varies {len(params)} parameter (Optuna ranks two or more)"
    if completed < 2:
        return f"{completed} trial completed (Optuna needs two or more)"
    return None


def _save(axis, path: Path) -> None:
    import matplotlib.pyplot as plt

    figure = axis.figure
    figure.set_size_inches(7, 4.5)
    figure.tight_layout()
    try:
        save_figure(figure, path, dpi=120)
    finally:
        plt.close(figure)


def _importances_axis(importances: dict, objective: str):
    """Optuna's figure of parameter importances: horizontal bars, the most important on top."""
    import matplotlib.pyplot as plt

    names = list(reversed(importances))
    values = [importances[name] for name in names]
    figure, axis = plt.subplots()
    bars = axis.barh(names, values, color="tab:blue")
    axis.bar_label(bars, labels=[f"{value:.2f}" for value in values], padding=3)
    axis.set_xlim(0, max(values) * 1.15 or 1)
    axis.set_title("Hyperparameter Importances")
    axis.set_xlabel(f"Importance for {objective}")
    axis.set_ylabel("Hyperparameter")
    return axis


def write_study_plots(
    sweep_dir: Path, records: list[dict], params: list[str], search: Search
) -> list[str]:
    """optimization_history.png and param_importances.png in `sweep_dir`; one line per figure
    Optuna could not draw, saying why (the earlier file of that name is removed)."""
    import matplotlib

    matplotlib.use("Agg")
    import optuna
    from matplotlib.ticker import MaxNLocator
    from optuna.importance import MeanDecreaseImpurityImportanceEvaluator
    from optuna.visualization import matplotlib as optuna_plots

    sweep_dir = Path(sweep_dir)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # not "A new study created in memory"
    notes = []
    try:
        # Optuna's figures set the "ggplot" style for the whole process: kept to these two
        with warnings.catch_warnings(), matplotlib.rc_context():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study = _study(records, params, search)
            if best_run(records, search) is None:
                (sweep_dir / HISTORY).unlink(missing_ok=True)
                notes.append(f"{HISTORY} not drawn: no trial completed with a {search.objective}")
            else:
                axis = optuna_plots.plot_optimization_history(study, target_name=search.objective)
                axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # trials are numbered
                _save(axis, sweep_dir / HISTORY)
            refusal = _importance_refusal(study, params)
            if refusal is None:
                try:
                    importances = optuna.importance.get_param_importances(
                        study, evaluator=MeanDecreaseImpurityImportanceEvaluator(seed=0)
                    )
                except (ValueError, RuntimeError) as error:  # Optuna's refusals
                    refusal = (str(error).strip().splitlines() or [type(error).__name__])[0]
                else:
                    _save(_importances_axis(importances, search.objective), sweep_dir / IMPORTANCES)
            if refusal is not None:
                (sweep_dir / IMPORTANCES).unlink(missing_ok=True)
                notes.append(f"{IMPORTANCES} not drawn: {refusal.rstrip('.')}")
    finally:
        optuna.logging.set_verbosity(verbosity)
    return notes
