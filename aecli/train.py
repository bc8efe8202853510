"""The story of one run: hardware -> data -> model -> fit with callbacks -> evaluate -> write."""

import logging
import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from aecli import memory  # noqa: E402
from aecli.config.model import Likelihood, NoiseType  # noqa: E402
from aecli.config.run import AnomalyConfig, Precision, TrainConfig  # noqa: E402
from aecli.console import say  # noqa: E402
from aecli.data import load_arrays  # noqa: E402
from aecli.data.pipeline import make_pipelines  # noqa: E402
from aecli.errors import ConfigError  # noqa: E402
from aecli.evaluation.metrics import evaluate, factor_metrics, has_factor_codes  # noqa: E402
from aecli.evaluation.reload import TrainedRun  # noqa: E402
from aecli.models import build_model, warn_if_overcomplete  # noqa: E402
from aecli.rundir.atomic import write_json  # noqa: E402
from aecli.rundir.faults import fault_point  # noqa: E402
from aecli.rundir.layout import RunFolder  # noqa: E402
from aecli.rundir.listing import read_run  # noqa: E402
from aecli.rundir.outputs import save_networks, write_metrics  # noqa: E402
from aecli.rundir.provenance import record_run_start  # noqa: E402
from aecli.rundir.signals import Stopped, guard  # noqa: E402
from aecli.rundir.status import read_status, write_status  # noqa: E402
from aecli.sweeps.hparams import write_run_hparams  # noqa: E402
from aecli.training import autotune, hardware  # noqa: E402
from aecli.training.callbacks import (  # noqa: E402
    EpochScalars,
    ImageGrids,
    MIGPerEpoch,
    TensorBoard,
    forget_steps_from,
)
from aecli.training.checkpoints import (  # noqa: E402
    Checkpoints,
    CheckpointStore,
    DiskFull,
    disk_full,
    disk_full_error,
)
from aecli.training.init_from import init_from  # noqa: E402
from aecli.training.optimization import (  # noqa: E402
    LearningRateLog,
    ResumedBest,
    build_optimizer,
    early_stopping,
    outcome,
    steering_callbacks,
    steering_state,
)
from aecli.training.progress import RichProgress  # noqa: E402
from aecli.training.stopping import Diverged, Interrupted, StopConditions  # noqa: E402

log = logging.getLogger(__name__)
# tf.distribute reports every all-reduce at INFO
logging.getLogger("tensorflow").setLevel(logging.WARNING)

# the TensorBoard runs training writes (aecli sample and summarize write their own)
TRAINING_WRITERS = ("train", "validation", "images", "latents")


def train(
    cfg: TrainConfig, folder: RunFolder, resume: bool = False, then=None, on_data=None
) -> dict:
    """Train `cfg` into `folder` (continuing from its last checkpoint when `resume`), evaluate,
    let `then(run)` add its own metrics (e.g. anomaly detection on the model in memory), write
    metrics.json once; returns the metrics. `on_data(arrays)` sees the splits before training
    (the anomaly command describes and checks them).

    status.json follows the run: running (with the epochs completed so far, updated after each),
    then completed, interrupted or failed with the error. SIGINT/SIGTERM are watched for the whole
    run (aecli.rundir.signals): inside fit the run stops after the step, elsewhere at once.
    """
    guard.install()
    stage = ["start-up"]  # what the run was doing, for the message when a signal stops it
    try:
        write_status(folder, "running")
        fault_point("startup")
        run, metrics = _fit_and_evaluate(cfg, folder, resume, stage, on_data)
        if then is not None:
            stage[0] = "the evaluation after training"
            metrics.update(then(run))
        stage[0] = "saving the trained networks"
        save_networks(run.model, folder)
        fault_point("networks-saved")
        write_metrics(folder, metrics)
        # HParams of a single run too (a sweep's summary rewrites them with the swept values)
        write_run_hparams(folder.path, read_run(folder.path).overrides, metrics, "completed")
        fault_point("metrics-written")
    except Stopped as stopped:
        done = (read_status(folder) or {}).get("epochs_completed", 0)
        # only a stop inside fit leaves an epoch begun and not completed
        partial = " (a partial epoch is trained again)" if stage[0] == "training" else ""
        message = (
            f"Stopped by {stopped.name} during {stage[0]}, after {done} of "
            f"{cfg.trainer.epochs} epochs completed{partial}. "
            f"Continue with `aecli resume {folder.path}`."
        )
        write_status(folder, "interrupted", error=message)
        raise Interrupted(message, stopped.signum, epoch=done) from None
    except Exception as error:
        if disk_full(error):
            error = disk_full_error(folder.path)
        elif memory.out_of_memory(error):
            error = memory.out_of_memory_error(error, stage[0])
        try:
            write_status(
                folder,
                "failed",
                epochs_completed=getattr(error, "epoch", None),
                error=str(error) or repr(error),
            )
        except OSError:
            if not isinstance(error, DiskFull):
                raise
            # a disk too full for even the status (none written yet): the paragraph still says it
        if isinstance(error, (DiskFull, memory.OutOfMemory)):
            raise error from None
        raise
    write_status(folder, "completed", epochs_completed=metrics["epochs_completed"])
    return metrics


