"""The path of one run: hardware -> data -> model -> fit with callbacks -> evaluate -> write outputs."""

import logging
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from aecli import hardware  # noqa: E402
from aecli.callbacks import ImageGrids, RichProgress  # noqa: E402
from aecli.config.schema import TrainConfig, VAEConfig  # noqa: E402
from aecli.data import load_arrays  # noqa: E402
from aecli.evaluation import evaluate  # noqa: E402
from aecli.models import build_model  # noqa: E402
from aecli.outputs import print_config, print_metrics, save_networks, write_metrics  # noqa: E402
from aecli.pipeline import make_pipelines  # noqa: E402

log = logging.getLogger(__name__)
# tf.distribute reports every all-reduce at INFO
logging.getLogger("tensorflow").setLevel(logging.WARNING)


def train(cfg: TrainConfig, run_dir: Path) -> dict:
    """Train `cfg` into `run_dir` and return the metrics written to metrics.json."""
    print_config(run_dir)
    placement = hardware.configure(cfg.hardware)
    keras.utils.set_random_seed(cfg.seed)

    arrays = load_arrays(cfg.dataset, cfg.seed)
    data = make_pipelines(arrays, cfg.trainer.batch_size, cfg.model.noise, cfg.seed)
    jit, why = hardware.jit_compile(cfg.hardware, cfg.model.architecture, placement)
    log.info("XLA %s: %s", "on" if jit else "off", why)
    with placement.strategy.scope():
        model = build_model(cfg.model, arrays.input_shape, beta=cfg.beta, seed=cfg.seed)
        model.compile(optimizer=hardware.optimizer(cfg.trainer.learning_rate, placement), jit_compile=jit,
                      steps_per_execution=cfg.trainer.steps_per_execution)

    callbacks = [
        keras.callbacks.TensorBoard(run_dir / "tensorboard", write_graph=False, profile_batch=0),
        RichProgress(cfg.trainer.epochs, data.steps_per_epoch),
    ]
    if len(arrays.input_shape) == 3:
        x_in, x_clean = next(iter(data.val))
        callbacks.append(ImageGrids(run_dir / "tensorboard" / "images", x_in.numpy(), x_clean.numpy(),
                                    every=cfg.trainer.image_every))
    start = time.perf_counter()
    history = model.fit(data.train, validation_data=data.val, epochs=cfg.trainer.epochs,
                        callbacks=callbacks, shuffle=False, verbose=0)  # tf.data shuffles
    seconds = time.perf_counter() - start
    epochs_completed = len(history.epoch)

    metrics = {
        "model": cfg.model.name,
        "dataset": cfg.dataset.name.value,
        "beta": cfg.beta if isinstance(cfg.model, VAEConfig) else None,
        "seed": cfg.seed,
        "epochs_completed": epochs_completed,
        "train_examples": len(arrays.train.x),
        "train_seconds": seconds,
        "train_samples_per_second": epochs_completed * data.steps_per_epoch * cfg.trainer.batch_size / seconds,
        "jit_compile": jit,
        **evaluate(model, data.test),
    }
    save_networks(model, run_dir)
    write_metrics(run_dir, metrics)
    print_metrics(metrics)
    return metrics
