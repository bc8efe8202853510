"""Run folders as `aecli train` leaves them, written in-process by the project's own writers
(the config as aecli/rundir/claim.py saves it, status.json by write_status, metrics.json by
write_json, the validation loss as Keras' TensorBoard callback logs it), without training."""

import copy
from pathlib import Path

import yaml
from omegaconf import OmegaConf

from aecli.config.validate import validate
from aecli.rundir.atomic import write_json, write_text
from aecli.rundir.layout import RunFolder
from aecli.rundir.status import write_status


def settings(compose_train, *overrides):
    """The validated config of `aecli train OVERRIDES` (the `compose_train` fixture composes), as
    its run saves it."""
    return saved_config(validate(compose_train(*overrides)))


def saved_config(config) -> dict:
    """The config as .hydra/config.yaml holds it (aecli/rundir/claim.py writes it so)."""
    return yaml.safe_load(OmegaConf.to_yaml(OmegaConf.structured(config)))


def write_run(
    folder: Path,
    config: dict,
    overrides: list[str],
    status: str = "completed",
    metrics: dict | None = None,
    error: str | None = None,
    **values,
) -> RunFolder:
    """A run folder of `config` (from `saved_config`); `values` set its fields (`seed=1`,
    `model__beta=4.0` for model.beta)."""
    config = copy.deepcopy(config)
    for key, value in values.items():
        *sections, name = key.split("__")
        node = config
        for section in sections:
            node = node[section]
        node[name] = value
    run = RunFolder(folder)
    run.config_dir.mkdir(parents=True)
    write_text(run.overrides, yaml.safe_dump(overrides))
    write_text(run.config, yaml.safe_dump(config, sort_keys=False))
    epochs = config["trainer"]["epochs"] if status == "completed" else 1
    write_status(run, status, epochs_completed=epochs, error=error)
    if metrics is not None:
        write_json(run.metrics, {"epochs_completed": epochs, **metrics})
    return run


def log_validation_losses(run: RunFolder, losses: list[float]) -> None:
    """`epoch_loss` per epoch in tensorboard/validation, as Keras' TensorBoard callback writes it
    (a tensor summary, step = the epoch counted from 0)."""
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(run.tensorboard_run("validation")))
    with writer.as_default():
        for epoch, loss in enumerate(losses):
            tf.summary.scalar("epoch_loss", loss, step=epoch)
    writer.close()


# the phases of `aecli train`'s start-up split (aecli.training.startup), in the order they end
STARTUP_PHASES = (
    "import aecli, Hydra",
    "compose",
    "import tensorflow",
    "import keras, aecli",
    "start-up",
    "data loading",
    "choosing the compiled step",
    "building the model",
    "first step",
)