def _fit_and_evaluate(
    cfg: TrainConfig, folder: RunFolder, resume: bool, stage: list, on_data=None
) -> tuple[TrainedRun, dict]:
    placement = hardware.configure(cfg.hardware)
    record_run_start(folder, cfg, placement.on_gpu, resumed=resume)  # once the GPU is known
    keras.utils.set_random_seed(cfg.seed)

    stage[0] = "data loading"
    arrays = load_arrays(cfg.dataset, cfg.seed, anomaly=isinstance(cfg, AnomalyConfig))
    log.info("data: %s", ", ".join(arrays.files))
    _check_likelihood(cfg, arrays)
    if on_data is not None:
        on_data(arrays)
    write_json(folder.preprocessing, arrays.preprocessing)  # what predict and export apply
    data = make_pipelines(arrays, cfg.trainer.batch_size, cfg.model.noise, cfg.seed)
    fault_point("data-loading")
    stage[0] = "building the model"
    memory.refuse_model_if_over(cfg.model, arrays.input_shape)  # before autotune builds one
    step = autotune.choose(
        cfg,
        arrays.input_shape,
        placement,
        arrays=arrays,
        planned_steps=cfg.trainer.epochs * data.steps_per_epoch,
    )
    say(step.reason)
    if step.detail:
        log.info(step.detail)
    placement = hardware.with_precision(placement, step.precision)
    warn_if_overcomplete(cfg.model, arrays.input_shape)
    with placement.strategy.scope():
        model = build_model(
            cfg.model, arrays.input_shape, seed=cfg.seed, dataset_size=len(arrays.train.x)
        )
        model.compile(
            optimizer=build_optimizer(cfg.trainer, data.steps_per_epoch, placement.mixed),
            jit_compile=step.jit,
            steps_per_execution=step.steps_per_execution,
        )
        init_from(model, cfg.trainer.init_from)

    store = CheckpointStore(folder.checkpoints)
    initial_epoch, best_val_loss, train_seconds, resumed_best = 0, math.inf, 0.0, None
    saved_steering = None  # the counts of early stopping and the plateau schedule to go on from
    if resume:
        for path in folder.temporaries():  # a killed process's half-written files; we hold the lock
            path.unlink(missing_ok=True)
        if store.any():
            best = store.metadata("best")
            resumed_best = _resumed_best(store, best, model, cfg.trainer)  # loads: before restore
            checkpoint = store.restore(model)
            initial_epoch = checkpoint["epoch"] + 1
            train_seconds = checkpoint.get("train_seconds") or 0.0
            saved_steering = checkpoint.get("steering")
            best_val_loss = (best or {}).get("val_loss", math.inf)
            log.info(
                "resuming after epoch %d from checkpoint `%s`", initial_epoch, checkpoint["name"]
            )
        else:
            log.info(
                "no checkpoint yet (the run stopped before its first checkpoint): "
                "training again from epoch 1"
            )
        # the epochs from here on are logged again: by epoch, and by the optimizer's step count
        # (that of the checkpoint restored; 0 without one)
        forget_steps_from(
            [folder.tensorboard_run(name) for name in TRAINING_WRITERS],
            initial_epoch,
            int(model.optimizer.iterations.numpy()),
        )
        write_status(folder, "running", epochs_completed=initial_epoch)

    stop = StopConditions(initial_epoch, train_seconds)
    steering = steering_callbacks(cfg.trainer, stop, resumed_best, initial_epoch, saved_steering)
    checkpoints = Checkpoints(
        store,
        stop,
        every=cfg.trainer.checkpoint_every,
        best_val_loss=best_val_loss,
        steering=lambda: steering_state(steering),
    )
    callbacks = [
        stop,  # first: later callbacks read whether the epoch ended early
        *model.training_callbacks(arrays.val.x, folder.tensorboard_run("latents"), stop),
        EpochScalars(arrays.val.x, folder.tensorboard_run("latents"), stop),
        *steering,  # before the checkpoint, which saves their counts and the rate they set
        checkpoints,
        LearningRateLog(),  # after whatever changes the rate, before what writes the logs
        TensorBoard(folder.tensorboard, stop),
        RichProgress(
            cfg.trainer.epochs, data.steps_per_epoch, initial_epoch, cfg.trainer.batch_size
        ),
    ]
    if has_factor_codes(model, arrays.val):
        callbacks.append(
            MIGPerEpoch(arrays.val, arrays.factor_names, folder.tensorboard_run("latents"), stop)
        )
    if len(arrays.input_shape) == 3:
        x_in, x_clean = next(iter(data.val))
        callbacks.append(
            ImageGrids(
                folder.tensorboard_run("images"),
                x_in.numpy(),
                x_clean.numpy(),
                stop,
                every=cfg.trainer.image_every,
            )
        )
    # last: the status names an epoch only once its checkpoint and logs are written
    callbacks.append(
        keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: _record_epoch(stop, folder, epoch)
        )
    )
    stage[0] = "training"
    with guard.during_fit(stop.request_stop):
        history = model.fit(
            data.train,
            validation_data=data.val,
            epochs=cfg.trainer.epochs,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            shuffle=False,
            verbose=0,
        )  # tf.data shuffles
    _raise_if_stopped(stop, store, model, cfg, step.steps_per_execution, steering_state(steering))
    epochs = stop.last_completed_epoch + 1
    _say_if_stopped_early(callbacks, epochs, cfg.trainer)
    seconds = stop.train_seconds

    stage[0] = "the final evaluation"
    fault_point("evaluation")
    metrics = {
        "model": cfg.model.name,
        "dataset": cfg.dataset.name.value,
        "beta": getattr(cfg.model, "beta", None),
        "seed": cfg.seed,
        "name": cfg.name,
        "tags": list(cfg.tags),
        "epochs_completed": epochs,
        # over every epoch of the run, across resumes (a partial epoch trained again is not counted)
        "optimizer_steps": int(model.optimizer.iterations.numpy()),
        **outcome(history, callbacks),  # val_loss: what a hyperparameter search minimises
        "train_examples": len(arrays.train.x),
        "test_examples": len(arrays.test.x),  # what every test_* metric is averaged over
        "data_files": arrays.files,
        "train_seconds": seconds,
        "train_samples_per_second": epochs * data.steps_per_epoch * cfg.trainer.batch_size / seconds
        if seconds
        else math.nan,
        "jit_compile": step.jit,
        "steps_per_execution": step.steps_per_execution,
        "precision": placement.precision,
        **evaluate(model, data.test, noisy=cfg.model.noise.type != NoiseType.none),
        **model.posterior_metrics(arrays.test.x),
        **factor_metrics(model, arrays.test, cfg.seed, arrays.factor_names),
    }
    return TrainedRun(folder, cfg, arrays, model), metrics


