"""Keras callbacks of a run: image grids in TensorBoard and a rich progress display."""

import time

import keras
import numpy as np
import tensorflow as tf
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from aecli.console import console
from aecli.evaluation.images import image_grid


class TensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard callback, minus partial epochs (a resumed run trains them again, so logging
    them would duplicate their step) and flushed every epoch (a killed run keeps what it logged)."""

    def __init__(self, log_dir, stop):
        super().__init__(log_dir, write_graph=False, profile_batch=0)
        self.stop = stop

    def on_epoch_end(self, epoch, logs=None):
        if self.stop.stopped_mid_epoch:
            return
        super().on_epoch_end(epoch, logs)
        self._train_writer.flush()
        self._val_writer.flush()


class ImageGrids(keras.callbacks.Callback):
    """Every `every` epochs: inputs | reconstructions (| clean targets when denoising), and prior samples for VAEs."""

    def __init__(self, log_dir, x_in, x_clean, every=1, count=8):
        super().__init__()
        self.writer = tf.summary.create_file_writer(str(log_dir))
        self.x_in, self.x_clean = x_in[:count], x_clean[:count]
        self.every, self.count = every, count
        self.denoising = not np.array_equal(self.x_in, self.x_clean)

    def on_epoch_end(self, epoch, logs=None):
        if not self.every or (epoch + 1) % self.every:
            return
        reconstructions = np.asarray(self.model.reconstruct(self.x_in))
        rows = [self.x_clean, self.x_in, reconstructions] if self.denoising else [self.x_in, reconstructions]
        with self.writer.as_default():
            name = "clean_noisy_denoised" if self.denoising else "inputs_vs_reconstructions"
            tf.summary.image(name, image_grid(rows), step=epoch)
            if hasattr(self.model, "code_features") and len(self.model.decoder.input_shape) == 2:
                features = np.asarray(self.model.code_features())[: 8 * self.count]
                tf.summary.image("decoder_features", image_grid(np.split(features, len(features) // self.count)
                                                                if len(features) % self.count == 0 else [features]),
                                 step=epoch)
            if hasattr(self.model, "sample_prior"):
                samples = np.asarray(self.model.sample_prior(2 * self.count))
                tf.summary.image("prior_samples", image_grid([samples[: self.count], samples[self.count:]]),
                                 step=epoch)
        self.writer.flush()


def _format(logs) -> str:
    return "  ".join(f"{name} {value:.4g}" for name, value in logs.items())


class RichProgress(keras.callbacks.Callback):
    """A live bar with the loss terms on a terminal; one plain line per epoch otherwise (CI, log files)."""

    def __init__(self, epochs, steps_per_epoch, initial_epoch=0):
        super().__init__()
        self.epochs, self.steps, self.initial_epoch = epochs, steps_per_epoch, initial_epoch
        self.live = console.is_terminal
        self.progress = Progress(TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"), BarColumn(),
                                 TextColumn("{task.fields[terms]}"), TimeElapsedColumn(), console=console)

    def on_train_begin(self, logs=None):
        if self.live:
            self.progress.start()
            self.task = self.progress.add_task("train", total=self.epochs * self.steps,
                                               completed=self.initial_epoch * self.steps, epoch=self.initial_epoch + 1,
                                               epochs=self.epochs, terms="")

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.perf_counter()
        if self.live:
            self.progress.update(self.task, epoch=epoch + 1)

    def on_train_batch_end(self, batch, logs=None):
        if self.live:
            self.progress.update(self.task, completed=self.epoch_index * self.steps + batch + 1,
                                 terms=_format(logs or {}))

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.epoch_start
        line = f"epoch {epoch + 1}/{self.epochs}  {_format(logs or {})}  ({seconds:.1f}s)"
        if self.live:
            self.progress.console.print(line)
        else:
            console.print(line, soft_wrap=True)

    def on_train_end(self, logs=None):
        if self.live:
            self.progress.stop()

    @property
    def epoch_index(self):
        return self.progress.tasks[0].fields["epoch"] - 1
