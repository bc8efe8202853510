"""Throughput: aecli against PyTorch on the same two workloads, every variant in its own process.

    python benchmarks/throughput.py [--examples 10000] [--epochs 3] [--rounds 2] [--workloads mlp]

Workloads, on real Fashion-MNIST, batch 128, Adam(1e-3), BCE from logits summed over pixels:
- MLP VAE 784-400-20-400-784 (the chapter's section 11.3 model at latent 20);
- the chapter's mini-project-1 denoiser: conv 64-32-16 with 2x2 max-pooling, a mirror decoder
  with upsampling, trained on Gaussian-corrupted input (sigma 0.4, fresh every batch).

Variants:
- aecli float32 / aecli bfloat16: aecli's pipeline and model classes; XLA and steps per call as
  `auto` picks them: a short timing of every candidate, then the fastest is timed in full.
- PyTorch eager: a plain loop over pre-loaded tensors that reads the loss every step (`.item()`,
  as a progress bar does).
- PyTorch tuned: no per-step host read, channels_last for the convs, fused Adam, and
  OMP_WAIT_POLICY=PASSIVE (unless set): OpenMP's spinning waits lose the cores on a shared machine.
- torch.compile: the tuned loop with the loss compiled (its compilation falls in the warm-up).
- matmul limit (MLP only): the forward and backward matmuls of the VAE alone, float32, XLA, no
  nonlinearity, loss or optimizer: what the machine can do at all for these shapes.

Every variant runs in a fresh child process (its peak memory is the child's max RSS, the
framework's import included), and the variants alternate A B C .. A B C over `--rounds`; the first
epoch of each is warm-up; samples/s is over the others. Ratios are to aecli float32 in the same
round; the worst round (lowest ratio of aecli to each peer) is reported, as the machine may be
shared. Needs the CPU build of torch: `pip install 'aecli[bench]'` on a machine whose index serves
it (e.g. `--index-url https://download.pytorch.org/whl/cpu`).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from aecli.cli import TENSORFLOW_ENVIRONMENT

BATCH, LEARNING_RATE, SIGMA = 128, 1e-3, 0.4
DATA_DIR = "/usr/share/datasets/fashion-mnist"
WORKLOADS = ("MLP VAE 784-400-20", "conv denoiser 64-32-16")
VARIANTS = (
    "aecli float32",
    "aecli bfloat16",
    "PyTorch eager",
    "PyTorch tuned",
    "torch.compile",
    "matmul limit",
)


def read_images(examples: int, data_dir: str):
    """The first `examples` training images as float32 NHWC in [0, 1], read with NumPy alone so a
    PyTorch child's peak memory holds no TensorFlow."""
    import gzip

    import numpy as np

    with gzip.open(os.path.join(data_dir, "train-images-idx3-ubyte.gz")) as file:
        pixels = np.frombuffer(file.read(), np.uint8, offset=16)
    return (pixels.reshape(-1, 28, 28, 1)[:examples] / 255.0).astype(np.float32)


def load_images(examples: int, data_dir: str):
    from aecli.config.dataset import DatasetName, FileDatasetConfig
    from aecli.data import load_arrays

    return load_arrays(
        FileDatasetConfig(
            name=DatasetName.fashion_mnist, limit=examples, data_dir=data_dir, download=False
        ),
        seed=0,
    )


# ---- aecli -------------------------------------------------------------------------------------


def keras_denoiser():
    import keras
    from keras import layers

    from aecli.models import Autoencoder

    x = keras.Input((28, 28, 1))
    h = x
    for filters in (64, 32, 16):
        h = layers.Conv2D(filters, 3, padding="same", activation="relu")(h)
        h = layers.MaxPooling2D(2, padding="same")(h)
    encoder = keras.Model(x, h)
    code = keras.Input(h.shape[1:])
    h = layers.UpSampling2D(2)(layers.Conv2D(16, 3, padding="same", activation="relu")(code))
    h = layers.UpSampling2D(2)(layers.Conv2D(32, 3, padding="same", activation="relu")(h))
    h = layers.UpSampling2D(2)(layers.Conv2D(64, 3, activation="relu")(h))
    logits = layers.Conv2D(1, 3, padding="same", dtype="float32")(h)
    return Autoencoder(encoder, keras.Model(code, logits))


def keras_vae():
    from aecli.config.model import VAEConfig
    from aecli.models import build_model

    return build_model(
        VAEConfig(name="vae", hidden_units=[400], latent_dim=20), (28, 28, 1), seed=0
    )


