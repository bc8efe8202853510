"""`aecli eval RUN_DIR [eval.k=5000] [eval.split=test] [eval.dci_estimator=gbt|extra_trees]
[dataset.limit=N]`: test metrics of a finished run."""

from pathlib import Path

from rich.table import Table

from aecli.commands._options import parse_options
from aecli.config.run import DCIEstimator
from aecli.console import console
from aecli.errors import UserError
from aecli.rundir.atomic import write_json

DEFAULTS = {"eval.k": 5000, "eval.split": "test", "eval.dci_estimator": None, "dataset.limit": None}
HELP = {
    "eval.k": "importance samples of the bound L_k on log p(x) (VAEs)",
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
        run, options["eval.split"], options["eval.k"], options["eval.dci_estimator"]
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
