"""The story of one run: hardware -> data -> model -> fit with callbacks -> evaluate -> write."""

import logging
import math
import os
import signal
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from aecli.config.model import Likelihood, NoiseType  # noqa: E402
from aecli.config.run import TrainConfig  # noqa: E402
from aecli.data import load_arrays  # noqa: E402
from aecli.data.pipeline import make_pipelines  # noqa: E402
from aecli.errors import ConfigError  # noqa: E402
from aecli.evaluation.metrics import evaluate  # noqa: E402
from aecli.evaluation.reload import TrainedRun  # noqa: E402
from aecli.models import build_model  # noqa: E402
from aecli.rundir.layout import RunFolder  # noqa: E402
from aecli.rundir.outputs import print_metrics, save_networks, write_metrics  # noqa: E402
from aecli.rundir.status import write_status  # noqa: E402
from aecli.training import hardware  # noqa: E402
from aecli.training.callbacks import ImageGrids, TensorBoard  # noqa: E402
from aecli.training.checkpoints import Checkpoints, CheckpointStore  # noqa: E402
from aecli.training.progress import RichProgress  # noqa: E402
from aecli.training.stopping import Diverged, Interrupted, StopConditions  # noqa: E402

log = logging.getLogger(__name__)
# tf.distribute reports every all-reduce at INFO
logging.getLogger("tensorflow").setLevel(logging.WARNING)


def train(cfg: TrainConfig, folder: RunFolder, resume: bool = False, then=None) -> dict:
    """Train `cfg` into `folder` (continuing from its last checkpoint when `resume`), evaluate,
    let `then(run)` add its own metrics (e.g. anomaly detection on the model in memory), write
    metrics.json once; returns the metrics.

    status.json follows the run: running, then completed, interrupted or failed with the error.
    """
    write_status(folder, "running")
    try:
        run, metrics = _fit_and_evaluate(cfg, folder, resume)
        if then is not None:
            metrics.update(then(run))
        save_networks(run.model, folder)
        write_metrics(folder, metrics)
    except Interrupted as error:
        write_status(folder, "interrupted", epochs_completed=error.epoch, error=str(error))
        raise
    except KeyboardInterrupt:
        write_status(folder, "interrupted", error="interrupted before training started")
        raise
    except Exception as error:
        write_status(folder, "failed", epochs_completed=getattr(error, "epoch", None),
                     error=str(error) or repr(error))
        raise
    write_status(folder, "completed", epochs_completed=metrics["epochs_completed"])
    print_metrics(metrics)
    return metrics