def train_aecli(workload, arrays, epochs, precision):
    """aecli's core at `precision`: its tf.data pipeline, model class, and XLA and steps per call
    picked as `auto` does (every candidate timed briefly, the fastest kept); returns (samples/s,
    note)."""
    import keras

    from aecli.config.model import NoiseConfig, NoiseType
    from aecli.config.run import HardwareConfig, Precision, TrainerConfig
    from aecli.data.pipeline import make_pipelines
    from aecli.training import autotune, hardware
    from aecli.training.optimization import build_optimizer

    placement = hardware.configure(
        HardwareConfig(name="cpu", device="cpu", precision=Precision(precision))
    )
    mlp = workload == WORKLOADS[0]
    noise = NoiseConfig() if mlp else NoiseConfig(type=NoiseType.gaussian, level=SIGMA)

    def fit(jit, per_call, steps_per_epoch, epochs_):
        hardware.clear_session()
        keras.utils.set_random_seed(0)
        model = keras_vae() if mlp else keras_denoiser()
        model.compile(
            optimizer=build_optimizer(
                TrainerConfig(learning_rate=LEARNING_RATE), 1, placement.mixed
            ),
            jit_compile=jit,
            steps_per_execution=per_call,
        )
        data = make_pipelines(arrays, BATCH, noise, seed=0)
        steps = steps_per_epoch or data.steps_per_epoch
        train = data.train.repeat()
        model.fit(train, epochs=1, steps_per_epoch=steps, verbose=0)
        start = time.perf_counter()
        model.fit(train, epochs=epochs_ - 1, steps_per_epoch=steps, verbose=0)
        return (epochs_ - 1) * steps * BATCH / (time.perf_counter() - start)

    per_calls = autotune.STEPS_PER_CALL_CANDIDATES
    quick = {
        (jit, per_call): fit(jit, per_call, 4 * max(per_calls), 3)
        for jit in (False, True)
        for per_call in per_calls
    }
    jit, per_call = max(quick, key=quick.get)
    return fit(jit, per_call, None, epochs), autotune.describe(jit, per_call)


def matmul_limit(epochs_steps: int) -> float:
    """Samples/s of the VAE's matmuls alone: x(128x784)@784x400, h@400x40 (both Gaussian heads),
    z(128x20)@20x400, @400x784, their backward matmuls (input and weight gradients, through
    tf.GradientTape) and a plain SGD update that consumes every gradient in full (so XLA can drop
    none of them); no nonlinearity, float32, XLA, 8 steps unrolled per compiled call."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(1)
    weights = [
        tf.Variable(rng.standard_normal(s).astype(np.float32) * 0.01)
        for s in [(784, 400), (400, 40), (20, 400), (400, 784)]
    ]
    x = tf.constant(rng.random((BATCH, 784)).astype(np.float32))
    # a random upstream gradient: with a plain sum XLA turns the backward matmuls into reductions
    target = tf.constant(rng.standard_normal((BATCH, 784)).astype(np.float32))
    inner = 8

    @tf.function(jit_compile=True)
    def steps():
        for _ in range(inner):
            with tf.GradientTape() as tape:
                heads = (x @ weights[0]) @ weights[1]
                loss = tf.reduce_sum(((heads[:, :20] @ weights[2]) @ weights[3]) * target)
            for weight, gradient in zip(weights, tape.gradient(loss, weights), strict=True):
                weight.assign_sub(1e-9 * gradient)
        return weights[0][0, 0]

    steps().numpy()
    calls = max(epochs_steps // inner, 4)
    start = time.perf_counter()
    for _ in range(calls):
        steps().numpy()
    return calls * inner * BATCH / (time.perf_counter() - start)


# ---- PyTorch -----------------------------------------------------------------------------------


def torch_model(workload):
    import torch
    from torch import nn

    class TorchVAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden, self.mean, self.log_var = (
                nn.Linear(784, 400),
                nn.Linear(400, 20),
                nn.Linear(400, 20),
            )
            self.decoder = nn.Sequential(nn.Linear(20, 400), nn.ReLU(), nn.Linear(400, 784))

        def forward(self, x_in, x):
            h = torch.relu(self.hidden(x_in.flatten(1)))
            mean, log_var = self.mean(h), self.log_var(h)
            z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
            recon = nn.functional.binary_cross_entropy_with_logits(
                self.decoder(z), x.flatten(1), reduction="sum"
            )
            kl = -0.5 * torch.sum(1 + log_var - mean.square() - log_var.exp())
            return (recon + kl) / len(x)

    class TorchDenoiser(nn.Module):
        def __init__(self):
            super().__init__()

            def conv(i, o, p=1):
                return [nn.Conv2d(i, o, 3, padding=p), nn.ReLU()]

            pool = nn.MaxPool2d(2, ceil_mode=True)  # Keras' padding="same" pooling
            self.net = nn.Sequential(
                *conv(1, 64),
                pool,
                *conv(64, 32),
                pool,
                *conv(32, 16),
                pool,
                *conv(16, 16),
                nn.Upsample(scale_factor=2),
                *conv(16, 32),
                nn.Upsample(scale_factor=2),
                *conv(32, 64, p=0),
                nn.Upsample(scale_factor=2),
                nn.Conv2d(64, 1, 3, padding=1),
            )

        def forward(self, x_in, x):
            logits = self.net(x_in)
            return nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(
                x
            )

    return TorchVAE() if workload == WORKLOADS[0] else TorchDenoiser()


def train_torch(workload, images, epochs, variant):
    """Samples/s of a PyTorch loop over pre-loaded NCHW tensors; see the module docstring."""
    import torch

    torch.manual_seed(0)
    model = torch_model(workload)
    tuned = variant != "PyTorch eager"
    conv = workload != WORKLOADS[0]
    x_all = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
    if tuned and conv:
        model = model.to(memory_format=torch.channels_last)
        x_all = x_all.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, fused=tuned)
    loss_of = torch.compile(model) if variant == "torch.compile" else model
    sigma = SIGMA if conv else 0.0
    steps = len(x_all) // BATCH
    seconds = 0.0
    for epoch in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x_all))
        for step in range(steps):
            x = x_all[order[step * BATCH : (step + 1) * BATCH]]
            x_in = (x + sigma * torch.randn_like(x)).clamp(0, 1) if sigma else x
            optimizer.zero_grad(set_to_none=True)
            loss = loss_of(x_in, x)
            loss.backward()
            optimizer.step()
            if not tuned:
                loss.item()
        if epoch:
            seconds += time.perf_counter() - start
    return (epochs - 1) * steps * BATCH / seconds, f"{torch.get_num_threads()} threads"


# ---- the driver --------------------------------------------------------------------------------


def child(options) -> None:
    """One variant of one workload; prints JSON with samples/s and this process's peak RSS."""
    variant, workload = options.variant, options.workload
    # aecli trains on its training split (dataset.validation_fraction 0.1 held out): the same count
    examples = int(options.examples * 0.9)
    if variant.startswith("aecli"):
        speed, note = train_aecli(
            workload,
            load_images(options.examples, options.data_dir),
            options.epochs,
            "float32" if variant.endswith("float32") else "mixed_bfloat16",
        )
    elif variant == "matmul limit":
        speed, note = matmul_limit(options.epochs * (examples // BATCH)), "XLA, float32"
    else:
        speed, note = train_torch(
            workload, read_images(examples, options.data_dir), options.epochs, variant
        )
        if os.environ.get("OMP_WAIT_POLICY"):
            note += f", OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}"
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"samples_per_second": speed, "peak_mib": peak_mib, "note": note}))