def _resumed_best(store: CheckpointStore, best: dict | None, model, trainer) -> ResumedBest | None:
    """What early stopping needs of the `best` checkpoint (`best`: its metadata) to go on
    counting after a resume."""
    if trainer.early_stopping_patience is None or best is None:
        return None
    weights = store.model_weights("best", model)
    return None if weights is None else ResumedBest(best["epoch"], best["val_loss"], weights)


def _say_if_stopped_early(callbacks, epochs: int, trainer) -> None:
    stopping = early_stopping(callbacks)
    if stopping is not None and stopping.stopped_early:
        say(
            f"stopped early after epoch {epochs} (val_loss not better by "
            f"{trainer.early_stopping_min_delta:g} for {trainer.early_stopping_patience}); "
            f"testing its best weights (val_loss {stopping.lowest:.4g})"
        )


def _record_epoch(stop: StopConditions, folder: RunFolder, epoch: int) -> None:
    if not stop.stopped_mid_epoch:
        write_status(folder, "running", epochs_completed=epoch + 1)
        fault_point("epoch-end")


def _check_likelihood(cfg: TrainConfig, arrays) -> None:
    """A Bernoulli decoder's BCE is unbounded below for targets outside [0, 1]: refuse it before
    training."""
    low, high = float(arrays.train.x.min()), float(arrays.train.x.max())
    if cfg.model.likelihood == Likelihood.bernoulli and (low < 0 or high > 1):
        raise ConfigError(
            f"model.likelihood=bernoulli needs data in [0, 1], but this dataset's values span "
            f"[{low:.3g}, {high:.3g}]. Use `model.likelihood=gaussian` (with `model.decoder_std`) "
            "for unbounded data."
        )


