"""Throughput: aecli's training core against eager PyTorch on the same two workloads, in one invocation.

    .venv/bin/python experiments/throughput.py [--examples 20000] [--epochs 3]

Workloads, both on real Fashion-MNIST, batch 128, Adam(1e-3), BCE from logits summed over pixels:
- MLP VAE 784-400-20-400-784 (the chapter's section 11.3 model at latent 20);
- the chapter's mini-project-1 denoiser: conv 64-32-16 with 2x2 max-pooling, a mirror decoder
  with upsampling, trained on Gaussian-corrupted input (sigma 0.4, fresh every batch).
aecli trains through its own pipeline, model classes and compile settings (XLA and steps per
execution as configured); PyTorch is a plain eager loop over pre-loaded tensors. The first epoch
of each is warm-up (tracing, allocation) and left out; samples/s is over the remaining epochs.
Needs the optional CPU build of torch: `pip install torch --index-url https://download.pytorch.org/whl/cpu`.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from aecli.training import hardware  # noqa: E402
from aecli.config.schema import (Architecture, DatasetConfig, DatasetName, HardwareConfig, NoiseConfig,  # noqa: E402
                                 NoiseType, TrainerConfig)
from aecli.data import load_arrays  # noqa: E402
from aecli.models import VAE, Autoencoder  # noqa: E402
from aecli.data.pipeline import make_pipelines  # noqa: E402

BATCH, LEARNING_RATE, SIGMA = 128, 1e-3, 0.4


def keras_vae():
    x = keras.Input((28, 28, 1))
    h = layers.Dense(400, activation="relu")(layers.Flatten()(x))
    encoder = keras.Model(x, [layers.Dense(20)(h), layers.Dense(20)(h)])
    z = keras.Input((20,))
    logits = layers.Reshape((28, 28, 1))(layers.Dense(784)(layers.Dense(400, activation="relu")(z)))
    return VAE(encoder, keras.Model(z, logits), beta=1.0, seed=0)


def keras_denoiser():
    x = keras.Input((28, 28, 1))
    h = x
    for filters in (64, 32, 16):
        h = layers.MaxPooling2D(2, padding="same")(layers.Conv2D(filters, 3, padding="same", activation="relu")(h))
    encoder = keras.Model(x, h)
    code = keras.Input(h.shape[1:])
    h = layers.UpSampling2D(2)(layers.Conv2D(16, 3, padding="same", activation="relu")(code))
    h = layers.UpSampling2D(2)(layers.Conv2D(32, 3, padding="same", activation="relu")(h))
    h = layers.UpSampling2D(2)(layers.Conv2D(64, 3, activation="relu")(h))
    return Autoencoder(encoder, keras.Model(code, layers.Conv2D(1, 3, padding="same")(h)))


def train_aecli(build, arrays, noise, epochs, hardware_cfg):
    """Samples/s of aecli's core: its tf.data pipeline, model class and compile settings."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    placement = hardware.configure(hardware_cfg)
    model = build()
    architecture = Architecture.mlp if isinstance(model, VAE) else Architecture.conv
    jit, _ = hardware.jit_compile(hardware_cfg, architecture, placement)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), jit_compile=jit,
                  steps_per_execution=TrainerConfig().steps_per_execution)
    data = make_pipelines(arrays, BATCH, noise, seed=0)
    model.fit(data.train, epochs=1, shuffle=False, verbose=0)
    start = time.perf_counter()
    model.fit(data.train, epochs=epochs - 1, shuffle=False, verbose=0)
    return (epochs - 1) * data.steps_per_epoch * BATCH / (time.perf_counter() - start)


def torch_models():
    import torch
    from torch import nn

    class TorchVAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden, self.mean, self.log_var = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
            self.decoder = nn.Sequential(nn.Linear(20, 400), nn.ReLU(), nn.Linear(400, 784))

        def loss(self, x_in, x):
            h = torch.relu(self.hidden(x_in.flatten(1)))
            mean, log_var = self.mean(h), self.log_var(h)
            z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
            recon = nn.functional.binary_cross_entropy_with_logits(self.decoder(z), x.flatten(1), reduction="sum")
            kl = -0.5 * torch.sum(1 + log_var - mean.square() - log_var.exp())
            return (recon + kl) / len(x)

    class TorchDenoiser(nn.Module):
        def __init__(self):
            super().__init__()
            conv = lambda i, o, p=1: [nn.Conv2d(i, o, 3, padding=p), nn.ReLU()]  # noqa: E731
            pool = nn.MaxPool2d(2, ceil_mode=True)  # Keras' padding="same" pooling
            self.net = nn.Sequential(*conv(1, 64), pool, *conv(64, 32), pool, *conv(32, 16), pool,
                                     *conv(16, 16), nn.Upsample(scale_factor=2), *conv(16, 32),
                                     nn.Upsample(scale_factor=2), *conv(32, 64, p=0), nn.Upsample(scale_factor=2),
                                     nn.Conv2d(64, 1, 3, padding=1))

        def loss(self, x_in, x):
            return nn.functional.binary_cross_entropy_with_logits(self.net(x_in), x, reduction="sum") / len(x)

    return TorchVAE, TorchDenoiser


def train_torch(model_class, images, sigma, epochs):
    """Samples/s of a plain eager PyTorch loop over pre-loaded NCHW tensors."""
    import torch

    torch.manual_seed(0)
    model = model_class()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    x_all = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
    steps = len(x_all) // BATCH
    seconds = 0.0
    for epoch in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x_all))
        for step in range(steps):
            x = x_all[order[step * BATCH:(step + 1) * BATCH]]
            x_in = (x + sigma * torch.randn_like(x)).clamp(0, 1) if sigma else x
            optimizer.zero_grad(set_to_none=True)
            model.loss(x_in, x).backward()
            optimizer.step()
        if epoch:
            seconds += time.perf_counter() - start
    return (epochs - 1) * steps * BATCH / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=20000, help="training examples of Fashion-MNIST")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per framework, the first is warm-up")
    options = parser.parse_args()
    import torch

    arrays = load_arrays(DatasetConfig(name=DatasetName.fashion_mnist, limit=options.examples), seed=0)
    hardware_cfg = HardwareConfig(name="cpu", device="cpu")
    torch_vae, torch_denoiser = torch_models()
    workloads = [
        ("MLP VAE 784-400-20", keras_vae, NoiseConfig(), torch_vae, 0.0),
        ("conv denoiser 64-32-16", keras_denoiser, NoiseConfig(type=NoiseType.gaussian, level=SIGMA),
         torch_denoiser, SIGMA),
    ]
    table = Table(title=f"samples/s, {len(arrays.train.x)} Fashion-MNIST examples, batch {BATCH}, "
                        f"{options.epochs - 1} timed epochs; torch {torch.__version__} "
                        f"({torch.get_num_threads()} threads), keras {keras.__version__}")
    for column in ("workload", "aecli", "PyTorch eager", "aecli / PyTorch"):
        table.add_column(column, justify="right")
    for name, build, noise, torch_class, sigma in workloads:
        ours = train_aecli(build, arrays, noise, options.epochs, hardware_cfg)
        theirs = train_torch(torch_class, arrays.train.x, sigma, options.epochs)
        table.add_row(name, f"{ours:.0f}", f"{theirs:.0f}", f"{ours / theirs:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