def run_child(options, workload, variant) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--workload",
        workload,
        "--variant",
        variant,
        "--examples",
        str(options.examples),
        "--epochs",
        str(options.epochs),
        "--data-dir",
        options.data_dir,
    ]
    env = dict(os.environ)
    if variant.startswith("aecli") or variant == "matmul limit":
        env.update({k: env.get(k, v) for k, v in TENSORFLOW_ENVIRONMENT.items()})  # as `aecli` runs
    if variant in ("PyTorch tuned", "torch.compile"):
        # OpenMP threads spin while they wait; on a machine whose cores other processes share, the
        # spinning takes the cores from the work (7x slower measured on a loaded 2-core host)
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"{variant} on {workload} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--examples", type=int, default=10000, help="training examples of Fashion-MNIST"
    )
    parser.add_argument(
        "--epochs", type=int, default=3, help="epochs per variant, the first is warm-up"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="times every variant runs, alternating"
    )
    parser.add_argument("--data-dir", default=DATA_DIR, help="folder with the Fashion-MNIST files")
    parser.add_argument(
        "--workloads",
        default="mlp,conv",
        help="comma-separated, of mlp and conv (one workload halves the time of a round)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        return child(options)

    from rich.console import Console
    from rich.table import Table

    from aecli.training.hardware import BF16_CPU_FLAGS, cpu_identity

    cpu = cpu_identity()
    asked = options.workloads.split(",")
    unknown = sorted(set(asked) - {"mlp", "conv"})
    if unknown:
        parser.error(f"--workloads: unknown {', '.join(unknown)}; choose from mlp, conv")
    chosen = [
        workload for name, workload in zip(("mlp", "conv"), WORKLOADS, strict=True) if name in asked
    ]
    results = {}  # (workload, variant) -> one result per round
    for _ in range(options.rounds):
        for workload in chosen:
            for variant in VARIANTS:
                if variant == "matmul limit" and workload != WORKLOADS[0]:
                    continue
                results.setdefault((workload, variant), []).append(
                    run_child(options, workload, variant)
                )
    flags = " ".join(flag for flag in ("avx512f", *BF16_CPU_FLAGS) if flag in cpu.flags)
    table = Table(
        title=f"samples/s, {options.examples} Fashion-MNIST examples, batch {BATCH}, "
        f"{options.epochs - 1} timed epochs, {options.rounds} rounds alternating; "
        f"{cpu.model} ({os.cpu_count()} cores; {flags})"
    )
    for column in (
        "workload",
        "variant",
        "samples/s per round",
        "aecli f32 / variant per round",
        "worst round",
        "peak MiB",
        "note",
    ):
        table.add_column(column, justify="right")
    for (workload, variant), runs in results.items():
        ours = results[(workload, "aecli float32")]
        ratios = [
            a["samples_per_second"] / b["samples_per_second"]
            for a, b in zip(ours, runs, strict=True)
        ]
        table.add_row(
            workload,
            variant,
            " ".join(f"{r['samples_per_second']:.0f}" for r in runs),
            " ".join(f"{r:.2f}" for r in ratios),
            f"{min(ratios):.2f}",
            f"{max(r['peak_mib'] for r in runs):.0f}",
            runs[-1]["note"],
        )
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
