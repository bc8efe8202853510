"""The story of one run: hardware -> data -> model -> fit with callbacks -> evaluate -> write."""

import contextlib
import logging
import math
import os
from typing import NamedTuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from aecli import memory  # noqa: E402
from aecli.config.model import Likelihood, NoiseType  # noqa: E402
from aecli.config.run import AnomalyConfig, TrainConfig  # noqa: E402
from aecli.console import say  # noqa: E402
from aecli.data import load_arrays  # noqa: E402
from aecli.data.pipeline import make_pipelines  # noqa: E402
from aecli.errors import ConfigError  # noqa: E402
from aecli.evaluation.metrics import (  # noqa: E402
    evaluate,
    factor_metrics,
    has_factor_codes,
    validation_metrics,
)
from aecli.evaluation.reload import TrainedRun  # noqa: E402
from aecli.models import build_model, warn_if_overcomplete  # noqa: E402
from aecli.rundir.atomic import write_json  # noqa: E402
from aecli.rundir.faults import fault_point  # noqa: E402
from aecli.rundir.layout import RunFolder  # noqa: E402
from aecli.rundir.outputs import save_networks, write_metrics  # noqa: E402
from aecli.rundir.provenance import record_run_start  # noqa: E402
from aecli.rundir.signals import Stopped, guard  # noqa: E402
from aecli.rundir.status import read_status, write_status  # noqa: E402
from aecli.sweeps.hparams import write_run_hparams  # noqa: E402
from aecli.training import autotune, hardware, loggers  # noqa: E402
from aecli.training.callbacks import (  # noqa: E402
    EpochScalars,
    ImageGrids,
    MIGPerEpoch,
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
from aecli.training.startup import FIRST_STEP, clock  # noqa: E402
from aecli.training.stopping import Diverged, Interrupted, StopConditions  # noqa: E402

log = logging.getLogger(__name__)
# tf.distribute reports every all-reduce at INFO
logging.getLogger("tensorflow").setLevel(logging.WARNING)

# the TensorBoard runs training writes (aecli sample and summarize write their own)
TRAINING_WRITERS = ("train", "validation", "images", "latents")


def train(
    cfg: TrainConfig,
    folder: RunFolder,
    resume: bool = False,
    then=None,
    on_data=None,
) -> dict:
    """Train `cfg` into `folder` (continuing from its last checkpoint when `resume`), evaluate,
    let `then(run)` add its own metrics (e.g. anomaly detection on the model in memory), write
    metrics.json once; returns the metrics. `on_data(arrays)` sees the splits before training (the
    anomaly command describes and checks them).

    status.json follows the run: running (with the epochs completed so far, updated after each),
    then completed, interrupted or failed with the error. SIGINT/SIGTERM are watched for the whole
    run (aecli.rundir.signals): inside fit the run stops after the step, elsewhere at once.
    """
    guard.install()
    stage = _Stage()
    try:
        write_status(folder, "running")
        with stage("start-up", fault="startup"):
            placement = _placement(cfg, folder, resume)
        with stage("data loading", fault="data-loading"):
            arrays, data = _data(cfg, folder, on_data)
        with stage("choosing the compiled step"):
            step = _step(cfg, arrays, data, placement)
        with stage("building the model"):
            model = _model(cfg, arrays, data, placement, step)
            store = CheckpointStore(folder.checkpoints)
            start = _resume(folder, store, model, cfg.trainer) if resume else _Start()
            stop, callbacks = _callbacks(cfg, folder, model, arrays, data, store, start)
        with stage("training"):
            history = _fit(model, data, cfg.trainer.epochs, start.epoch, stop, callbacks)
            _raise_if_stopped(stop, store, model, cfg, step.steps_per_execution, callbacks)
            _say_if_stopped_early(stop, callbacks, cfg.trainer)
        with stage("the final evaluation", fault="evaluation"):
            metrics = _run_metrics(cfg, model, arrays, data, step, history, stop, callbacks)
        if then is not None:
            with stage("the evaluation after training"):
                metrics.update(then(TrainedRun(folder, cfg, arrays, model)))
        with stage("saving the trained networks"):
            _save(cfg, folder, model, metrics)
    except Stopped as stopped:
        done = (read_status(folder) or {}).get("epochs_completed", 0)
        error = Interrupted.during(stopped, stage.name, done, cfg.trainer.epochs, folder.path)
        write_status(folder, "interrupted", error=str(error))
        raise error from None
    except Exception as error:
        _record_failure(folder, error, stage.name)
        raise
    write_status(folder, "completed", epochs_completed=metrics["epochs_completed"])
    return metrics


class _Stage:
    """What the run is doing, for the message when a signal stops it or memory runs out. Each
    step of the story runs in `with stage(NAME, fault=POINT)`, which first passes the step's
    fault point, if it has one (aecli/rundir/faults.py); a stop between two steps is told as
    during the step before."""

    def __init__(self):
        self.name = "start-up"

    @contextlib.contextmanager
    def __call__(self, name: str, fault: str | None = None):
        self.name = name
        if fault is not None:
            fault_point(fault)
        yield
        clock.mark(name)  # the start-up split (aecli.training.startup) up to the first step


class _Start(NamedTuple):
    """Where training starts: at epoch 0 for a new run; after its last checkpoint for a resumed
    one, with the steering callbacks' counts (`steering`) and what early stopping needs of its
    best checkpoint (`best`) to go on from."""

    epoch: int = 0
    train_seconds: float = 0.0
    best_val_loss: float = math.inf
    best: ResumedBest | None = None
    steering: dict | None = None


def _placement(cfg: TrainConfig, folder: RunFolder, resume: bool) -> hardware.Placement:
    placement = hardware.configure(cfg.hardware)
    record_run_start(folder, cfg, placement.on_gpu, resumed=resume)  # once the GPU is known
    keras.utils.set_random_seed(cfg.seed)
    return placement


def _data(cfg: TrainConfig, folder: RunFolder, on_data):
    """The splits, checked, and their tf.data pipelines; preprocessing.json records what predict
    and export apply."""
    arrays = load_arrays(cfg.dataset, cfg.seed, anomaly=isinstance(cfg, AnomalyConfig))
    log.info("data: %s", ", ".join(arrays.files))
    _check_likelihood(cfg, arrays)
    if on_data is not None:
        on_data(arrays)
    write_json(folder.preprocessing, arrays.preprocessing)
    return arrays, make_pipelines(arrays, cfg.trainer.batch_size, cfg.model.noise, cfg.seed)


def _step(cfg: TrainConfig, arrays, data, placement) -> autotune.StepChoice:
    """XLA, steps per call, fused steps and precision: as set, cached, or measured now
    (`auto`)."""
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
    return step


def _model(cfg: TrainConfig, arrays, data, placement, step: autotune.StepChoice) -> keras.Model:
    """The model, compiled with the step chosen."""
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
        model.fuse_steps = step.fused
        init_from(model, cfg.trainer.init_from)
    return model


def _resume(folder: RunFolder, store: CheckpointStore, model, trainer) -> _Start:
    """Restore the newest readable checkpoint into `model`, and forget what the logs hold of the
    epochs after it (they are trained again)."""
    for path in folder.temporaries():  # a killed process's half-written files; we hold the lock
        path.unlink(missing_ok=True)
    start = _Start()
    if store.any():
        best = store.metadata("best")
        resumed_best = _resumed_best(store, best, model, trainer)  # loads: before restore
        checkpoint = store.restore(model)
        start = _Start(
            epoch=checkpoint["epoch"] + 1,
            train_seconds=checkpoint.get("train_seconds") or 0.0,
            best_val_loss=(best or {}).get("val_loss", math.inf),
            best=resumed_best,
            steering=checkpoint.get("steering"),
        )
        # said without -v: which checkpoint a resume trusts is the user's to know
        say(f"resuming after epoch {start.epoch} from checkpoint `{checkpoint['name']}`")
    else:
        say(
            "no checkpoint yet (the run stopped before its first checkpoint): "
            "training again from epoch 1"
        )
    # the epochs from here on are logged again: by epoch, and by the optimizer's step count
    # (that of the checkpoint restored; 0 without one)
    forget_steps_from(
        [folder.tensorboard_run(name) for name in TRAINING_WRITERS],
        start.epoch,
        int(model.optimizer.iterations.numpy()),
    )
    write_status(folder, "running", epochs_completed=start.epoch)
    return start


def _resumed_best(store: CheckpointStore, best: dict | None, model, trainer) -> ResumedBest | None:
    """What early stopping needs of the `best` checkpoint (`best`: its metadata) to go on
    counting after a resume."""
    if trainer.early_stopping_patience is None or best is None:
        return None
    weights = store.model_weights("best", model)
    return None if weights is None else ResumedBest(best["epoch"], best["val_loss"], weights)


def _callbacks(
    cfg: TrainConfig, folder: RunFolder, model, arrays, data, store: CheckpointStore, start: _Start
) -> tuple[StopConditions, list]:
    """The run's StopConditions, and everything fit calls back, in the order that matters."""
    stop = StopConditions(start.epoch, start.train_seconds)
    steering = steering_callbacks(cfg.trainer, stop, start.best, start.epoch, start.steering)
    latents = folder.tensorboard_run("latents")
    callbacks = [
        stop,  # first: later callbacks read whether the epoch ended early
        *model.training_callbacks(arrays.val.x, latents, stop),
        EpochScalars(arrays.val.x, latents, stop),
        *steering,  # before the checkpoint, which saves their counts and the rate they set
        Checkpoints(
            store,
            stop,
            every=cfg.trainer.checkpoint_every,
            best_val_loss=start.best_val_loss,
            steering=lambda: steering_state(steering),
        ),
        LearningRateLog(),  # after whatever changes the rate, before what writes the logs
        *loggers.callbacks(cfg, folder, stop, start.epoch),
        RichProgress(cfg.trainer.epochs, data.steps_per_epoch, start.epoch, cfg.trainer.batch_size),
    ]
    if has_factor_codes(model, arrays.val):
        callbacks.append(MIGPerEpoch(arrays.val, arrays.factor_names, latents, stop))
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
    return stop, callbacks


def _record_epoch(stop: StopConditions, folder: RunFolder, epoch: int) -> None:
    if not stop.stopped_mid_epoch:
        write_status(folder, "running", epochs_completed=epoch + 1)
        fault_point("epoch-end")


def _fit(model, data, epochs: int, initial_epoch: int, stop: StopConditions, callbacks: list):
    """model.fit; a signal meanwhile asks `stop` to stop after the step."""
    with guard.during_fit(stop.request_stop):
        return model.fit(
            data.train,
            validation_data=data.val,
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=[*callbacks, keras.callbacks.LambdaCallback(on_train_batch_end=_first_step)],
            shuffle=False,  # tf.data shuffles
            verbose=0,
        )


def _first_step(batch, logs) -> None:
    """Log where the time to the first step went (once per process: a sweep's later jobs start
    warm)."""
    if FIRST_STEP not in clock.ends:
        clock.mark(FIRST_STEP)
        log.info("start-up: %s", clock.describe())


def _raise_if_stopped(
    stop: StopConditions, store: CheckpointStore, model, cfg, per_call: int, callbacks: list
) -> None:
    """Turn a stop inside fit into its error: Diverged for a non-finite loss term, Stopped for a
    signal (keeping the last completed epoch's weights)."""
    if stop.non_finite is not None:
        raise Diverged.in_training(stop, store.folder, cfg, per_call)
    if stop.signum is not None:
        saved = (store.metadata("last") or {}).get("epoch", -1)
        if 0 <= stop.last_completed_epoch != saved:
            # trainer.checkpoint_every > 1: the last completed epoch has no checkpoint, so keep
            # the weights reached (the partial epoch is trained again on resume) rather than
            # lose the epochs since the last checkpoint
            steering = steering_state(callbacks)
            store.save(model, "last", stop.last_completed_epoch, None, stop.train_seconds, steering)
        raise Stopped(stop.signum)


def _say_if_stopped_early(stop: StopConditions, callbacks: list, trainer) -> None:
    stopping = early_stopping(callbacks)
    if stopping is not None and stopping.stopped_early:
        say(
            f"stopped early after epoch {stop.last_completed_epoch + 1} (val_loss not better by "
            f"{trainer.early_stopping_min_delta:g} for {trainer.early_stopping_patience}); "
            f"testing its best weights (val_loss {stopping.lowest:.4g})"
        )


def _run_metrics(
    cfg: TrainConfig, model, arrays, data, step, history, stop: StopConditions, callbacks: list
) -> dict:
    """What metrics.json holds: the run's settings and outcome, its training speed, and the test
    split's metrics (every family's, then its own)."""
    epochs, seconds = stop.last_completed_epoch + 1, stop.train_seconds
    return {
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
        **validation_metrics(model, data.val),  # val_elbo, ...: choosing runs without the test
        "train_examples": len(arrays.train.x),
        "test_examples": len(arrays.test.x),  # what every test_* metric is averaged over
        "data_files": arrays.files,
        "train_seconds": seconds,
        "train_samples_per_second": epochs * data.steps_per_epoch * cfg.trainer.batch_size / seconds
        if seconds
        else math.nan,
        "jit_compile": step.jit,
        "steps_per_execution": step.steps_per_execution,
        "fuse_steps": step.fused,
        "precision": step.precision,
        **evaluate(model, data.test, noisy=cfg.model.noise.type != NoiseType.none),
        **model.posterior_metrics(arrays.test.x),
        **factor_metrics(
            model, arrays.test, cfg.seed, arrays.factor_names, cfg.eval.dci_estimator.value
        ),
    }


def _save(cfg: TrainConfig, folder: RunFolder, model, metrics: dict) -> None:
    save_networks(model, folder)
    fault_point("networks-saved")
    write_metrics(folder, metrics)
    loggers.finish(cfg, folder, metrics)
    # HParams of a single run too (a sweep's summary rewrites them with the swept values)
    write_run_hparams(folder.path, metrics, "completed")
    fault_point("metrics-written")


def _record_failure(folder: RunFolder, error: Exception, stage: str) -> None:
    """Record the failure in status.json, and raise a full disk or exhausted memory as its one
    paragraph (the caller re-raises any other error as it came)."""
    if disk_full(error):
        error = disk_full_error(folder.path)
    elif memory.out_of_memory(error):
        error = memory.out_of_memory_error(error, stage)
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