def _raise_if_stopped(
    stop: StopConditions,
    store: CheckpointStore,
    model,
    cfg: TrainConfig,
    per_call: int,
    steering: dict,
):
    """Turn an early stop into its error (`steering`: what a checkpoint saved now keeps of the
    steering callbacks' counts)."""
    if stop.non_finite is not None:
        epoch, first, last, term = stop.non_finite
        kept = (
            f"the last good checkpoint (epoch {stop.last_completed_epoch + 1}) is kept in "
            f"{store.folder}"
            if stop.last_completed_epoch >= 0
            else "no epoch had completed, so no checkpoint exists"
        )
        where = (
            f"at step {last + 1}"
            if first == last
            else f"between steps {first + 1} and {last + 1} (the loss is reported once per "
            f"{per_call} steps, trainer.steps_per_execution={cfg.trainer.steps_per_execution})"
        )
        raise Diverged(
            f"Training diverged: the loss term `{term}` became non-finite in epoch {epoch + 1} "
            f"{where}; {kept}. {_divergence_cause(term, cfg)}",
            epoch=stop.last_completed_epoch + 1,
        )
    if stop.signum is not None:
        saved = (store.metadata("last") or {}).get("epoch", -1)
        if 0 <= stop.last_completed_epoch != saved:
            # trainer.checkpoint_every > 1: the last completed epoch has no checkpoint, so keep
            # the weights reached (the partial epoch is trained again on resume) rather than
            # lose the epochs since the last checkpoint
            store.save(model, "last", stop.last_completed_epoch, None, stop.train_seconds, steering)
        raise Stopped(stop.signum)


def _divergence_cause(term: str, cfg: TrainConfig) -> str:
    """The likely cause of a non-finite loss term, and the setting to change."""
    lr = cfg.trainer.learning_rate
    lower = (
        f"lower the learning rate (trainer.learning_rate={lr:g}, try "
        f"`trainer.learning_rate={min(lr / 10, 1e-3):g}`)"
    )
    if cfg.hardware.precision == Precision.mixed_float16:
        first = (
            "Under mixed precision float16 overflows easily: train in float32 "
            "(`hardware=cpu` or `hardware.precision=float32`), or " + lower + "."
        )
    elif term.startswith("kl"):
        first = (
            "The KL term grows without bound when its weight is too large for the learning "
            f"rate: lower beta (model.beta={getattr(cfg.model, 'beta', None)}) or "
            "model.capacity_max, or " + lower + "."
        )
    elif term == "recon":
        first = (
            f"The reconstruction term (model.likelihood={cfg.model.likelihood.value}) "
            "overflowed: "
            + lower
            + (
                "; with a gaussian likelihood a small "
                f"model.decoder_std={cfg.model.decoder_std:g} magnifies errors"
                if cfg.model.likelihood == Likelihood.gaussian
                else ""
            )
            + "."
        )
    elif term != "loss":
        first = (
            f"The `{term}` penalty overflowed: lower its weight in the model config, or "
            + lower
            + "."
        )
    else:
        first = lower[0].upper() + lower[1:] + "."
    return first
