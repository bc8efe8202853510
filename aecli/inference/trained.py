"""A completed run loaded for inference: its config, its networks and the records that say how a
raw example becomes the model's input and, for a detector, where the threshold lies. Nothing here
reads the training data: a run is used as it was saved, on any machine that has the folder."""

import json
import os
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from aecli.config.run import TrainConfig  # noqa: E402
from aecli.config.validate import load_run_config  # noqa: E402
from aecli.errors import UserError  # noqa: E402
from aecli.models import Autoencoder, build_model  # noqa: E402
from aecli.rundir.layout import RunFolder  # noqa: E402
from aecli.rundir.status import read_status  # noqa: E402


@dataclass
class Detector:
    """An anomaly run's decision: the score it flags on, and the threshold above which it flags,
    with how the threshold was set (anomaly.json)."""

    score: str
    threshold: float
    rule: str

    def as_record(self) -> dict:
        return {"score": self.score, "threshold": self.threshold, "threshold_rule": self.rule}


@dataclass
class TrainedModel:
    """What predict and export apply: the run's model and its preprocessing record."""

    folder: RunFolder
    cfg: TrainConfig
    model: Autoencoder
    preprocessing: dict
    detector: Detector | None
    metrics: dict

    @property
    def input_shape(self) -> tuple[int, ...]:
        return input_shape(self.preprocessing)

    @property
    def variational(self) -> bool:
        """Whether the model has a Gaussian posterior (log-variances, the negative ELBO)."""
        return self.cfg.model.variational


def input_shape(preprocessing: dict) -> tuple[int, ...]:
    """One model input's shape, from the preprocessing record."""
    if preprocessing["input"] == "table":
        return (len(preprocessing["columns"]),)
    return tuple(preprocessing["shape"])


def _read_json(path: Path, what: str, run: Path) -> dict:
    try:
        record = json.loads(path.read_text())
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
        return record
    except (OSError, ValueError) as error:
        raise UserError(
            f"The run {run} has a damaged {what} ({path.name}: {error}). Restore the file, "
            "or train the run again."
        ) from None


def load_trained(run_dir: Path, command: str) -> TrainedModel:
    """The completed run at `run_dir`, refused in one paragraph when it cannot be used: not a
    run, not completed, or made before aecli recorded its preprocessing."""
    folder = RunFolder(Path(run_dir))
    cfg = load_run_config(folder.path)  # refuses a folder that is not a run
    status = (read_status(folder) or {}).get("status")
    if status != "completed" or not all(path.exists() for path in folder.networks):
        raise UserError(
            f"{folder.path} is not a completed run (its status is {status or 'missing'}), so it "
            f"has no final networks to {command} with. Finish it with `aecli resume "
            f"{folder.path}`, or pick a completed run from `aecli runs`."
        )
    if not folder.preprocessing.exists():
        raise UserError(
            f"{folder.path} was trained before aecli recorded how a raw example becomes the "
            f"model's input (preprocessing.json: the image size and scaling, or a table's columns "
            f"and the mean and std of its training rows), so `aecli {command}` cannot reproduce "
            "that input without re-reading and re-splitting the training data. Train the run "
            "again with this version of aecli (the same command; `aecli runs` shows its "
            "overrides)."
        )
    preprocessing = _read_json(folder.preprocessing, "preprocessing record", folder.path)
    metrics = (
        _read_json(folder.metrics, "metrics.json", folder.path) if folder.metrics.exists() else {}
    )
    detector = None
    if folder.anomaly_report.exists():
        report = _read_json(folder.anomaly_report, "anomaly report", folder.path)
        score = report["score"]
        detector = Detector(score, float(report[score]["threshold"]), report["threshold_rule"])
    keras.utils.set_random_seed(cfg.seed)
    model = build_model(
        cfg.model,
        input_shape(preprocessing),
        seed=cfg.seed,
        dataset_size=int(metrics.get("train_examples") or 1),
    )
    for network, path in zip((model.encoder, model.decoder), folder.networks, strict=True):
        saved = keras.saving.load_model(path, safe_mode=True, compile=False)
        network.set_weights(saved.get_weights())
    return TrainedModel(folder, cfg, model, preprocessing, detector, metrics)
