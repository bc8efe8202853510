"""logger=mlflow without training: a sweep's jobs are the runs of one experiment named after the
sweep, a single run goes to its task's; read back through MLflow's own client."""

from mlflow.tracking import MlflowClient

from aecli.config.validate import validate
from aecli.rundir.layout import RunFolder
from aecli.training.loggers import mlflow_tracking
from aecli.training.stopping import StopConditions


def _job(path, mode):
    """A run folder as claim leaves it: Hydra's config says whether a sweep ran it."""
    (path / ".hydra").mkdir(parents=True)
    (path / ".hydra" / "hydra.yaml").write_text(f"mode: {mode}\n")
    return RunFolder(path)


def test_a_sweep_is_one_experiment_with_a_run_per_job(compose_train, tmp_path):
    settings = validate(compose_train("logger=mlflow", run_dir=str(tmp_path)))
    sweep = tmp_path / "outputs" / "train-multirun" / "2026-12-04_01-00-00_abc123"
    jobs = [_job(sweep / name, "MULTIRUN") for name in ("0_beta=1", "1_beta=4")]
    single = _job(tmp_path / "outputs" / "train" / "2026-12-04_02-00-00_def456", "RUN")
    for number, folder in enumerate([*jobs, single]):
        run = mlflow_tracking.MlflowRun(settings, folder, StopConditions())
        run.on_epoch_end(0, {"loss": 2.0 + number})
        mlflow_tracking.finish_run(settings, folder, {"epochs_completed": 1, "test_loss": 1.0})

    client = MlflowClient(settings.logger.mlflow.tracking_uri)
    experiment = client.get_experiment_by_name("train-multirun/2026-12-04_01-00-00_abc123")
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.run_name"])
    assert [run.info.run_name for run in runs] == ["0_beta=1", "1_beta=4"]
    assert [run.data.metrics["loss"] for run in runs] == [2.0, 3.0]
    assert {run.info.status for run in runs} == {"FINISHED"}
    assert experiment.artifact_location == f"{tmp_path}/outputs/mlartifacts"
    (alone,) = client.search_runs([client.get_experiment_by_name("train").experiment_id])
    assert alone.info.run_name == single.path.name
    assert alone.data.tags["aecli.run_folder"] == str(single.path)