def _fit_and_evaluate(cfg: TrainConfig, folder: RunFolder, resume: bool) -> tuple[TrainedRun, dict]:
    placement = hardware.configure(cfg.hardware)
    keras.utils.set_random_seed(cfg.seed)

    arrays = load_arrays(cfg.dataset, cfg.seed)
    _check_likelihood(cfg, arrays)
    data = make_pipelines(arrays, cfg.trainer.batch_size, cfg.model.noise, cfg.seed)
    jit, why = hardware.jit_compile(cfg, arrays.input_shape, placement, arrays=arrays,
                                    planned_steps=cfg.trainer.epochs * data.steps_per_epoch)
    log.info("XLA %s: %s", "on" if jit else "off", why)
    with placement.strategy.scope():
        model = build_model(cfg.model, arrays.input_shape, seed=cfg.seed,
                            dataset_size=len(arrays.train.x))
        model.compile(optimizer=hardware.optimizer(cfg.trainer.learning_rate, placement),
                      jit_compile=jit, steps_per_execution=hardware.steps_per_execution(
                          cfg.trainer.steps_per_execution, placement))

    store = CheckpointStore(folder.checkpoints)
    initial_epoch, best_val_loss = 0, math.inf
    if resume:
        checkpoint = store.restore(model)
        initial_epoch = checkpoint["epoch"] + 1
        best_val_loss = (store.metadata("best") or {}).get("val_loss", math.inf)
        log.info("resuming after epoch %d from checkpoint `%s`", initial_epoch, checkpoint["name"])

    stop = StopConditions(initial_epoch)
    callbacks = [
        stop,  # first: later callbacks read whether the epoch ended early
        *model.training_callbacks(),
        Checkpoints(store, stop, every=cfg.trainer.checkpoint_every, best_val_loss=best_val_loss),
        TensorBoard(folder.tensorboard, stop),
        RichProgress(cfg.trainer.epochs, data.steps_per_epoch, initial_epoch),
    ]
    if len(arrays.input_shape) == 3:
        x_in, x_clean = next(iter(data.val))
        callbacks.append(ImageGrids(folder.tensorboard_run("images"), x_in.numpy(),
                                    x_clean.numpy(), every=cfg.trainer.image_every))
    start = time.perf_counter()
    model.fit(data.train, validation_data=data.val, epochs=cfg.trainer.epochs,
              initial_epoch=initial_epoch, callbacks=callbacks, shuffle=False,
              verbose=0)  # tf.data shuffles
    seconds = time.perf_counter() - start
    _raise_if_stopped(stop, store, model, cfg, folder)
    epochs_run = stop.last_completed_epoch + 1 - initial_epoch

    metrics = {
        "model": cfg.model.name,
        "dataset": cfg.dataset.name.value,
        "beta": getattr(cfg.model, "beta", None),
        "seed": cfg.seed,
        "epochs_completed": stop.last_completed_epoch + 1,
        "train_examples": len(arrays.train.x),
        "train_seconds": seconds,
        "train_samples_per_second":
            epochs_run * data.steps_per_epoch * cfg.trainer.batch_size / seconds,
        "jit_compile": jit,
        "precision": placement.precision,
        **evaluate(model, data.test, noisy=cfg.model.noise.type != NoiseType.none),
    }
    return TrainedRun(folder, cfg, arrays, model), metrics


def _check_likelihood(cfg: TrainConfig, arrays) -> None:
    """A Bernoulli decoder's BCE is unbounded below for targets outside [0, 1]: refuse it before
    training."""
    low, high = float(arrays.train.x.min()), float(arrays.train.x.max())
    if cfg.model.likelihood == Likelihood.bernoulli and (low < 0 or high > 1):
        raise ConfigError(
            f"model.likelihood=bernoulli needs data in [0, 1], but this dataset's values span "
            f"[{low:.3g}, {high:.3g}]. Use `model.likelihood=gaussian` (with `model.decoder_std`) "
            "for unbounded data.")


def _raise_if_stopped(stop: StopConditions, store: CheckpointStore, model, cfg: TrainConfig,
                      folder: RunFolder):
    """Turn an early stop into its error; a signal first saves the weights reached so far."""
    if stop.non_finite is not None:
        epoch, step, term = stop.non_finite
        kept = (f"the last good checkpoint (epoch {stop.last_completed_epoch + 1}) is kept in "
                f"{store.folder}" if stop.last_completed_epoch >= 0
                else "no epoch had completed, so no checkpoint exists")
        raise Diverged(
            f"Training diverged: the loss term `{term}` became non-finite in epoch {epoch + 1} at "
            f"step {step + 1}; {kept}. Lower the learning rate (trainer.learning_rate="
            f"{cfg.trainer.learning_rate:g}, try `trainer.learning_rate="
            f"{min(cfg.trainer.learning_rate / 10, 1e-3):g}`), or check that model.likelihood "
            "suits the data.", epoch=stop.last_completed_epoch + 1)
    if stop.signum is not None:
        # the weights of the partial epoch are kept; the epoch itself is trained again on resume
        store.save(model, "last", stop.last_completed_epoch, None)
        raise Interrupted(
            f"Stopped by {signal.Signals(stop.signum).name} during epoch "
            f"{stop.last_completed_epoch + 2}; a checkpoint is saved. Continue with "
            f"`aecli resume {folder.path}`.", stop.signum, epoch=stop.last_completed_epoch + 1)
