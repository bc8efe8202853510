"""Optimisers, learning-rate schedules, clipping and early stopping
(aecli/training/optimization.py)."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from aecli.config.model import AutoencoderConfig
from aecli.config.run import LRSchedule, OptimizerName, TrainerConfig
from aecli.errors import ConfigError
from aecli.models import build_model
from aecli.training.optimization import (
    EarlyStopping,
    LearningRateLog,
    ReduceLROnPlateau,
    ResumedBest,
    build_optimizer,
    current_learning_rate,
    learning_rate,
    outcome,
    steering_callbacks,
)
from aecli.training.stopping import StopConditions

STEPS = 4  # steps per epoch of the tiny data below: 64 examples, batch 16
X = np.random.default_rng(0).random((64, 6)).astype(np.float32)


def _data():
    return tf.data.Dataset.from_tensor_slices((X, X)).batch(16)


def _tiny_model():
    """A 6-8-2 autoencoder for the tiny data above."""
    return build_model(
        AutoencoderConfig(name="vanilla", hidden_units=[8], latent_dim=2, likelihood="gaussian"),
        (6,),
        seed=0,
    )


def _fit(trainer: TrainerConfig, mixed=False):
    model = _tiny_model()
    model.compile(optimizer=build_optimizer(trainer, STEPS, mixed))
    stop = StopConditions()
    callbacks = [stop, *steering_callbacks(trainer, stop), LearningRateLog()]
    history = model.fit(
        _data(), validation_data=_data(), epochs=trainer.epochs, callbacks=callbacks, verbose=0
    )
    return model, history, callbacks


@pytest.mark.parametrize(
    "options",
    [
        {"optimizer": OptimizerName.adam},
        {"optimizer": OptimizerName.adamw, "weight_decay": 0.01},
        {"optimizer": OptimizerName.sgd, "momentum": 0.9, "learning_rate": 1e-4},
        {"lr_schedule": LRSchedule.cosine, "warmup_epochs": 1},
        {"lr_schedule": LRSchedule.step, "lr_step_epochs": 1, "lr_step_factor": 0.5},
        {"lr_schedule": LRSchedule.plateau, "lr_plateau_patience": 0},
        {"gradient_clip_norm": 1.0, "early_stopping_patience": 1},
    ],
)
def test_each_optimizer_and_schedule_trains_two_epochs(options):
    _, history, callbacks = _fit(TrainerConfig(epochs=2, **options))
    losses = history.history["loss"]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    assert math.isfinite(outcome(history, callbacks)["val_loss"])


def test_step_schedule_logs_the_rate_only_when_it_changes():
    _, history, _ = _fit(
        TrainerConfig(epochs=4, lr_schedule=LRSchedule.step, lr_step_epochs=2, lr_step_factor=0.5)
    )
    # Keras' History fills epochs without the key with nothing; only epochs 1 and 3 carry a rate
    rates = history.history["learning_rate"]
    assert rates == pytest.approx([1e-3, 5e-4])


def test_cosine_schedule_with_warmup_matches_its_closed_form():
    trainer = TrainerConfig(
        epochs=10, learning_rate=0.01, lr_schedule=LRSchedule.cosine, warmup_epochs=2
    )
    schedule = learning_rate(trainer, steps_per_epoch=100)
    warmup, total = 200, 1000
    for step in (0, 50, 200, 450, 700, 1000):
        if step < warmup:
            expected = 0.01 * step / warmup
        else:
            expected = 0.01 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup)))
        assert float(schedule(step)) == pytest.approx(expected, abs=1e-7), step


def test_gradient_clip_norm_reaches_the_optimizer_and_bounds_the_step():
    trainer = TrainerConfig(optimizer=OptimizerName.sgd, learning_rate=1.0, gradient_clip_norm=0.5)
    optimizer = build_optimizer(trainer, STEPS)
    assert optimizer.global_clipnorm == 0.5
    variable = keras.Variable(np.zeros(3, np.float32))
    optimizer.apply(
        [keras.ops.convert_to_tensor(np.array([300.0, 400.0, 0.0], np.float32))], [variable]
    )
    # a gradient of norm 500 is scaled to norm 0.5: the step is -(0.3, 0.4, 0)
    np.testing.assert_allclose(variable.numpy(), [-0.3, -0.4, 0.0], rtol=1e-5)
    wrapped = build_optimizer(trainer, STEPS, mixed=True)
    assert isinstance(wrapped, keras.optimizers.LossScaleOptimizer)
    assert wrapped.inner_optimizer.global_clipnorm == 0.5


def test_early_stopping_stops_on_a_plateau_and_restores_the_best_weights():
    model = _tiny_model()
    stop = StopConditions()
    early = EarlyStopping(stop, patience=2, min_delta=0.01)
    early.set_model(model)
    model.stop_training = False
    early.on_train_begin()
    best_weights = None
    # validation losses of a run that improves until epoch 2, then sits on a plateau
    for epoch, val_loss in enumerate([5.0, 4.0, 3.995, 4.1, 3.999, 3.0]):
        for variable in model.trainable_variables:  # every epoch moves the weights
            variable.assign(variable + 1.0)
        if epoch == 2:
            best_weights = [w.copy() for w in model.get_weights()]
        early.on_epoch_end(epoch, {"val_loss": val_loss})
        if model.stop_training:
            break
    # 3.995 is not better than 4.0 by min_delta 0.01, so patience runs out at epoch 3...
    assert epoch == 3 and early.stopped_early
    early.on_train_end()
    # ...but it is the lowest val_loss, the `best` checkpoint's epoch: its weights are evaluated
    for restored, best in zip(model.get_weights(), best_weights, strict=True):
        np.testing.assert_array_equal(restored, best)
    assert early.lowest == 3.995


def test_early_stopping_keeps_the_reached_weights_when_a_signal_stopped_the_run():
    model = _tiny_model()
    stop = StopConditions()
    early = EarlyStopping(stop, patience=5, min_delta=0.0)
    early.set_model(model)
    early.on_train_begin()
    early.on_epoch_end(0, {"val_loss": 1.0})
    model.trainable_variables[0].assign(model.trainable_variables[0] + 1.0)
    reached = [w.copy() for w in model.get_weights()]
    stop.signum = 2
    early.on_train_end()
    for kept, expected in zip(model.get_weights(), reached, strict=True):
        np.testing.assert_array_equal(kept, expected)


def test_early_stopping_after_a_resume_counts_on_from_the_best_checkpoint():
    model = _tiny_model()
    best_weights = [w + 7.0 for w in model.get_weights()]
    stop = StopConditions()
    # epochs 0-3 ran before the resume; the best checkpoint is epoch 1's: 2 epochs of patience used
    resumed = ResumedBest(epoch=1, val_loss=3.0, weights=best_weights)
    early = EarlyStopping(stop, patience=3, min_delta=0.0, resumed=resumed, initial_epoch=4)
    early.set_model(model)
    model.stop_training = False
    early.on_train_begin()
    early.on_epoch_end(4, {"val_loss": 3.5})
    assert model.stop_training and early.stopped_early  # the third epoch without improvement
    early.on_train_end()
    for restored, best in zip(model.get_weights(), best_weights, strict=True):
        np.testing.assert_array_equal(restored, best)
    assert early.lowest == 3.0


def test_early_stopping_after_a_resume_keeps_a_resumed_epoch_that_beats_the_checkpoint():
    model = _tiny_model()
    resumed = ResumedBest(epoch=3, val_loss=3.0, weights=[w + 7.0 for w in model.get_weights()])
    early = EarlyStopping(StopConditions(), 2, 0.0, resumed=resumed, initial_epoch=4)
    early.set_model(model)
    model.stop_training = False
    early.on_train_begin()
    early.on_epoch_end(4, {"val_loss": 2.5})
    reached = [w.copy() for w in model.get_weights()]
    early.on_epoch_end(5, {"val_loss": 2.6})
    assert not model.stop_training and early.wait == 1
    early.on_train_end()
    for restored, expected in zip(model.get_weights(), reached, strict=True):
        np.testing.assert_array_equal(restored, expected)
    assert early.lowest == 2.5


# validation losses whose steps shrink below min_delta=0.01: epoch 3 improves on the reference of
# epoch 1 (4.0) by more than 0.01, though not on the lowest loss before it (3.995, epoch 2)
SHRINKING = [5.0, 4.0, 3.995, 3.988, 3.987, 3.986, 3.985, 3.984]


def _epochs(callback, model, losses, start):
    """Feed `losses[start:]` to a fresh fit of `callback`; the epoch at which it stopped
    training, if any."""
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    for epoch in range(start, len(losses)):
        callback.on_epoch_end(epoch, {"val_loss": losses[epoch]})
        if model.stop_training:
            return epoch
    return None


@pytest.mark.parametrize("split", range(1, 6))
def test_early_stopping_resumed_after_any_epoch_stops_where_an_uninterrupted_run_does(split):
    model = _tiny_model()
    uninterrupted = _epochs(EarlyStopping(StopConditions(), 2, 0.01), model, SHRINKING, 0)
    assert uninterrupted == 5
    # the first process: epochs before `split`, then the count its last checkpoint saved
    first = EarlyStopping(StopConditions(), 2, 0.01)
    assert _epochs(first, model, SHRINKING[:split], 0) is None
    lowest = min(SHRINKING[:split])
    resumed = ResumedBest(SHRINKING.index(lowest), lowest, model.get_weights())
    second = EarlyStopping(StopConditions(), 2, 0.01, resumed, split, first.checkpoint_state())
    assert _epochs(second, model, SHRINKING, split) == uninterrupted


def test_a_partial_epoch_does_not_count_for_early_stopping():
    model = _tiny_model()
    stop = StopConditions()
    early = EarlyStopping(stop, 1, 0.01)
    assert _epochs(early, model, [5.0], 0) is None
    counted = early.checkpoint_state()
    stop.stopped_mid_epoch = True  # a signal in epoch 1: its validation loss is of a partial epoch
    early.on_epoch_end(1, {"val_loss": 9.0})
    assert early.checkpoint_state() == counted and not model.stop_training


def _rates(model, losses, start, plateau):
    plateau.set_model(model)
    plateau.on_train_begin()
    rates = []
    for epoch in range(start, len(losses)):
        plateau.on_epoch_end(epoch, {"val_loss": losses[epoch]})
        rates.append(current_learning_rate(model.optimizer))
    return rates


@pytest.mark.parametrize("split", range(1, 7))
def test_the_plateau_schedule_resumed_after_any_epoch_lowers_the_rate_when_uninterrupted_does(
    split,
):
    losses = [5.0, 4.0, 4.0, 3.9, 3.9, 3.9, 3.9, 3.9]
    model = _tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(1.0))
    uninterrupted = _rates(model, losses, 0, ReduceLROnPlateau(StopConditions(), 0.5, 2))
    assert uninterrupted == [1.0] * 5 + [0.5, 0.5, 0.25]
    model.optimizer.learning_rate = 1.0
    first = ReduceLROnPlateau(StopConditions(), 0.5, 2)
    before = _rates(model, losses[:split], 0, first)
    # the rate is in the checkpointed optimizer state; the count goes with the checkpoint
    second = ReduceLROnPlateau(StopConditions(), 0.5, 2, first.checkpoint_state())
    assert before + _rates(model, losses, split, second) == uninterrupted


def test_plateau_schedule_lowers_the_rate_after_patience():
    model, _, _ = _fit(
        TrainerConfig(
            epochs=2,
            learning_rate=1e-9,
            lr_schedule=LRSchedule.plateau,
            lr_plateau_patience=0,
            lr_plateau_factor=0.5,
        )
    )
    assert current_learning_rate(model.optimizer) < 1e-9


@pytest.mark.parametrize(
    "options, key",
    [
        ({"optimizer": OptimizerName.sgd, "momentum": 1.0}, "trainer.momentum"),
        ({"momentum": 0.9}, "trainer.momentum=0.9 applies"),
        ({"weight_decay": -1.0}, "trainer.weight_decay"),
        ({"gradient_clip_norm": 0.0}, "trainer.gradient_clip_norm"),
        ({"gradient_clip_norm": math.inf}, "trainer.gradient_clip_norm"),
        ({"early_stopping_patience": 0}, "trainer.early_stopping_patience"),
        ({"early_stopping_min_delta": math.nan}, "trainer.early_stopping_min_delta"),
        ({"lr_schedule": LRSchedule.cosine, "warmup_epochs": 10}, "trainer.warmup_epochs"),
        ({"warmup_epochs": 1}, "trainer.warmup_epochs=1 applies"),
        ({"lr_step_factor": 1.0}, "trainer.lr_step_factor"),
        ({"lr_plateau_factor": 0.0}, "trainer.lr_plateau_factor"),
    ],
)
def test_out_of_range_trainer_options_are_refused_by_name(options, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        TrainerConfig(**options)
