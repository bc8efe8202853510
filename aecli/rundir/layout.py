"""The layout of a run folder: the one place where the name of every file inside a run is spelled.

RUN/
  .hydra/config.yaml, overrides.yaml, hydra.yaml   the validated config, the command line, Hydra's
  run.lock                                         held by the process working on the run
  status.json                                      running | completed | failed | interrupted
  provenance.json                                  versions, git commit, command, machine, seeds
                                                   of the start and of each resume
                                                   (aecli/rundir/provenance.py)
  metrics.json                                     test metrics of the finished run
  history.csv                                      per-epoch metrics (logger=csv)
  mlflow_run.json                                  the MLflow run it logs to (logger=mlflow)
  preprocessing.json                               how a raw example becomes the model's input
  eval.json, anomaly.json, anomaly_scores.png      `aecli eval`, `aecli anomaly`
  encoder.keras, decoder.keras                     the trained networks
  checkpoints/                                     last, previous, best
                                                   (aecli/training/checkpoints.py)
  tensorboard/{train,validation,images,samples,projector,hparams}
  codes/{split}_codes.npy, {split}_labels.npy      `aecli encode`
  samples/*.png                                    `aecli sample`
  predictions/<name>/                              `aecli predict` (one folder per call)
  export/{saved_model,tflite}/                     `aecli export`: the model and metadata.json
"""

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunFolder:
    path: Path

    @property
    def config_dir(self) -> Path:
        return self.path / ".hydra"

    @property
    def config(self) -> Path:
        return self.config_dir / "config.yaml"

    @property
    def overrides(self) -> Path:
        return self.config_dir / "overrides.yaml"

    @property
    def hydra_config(self) -> Path:
        return self.config_dir / "hydra.yaml"

    @property
    def lock(self) -> Path:
        return self.path / "run.lock"

    @property
    def status(self) -> Path:
        return self.path / "status.json"

    @property
    def provenance(self) -> Path:
        return self.path / "provenance.json"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.json"

    @property
    def history_csv(self) -> Path:
        return self.path / "history.csv"

    @property
    def mlflow_run(self) -> Path:
        return self.path / "mlflow_run.json"

    @property
    def preprocessing(self) -> Path:
        return self.path / "preprocessing.json"

    @property
    def eval_report(self) -> Path:
        return self.path / "eval.json"

    @property
    def anomaly_report(self) -> Path:
        return self.path / "anomaly.json"

    @property
    def anomaly_histogram(self) -> Path:
        return self.path / "anomaly_scores.png"

    @property
    def networks(self) -> tuple[Path, Path]:
        """encoder.keras, decoder.keras."""
        return self.path / "encoder.keras", self.path / "decoder.keras"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    def tensorboard_run(self, name: str) -> Path:
        """A TensorBoard run of this folder: train, validation (Keras' own), images, samples,
        projector, hparams."""
        return self.tensorboard / name

    @property
    def codes(self) -> Path:
        return self.path / "codes"

    def code_file(self, split: str, what: str) -> Path:
        """codes/{split}_{what}.npy: what is `codes`, `labels` or `factors`."""
        return self.codes / f"{split}_{what}.npy"

    @property
    def predictions(self) -> Path:
        return self.path / "predictions"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    def export_dir(self, format: str) -> Path:
        """export/<format>/: one `aecli export` of the run (saved_model or tflite)."""
        return self.path / "export" / format

    def temporaries(self) -> list[Path]:
        """Files a killed writer left half done: every atomic write in aecli goes through a
        `.<name>...tmp...` file beside its target (rundir/atomic.py, checkpoints, networks,
        TensorBoard rewrites)."""
        return [
            path
            for path in self.path.rglob(".*tmp*")
            if path.is_file() and self.config_dir not in path.parents
        ]

    def holds_run(self) -> bool:
        """Whether an earlier run left its config or metrics here."""
        return self.config.exists() or self.metrics.exists()
