"""Keras callbacks that write TensorBoard: scalars and image grids, never of a partial epoch; and
forgetting the steps a resumed run is about to log again."""

import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from aecli.evaluation.disentanglement import mig_scores
from aecli.evaluation.images import image_grid, rows_of


class TensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard callback, minus partial epochs (a resumed run trains them again, so
    logging them would duplicate their step) and flushed every epoch (a killed run keeps what it
    logged)."""

    def __init__(self, log_dir, stop):
        super().__init__(log_dir, write_graph=False, profile_batch=0)
        self.stop = stop

    def _collect_learning_rate(self, logs):
        # Keras adds the rate to every epoch; LearningRateLog puts it in the logs when it changed
        return logs

    def on_test_end(self, logs=None):
        # Keras logs each validation pass against the optimizer's step count; a stopped epoch's
        # pass (Keras still runs it) is of a partial epoch
        if self.stop.stopped_mid_epoch:
            self._pop_writer()
            return
        super().on_test_end(logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.stop.stopped_mid_epoch:
            return
        super().on_epoch_end(epoch, logs)
        self._train_writer.flush()
        self._val_writer.flush()


class EpochScalars(keras.callbacks.Callback):
    """Each epoch, the scalars the model's family logs over (up to 2,000) validation inputs
    (Autoencoder.epoch_scalars; the VAE's KL of each latent dimension). A family that logs none
    gets no event file."""

    def __init__(self, val_x, log_dir, stop, count=2000):
        super().__init__()
        self.stop = stop
        self.x = val_x[:count]
        self.log_dir = log_dir
        self.writer = None

    def on_epoch_end(self, epoch, logs=None):
        if self.stop.stopped_mid_epoch:
            return  # a partial epoch (stopped by a signal or divergence) is trained again on resume
        scalars = self.model.epoch_scalars(self.x)
        if not scalars:
            return
        self.writer = self.writer or tf.summary.create_file_writer(str(self.log_dir))
        with self.writer.as_default():
            for tag, value in scalars.items():
                tf.summary.scalar(tag, value, step=epoch)
        self.writer.flush()


class MIGPerEpoch(keras.callbacks.Callback):
    """Each epoch, the MIG of the posterior means of (up to 10,000) validation inputs against
    their ground-truth factors, and the gap of each factor, as `disentanglement/val_mig` and
    `disentanglement/val_mig_<factor>` scalars: when a run starts to disentangle, which factor it
    gains, and whether it still gains when its budget ends. Of the test metrics only MIG: it
    needs no classifier (aecli/evaluation/disentanglement.py says how it is reduced)."""

    def __init__(self, split, factor_names, log_dir, stop, count=10_000):
        super().__init__()
        self.stop = stop
        self.x, self.factors = split.x[:count], split.factors[:count]
        self.factor_names = factor_names
        self.writer = tf.summary.create_file_writer(str(log_dir))

    def on_epoch_end(self, epoch, logs=None):
        if self.stop.stopped_mid_epoch:
            return
        scores = mig_scores(self.model.encode_means(self.x), self.factors, self.factor_names)
        with self.writer.as_default():
            for name, value in scores.items():
                tf.summary.scalar(f"disentanglement/val_{name}", value, step=epoch)
        self.writer.flush()


class ImageGrids(keras.callbacks.Callback):
    """Every `every` epochs: inputs | reconstructions (| clean targets when denoising), and what
    the model's family draws besides (prior samples, decoder features), `count` to a row."""

    def __init__(self, log_dir, x_in, x_clean, stop, every=1, count=8):
        super().__init__()
        self.stop = stop
        self.writer = tf.summary.create_file_writer(str(log_dir))
        self.x_in, self.x_clean = x_in[:count], x_clean[:count]
        self.every, self.count = every, count
        self.denoising = not np.array_equal(self.x_in, self.x_clean)

    def on_epoch_end(self, epoch, logs=None):
        if self.stop.stopped_mid_epoch or not self.every or (epoch + 1) % self.every:
            return
        reconstructions = np.asarray(self.model.reconstruct(self.x_in))
        rows = (
            [self.x_clean, self.x_in, reconstructions]
            if self.denoising
            else [self.x_in, reconstructions]
        )
        with self.writer.as_default():
            name = "clean_noisy_denoised" if self.denoising else "inputs_vs_reconstructions"
            tf.summary.image(name, image_grid(rows), step=epoch)
            for name, images in self.model.generated_images(8 * self.count).items():
                tf.summary.image(name, image_grid(rows_of(images, self.count)), step=epoch)
        self.writer.flush()


# Keras' TensorBoard logs `evaluation_<metric>_vs_iterations` against the optimizer's step count;
# every other tag a run writes is indexed by epoch
ITERATION_TAG_SUFFIX = "_vs_iterations"


def logged_again(tag: str, step: int, epoch: int, iterations: int) -> bool:
    """Whether a resumed run that restarts at `epoch` (0-based) with the optimizer at `iterations`
    steps logs this point again: epoch-indexed tags from `epoch` on, iteration-indexed ones after
    `iterations` (the point at `iterations` itself is the last completed epoch's)."""
    if tag.endswith(ITERATION_TAG_SUFFIX):
        return step > iterations
    return step >= epoch


def forget_steps_from(log_dirs, epoch: int, iterations: int) -> None:
    """Drop every summary a resumed run logs again (see `logged_again`) from the event files
    under `log_dirs`: a resumed run logs those epochs again (after a kill between logging and
    checkpointing, or a fallback to an older checkpoint), and no step may appear twice. Each file
    is rewritten beside itself and renamed; a record torn by a kill ends the file's readable
    part."""
    from tensorboard.compat.proto.event_pb2 import Event

    for log_dir in log_dirs:
        for path in sorted(Path(log_dir).glob("events.out.tfevents.*")):
            kept, dropped = [], 0
            try:
                for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
                    event = Event.FromString(record)
                    if event.HasField("summary"):
                        values = [
                            value
                            for value in event.summary.value
                            if not logged_again(value.tag, event.step, epoch, iterations)
                        ]
                        if len(values) < len(event.summary.value):
                            dropped += 1
                            if not values:
                                continue
                            del event.summary.value[:]
                            event.summary.value.extend(values)
                            record = event.SerializeToString()
                    kept.append(record)
            except tf.errors.DataLossError:
                dropped += 1  # the torn tail
            if not dropped:
                continue
            temporary = path.with_name(f".{path.name}.tmp")
            try:
                with tf.io.TFRecordWriter(str(temporary)) as writer:
                    for record in kept:
                        writer.write(record)
                os.replace(temporary, path)
            finally:
                temporary.unlink(missing_ok=True)
