"""logger=[csv,mlflow]: a tiny run and its extension, read back from history.csv and from a real
local MLflow store through MLflow's own client."""

import csv
import json

import mlflow
from mlflow.tracking import MlflowClient

SMALL = [
    "debug=smoke",
    "dataset=synthetic",
    "dataset.kind=circle",
    "dataset.size=600",
    "model.hidden_units=[16]",
    "trainer.epochs=2",
]


def test_csv_and_mlflow_record_each_epoch_the_config_and_the_result_across_a_resume(
    aecli, tmp_path
):
    run = tmp_path / "run"
    first = aecli("train", *SMALL, "logger=[csv,mlflow]", f"hydra.run.dir={run}")
    assert first.returncode == 0, first.stderr[-3000:]
    assert not (run / "tensorboard" / "train").exists()  # logger=[csv,mlflow] leaves it out
    extended = aecli("resume", str(run), "trainer.epochs=3")
    assert extended.returncode == 0, extended.stderr[-3000:]

    with open(run / "history.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    assert all(row["loss"] and row["val_loss"] for row in rows)

    uri = f"sqlite:///{tmp_path}/outputs/mlflow.db"  # the default store, under paths.log_dir
    assert json.loads((run / "mlflow_run.json").read_text())["tracking_uri"] == uri
    mlflow.set_tracking_uri(uri)
    found = mlflow.search_runs(experiment_names=["train"])
    assert len(found) == 1  # the extension went on logging to the same run
    (result,) = found.to_dict("records")
    assert result["status"] == "FINISHED"
    assert result["tags.mlflow.runName"] == "run"
    # every value of the config, overridden or not
    assert result["params.trainer.learning_rate"] == "0.001"
    assert result["params.model.hidden_units"] == "[16]"
    assert result["params.dataset.size"] == "600"
    assert result["params.trainer.epochs"] == "2"  # MLflow params never change: see the tag
    assert result["tags.aecli.resumed_with"] == "trainer.epochs=3"
    metrics = json.loads((run / "metrics.json").read_text())
    assert result["metrics.test_loss"] == metrics["test_loss"]

    client = MlflowClient(uri)
    history = client.get_metric_history(result["run_id"], "val_loss")
    assert [point.step for point in history] == [1, 2, 3]
    assert [point.value for point in history] == [float(row["val_loss"]) for row in rows]
    files = {item.path for item in client.list_artifacts(result["run_id"])}
    assert {"metrics.json", "provenance.json", "history.csv", "hydra"} <= files
    hydra = {item.path for item in client.list_artifacts(result["run_id"], "hydra")}
    assert hydra == {"hydra/config.yaml", "hydra/overrides.yaml"}
    logged = client.download_artifacts(result["run_id"], "metrics.json", str(tmp_path))
    assert json.loads(open(logged).read()) == metrics
