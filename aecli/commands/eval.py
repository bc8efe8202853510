"""`aecli eval RUN_DIR [eval.k=5000] [eval.bound_limit=1000] [eval.split=test]
[eval.dci_estimator=gbt|extra_trees] [dataset.limit=N]`: test metrics of a finished run."""

import contextlib
from pathlib import Path

from rich.table import Table

from aecli.commands._options import parse_options
from aecli.config.run import DCIEstimator
from aecli.console import console
from aecli.errors import UserError
from aecli.rundir.atomic import write_json

# L_5000 of Fashion-MNIST's whole test split is 50 million decoder passes, a quarter of an hour
# and more on a laptop CPU: by default the bound takes a seeded subset, so that `aecli eval`
# answers in about a minute; eval.bound_limit=null gives the published protocol (Burda et al.).
DEFAULTS = {
    "eval.k": 5000,
    "eval.bound_limit": 1000,
    "eval.split": "test",
    "eval.dci_estimator": None,
    "dataset.limit": None,
}
HELP = {
    "eval.k": "importance samples of the bound L_k on log p(x) (VAEs)",
    "eval.bound_limit": "L_k on this many examples of the split, drawn by the run's seed; "
    "null = the whole split (Burda et al.'s protocol: eval.k=5000 eval.bound_limit=null)",
    "eval.split": "the split to evaluate: test, val or train",
    "eval.dci_estimator": "DCI's trees (datasets with known factors): gbt, disentanglement_lib's "
    "(minutes), or extra_trees (seconds, reported as dci_extra_trees_*); null = the run's own",
    "dataset.limit": "evaluate the first N examples of the split; null = all",
}
DESCRIPTION = (
    "Reload a finished run and measure it on one split: reconstruction MSE and BCE, "
    "PSNR, SSIM (images), for VAEs the ELBO and L_k; writes eval.json in the run."
)


def main(args) -> int:
    run_dir, options = parse_options(args, DEFAULTS, "eval", DESCRIPTION, HELP)
    estimators = [estimator.value for estimator in DCIEstimator]
    if options["eval.dci_estimator"] not in (None, *estimators):
        raise UserError(
            f"eval.dci_estimator={options['eval.dci_estimator']} is not an estimator; use "
            f"{' or '.join(estimators)}, or null for the one the run was trained with."
        )
    from aecli.evaluation.metrics import evaluate_run  # TensorFlow loads here
    from aecli.evaluation.reload import load_run

    run = load_run(Path(run_dir), limit=options["dataset.limit"])
    report = evaluate_run(
        run,
        options["eval.split"],
        options["eval.k"],
        options["eval.dci_estimator"],
        options["eval.bound_limit"],
        _bound_progress(options["eval.k"], options["eval.split"]),
    )
    write_json(run.folder.eval_report, report)
    table = Table(
        title=f"eval of {run.folder.path} on {report['split']} ({report['examples']} examples)"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report.items():
        if isinstance(value, list):
            shown = ", ".join(f"{v:.3g}" for v in value)
        else:
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        table.add_row(key, shown)
    console.print(table)
    console.print(f"wrote {run.folder.eval_report}")
    return 0


def _bound_progress(k: int, split: str):
    """Says what the bound will cost before it starts, then a bar with its rate and ETA."""

    @contextlib.contextmanager
    def progress(passes: int, examples: int, split_examples: int):
        from aecli.evaluation.progress import evaluation_progress

        subset = (
            f"{examples:,} of {split_examples:,} {split} examples, drawn by the run's seed "
            "(eval.bound_limit=null for all)"
            if examples < split_examples
            else f"all {examples:,} {split} examples"
        )
        console.print(f"L_{k} on {subset}: {passes:,} decoder passes", soft_wrap=True)
        with evaluation_progress(passes, f"L_{k}", unit="decoder passes") as (advance, _):
            yield advance

    return progress
