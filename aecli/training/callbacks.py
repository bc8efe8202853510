"""Keras callbacks that write TensorBoard: scalars without partial epochs, and image grids."""

import keras
import numpy as np
import tensorflow as tf

from aecli.evaluation.images import image_grid, rows_of


class TensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard callback, minus partial epochs (a resumed run trains them again, so logging
    them would duplicate their step) and flushed every epoch (a killed run keeps what it logged)."""

    def __init__(self, log_dir, stop):
        super().__init__(log_dir, write_graph=False, profile_batch=0)
        self.stop = stop

    def _collect_learning_rate(self, logs):
        # Keras adds the rate to every epoch; LearningRateLog puts it in the logs when it changed
        return logs

    def on_epoch_end(self, epoch, logs=None):
        if self.stop.stopped_mid_epoch:
            return
        super().on_epoch_end(epoch, logs)
        self._train_writer.flush()
        self._val_writer.flush()


class ImageGrids(keras.callbacks.Callback):
    """Every `every` epochs: inputs | reconstructions (| clean targets when denoising), and what
    the model's family draws besides (prior samples, decoder features), `count` to a row."""

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
        rows = ([self.x_clean, self.x_in, reconstructions] if self.denoising
                else [self.x_in, reconstructions])
        with self.writer.as_default():
            name = "clean_noisy_denoised" if self.denoising else "inputs_vs_reconstructions"
            tf.summary.image(name, image_grid(rows), step=epoch)
            for name, images in self.model.generated_images(8 * self.count).items():
                tf.summary.image(name, image_grid(rows_of(images, self.count)), step=epoch)
        self.writer.flush()

