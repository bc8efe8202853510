"""Throughput: aecli against PyTorch on the same workloads, every variant in its own process.

    python benchmarks/throughput.py [--examples 10000] [--epochs 3] [--rounds 2] [--workloads mlp]

Workloads (`WORKLOADS`), Adam(1e-3), BCE from logits summed over pixels:
- mlp: MLP VAE 784-400-20-400-784 (the chapter's section 11.3 model at latent 20), on real
  Fashion-MNIST, batch 128;
- conv: the chapter's mini-project-1 denoiser: conv 64-32-16 with 2x2 max-pooling, a mirror
  decoder with upsampling, trained on Gaussian-corrupted input (sigma 0.4, fresh every batch), on
  real Fashion-MNIST, batch 128;
- tcvae: beta-TCVAE (beta 6, stratified q(z) estimator, N = 737,280) with Chen et al.'s MLP
  networks (4096-1200-1200-10, ReLU; 10-1200-1200-1200-4096, tanh) on 64x64 dSprites from aecli's
  generator, batch 2048, the published setting; its PyTorch variants run Chen et al.'s own code,
  ported in beta_tcvae_reference.py (PyTorch eager is their step as released, diagonal fixed).

Variants:
- aecli float32 / aecli bfloat16: aecli's pipeline and model classes; XLA, steps per call and the
  fused form (`hardware.fuse_steps`) as `auto` picks them: a short timing of every candidate, then
  the fastest is timed in full.
- PyTorch eager: a plain loop over pre-loaded tensors that reads the loss every step (`.item()`,
  as a progress bar does).
- PyTorch tuned: no per-step host read, channels_last for the convs, fused Adam, the reference
  beta-TCVAE without its dead work, and OMP_WAIT_POLICY=PASSIVE (unless set): OpenMP's spinning
  waits lose the cores on a shared machine.
- torch.compile: the tuned loop with the loss compiled (its compilation falls in the warm-up).
- matmul limit (mlp only): the forward and backward matmuls of the VAE alone, float32, XLA, no
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
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from aecli.cli import TENSORFLOW_ENVIRONMENT

LEARNING_RATE, SIGMA, TCVAE_BETA = 1e-3, 0.4, 6.0
DATA_DIR = "/usr/share/datasets/fashion-mnist"
TORCH_VARIANTS = ("PyTorch eager", "PyTorch tuned", "torch.compile")


@dataclass(frozen=True)
class Workload:
    """One model every variant trains: `key` names it in --workloads, `quick` is (steps per epoch,
    epochs) of the short timing that picks aecli's candidate, `variants` run it in this order."""

    key: str
    title: str
    batch: int
    quick: tuple[int, int]
    variants: tuple[str, ...]


WORKLOADS = {
    w.key: w
    for w in (
        Workload(
            "mlp",
            "MLP VAE 784-400-20",
            128,
            (32, 3),
            ("aecli float32", "aecli bfloat16", *TORCH_VARIANTS, "matmul limit"),
        ),
        Workload(
            "conv",
            "conv denoiser 64-32-16",
            128,
            (32, 3),
            ("aecli float32", "aecli bfloat16", *TORCH_VARIANTS),
        ),
        # no bfloat16: the step is the q(z) estimate's densities, which aecli keeps in float32,
        # more than the networks' matmuls; each step is seconds, so the short timing is short
        Workload(
            "tcvae",
            "beta-TCVAE 4096-1200-1200-10, dSprites 64x64",
            2048,
            (8, 2),
            ("aecli float32", *TORCH_VARIANTS),
        ),
    )
}


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


def dsprites_images(examples: int):
    """`examples` 64x64 dSprites images from aecli's generator (NumPy alone), float32 NHWC."""
    from aecli.data.dsprites import generate

    return generate(examples, seed=0)[0].astype("float32")


def dsprites_arrays(examples: int):
    """The same images as aecli's splits, all of them training (validation and test unused)."""
    import numpy as np

    from aecli.data import Arrays, Split

    x = dsprites_images(examples)
    empty = Split(x[:0], np.zeros(0, np.int64))
    return Arrays(train=Split(x, np.zeros(len(x), np.int64)), val=empty, test=empty)


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


def keras_beta_tcvae():
    """aecli's `model=beta_tcvae` at Chen et al.'s networks, beta and dataset size (the whole grid,
    as their code estimates q(z) with len(dataset))."""
    from aecli.config.model import Activation, BetaTCVAEConfig
    from aecli.data.dsprites import NUM_IMAGES
    from aecli.models import build_model

    config = BetaTCVAEConfig(
        name="beta_tcvae",
        latent_dim=10,
        hidden_units=[1200, 1200],
        decoder_hidden_units=[1200, 1200, 1200],
        decoder_activation=Activation.tanh,
        beta=TCVAE_BETA,
    )
    return build_model(config, (64, 64, 1), seed=0, dataset_size=NUM_IMAGES)


KERAS_MODELS = {"mlp": keras_vae, "conv": keras_denoiser, "tcvae": keras_beta_tcvae}


def train_aecli(workload, arrays, epochs, precision):
    """aecli's core at `precision`: its tf.data pipeline, model class, and XLA, steps per call and
    fused form picked as `auto` does (every candidate timed briefly, the fastest kept); returns
    (samples/s, note)."""
    import keras

    from aecli.config.model import NoiseConfig, NoiseType
    from aecli.config.run import FuseSteps, HardwareConfig, Precision, TrainerConfig
    from aecli.data.pipeline import make_pipelines
    from aecli.training import autotune, hardware
    from aecli.training.optimization import build_optimizer

    placement = hardware.configure(
        HardwareConfig(name="cpu", device="cpu", precision=Precision(precision))
    )
    noise = (
        NoiseConfig(type=NoiseType.gaussian, level=SIGMA)
        if workload.key == "conv"
        else NoiseConfig()
    )

    def fit(jit, per_call, fused, steps_per_epoch, epochs_):
        hardware.clear_session()
        keras.utils.set_random_seed(0)
        model = KERAS_MODELS[workload.key]()
        model.compile(
            optimizer=build_optimizer(
                TrainerConfig(learning_rate=LEARNING_RATE), 1, placement.mixed
            ),
            jit_compile=jit,
            steps_per_execution=per_call,
        )
        model.fuse_steps = fused
        data = make_pipelines(arrays, workload.batch, noise, seed=0)
        steps = steps_per_epoch or data.steps_per_epoch
        train = data.train.repeat()
        model.fit(train, epochs=1, steps_per_epoch=steps, verbose=0)
        start = time.perf_counter()
        model.fit(train, epochs=epochs_ - 1, steps_per_epoch=steps, verbose=0)
        return (epochs_ - 1) * steps * workload.batch / (time.perf_counter() - start)

    candidates = autotune.combinations(
        [precision],
        (False, True),
        autotune.STEPS_PER_CALL_CANDIDATES,
        autotune.fused_forms(FuseSteps.auto),
    )
    quick = {
        option: fit(option.jit, option.per_call, option.fused, *workload.quick)
        for option in candidates
    }
    best = max(quick, key=quick.get)
    return (
        fit(best.jit, best.per_call, best.fused, None, epochs),
        autotune.describe(best.jit, best.per_call, fused=best.fused),
    )


def matmul_limit(epochs_steps: int, batch: int) -> float:
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
    x = tf.constant(rng.random((batch, 784)).astype(np.float32))
    # a random upstream gradient: with a plain sum XLA turns the backward matmuls into reductions
    target = tf.constant(rng.standard_normal((batch, 784)).astype(np.float32))
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
    return calls * inner * batch / (time.perf_counter() - start)


# ---- PyTorch -----------------------------------------------------------------------------------


def torch_model(workload, variant):
    import torch
    from torch import nn

    if workload.key == "tcvae":
        from beta_tcvae_reference import ReferenceBetaTCVAE

        from aecli.data.dsprites import NUM_IMAGES

        return ReferenceBetaTCVAE(NUM_IMAGES, TCVAE_BETA, released=variant == "PyTorch eager")

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

    return TorchVAE() if workload.key == "mlp" else TorchDenoiser()


def train_torch(workload, images, epochs, variant):
    """Samples/s of a PyTorch loop over pre-loaded NCHW tensors; see the module docstring."""
    import torch

    torch.manual_seed(0)
    model = torch_model(workload, variant)
    tuned = variant != "PyTorch eager"
    conv = workload.key == "conv"
    x_all = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
    if tuned and conv:
        model = model.to(memory_format=torch.channels_last)
        x_all = x_all.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, fused=tuned)
    loss_of = torch.compile(model) if variant == "torch.compile" else model
    sigma = SIGMA if conv else 0.0
    batch = workload.batch
    steps = len(x_all) // batch
    seconds = 0.0
    for epoch in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x_all))
        for step in range(steps):
            x = x_all[order[step * batch : (step + 1) * batch]]
            x_in = (x + sigma * torch.randn_like(x)).clamp(0, 1) if sigma else x
            optimizer.zero_grad(set_to_none=True)
            loss = loss_of(x_in, x)
            loss.backward()
            optimizer.step()
            if not tuned:
                loss.item()
        if epoch:
            seconds += time.perf_counter() - start
    return (epochs - 1) * steps * batch / seconds, f"{torch.get_num_threads()} threads"


# ---- the driver --------------------------------------------------------------------------------


def child(options) -> None:
    """One variant of one workload; prints JSON with samples/s and this process's peak RSS."""
    variant, workload = options.variant, WORKLOADS[options.workload]
    # aecli trains on its training split (dataset.validation_fraction 0.1 held out): the same count
    examples = int(options.examples * 0.9)
    dsprites = workload.key == "tcvae"
    if variant.startswith("aecli"):
        speed, note = train_aecli(
            workload,
            dsprites_arrays(examples)
            if dsprites
            else load_images(options.examples, options.data_dir),
            options.epochs,
            "float32" if variant.endswith("float32") else "mixed_bfloat16",
        )
    elif variant == "matmul limit":
        steps = options.epochs * (examples // workload.batch)
        speed, note = matmul_limit(steps, workload.batch), "XLA, float32"
    else:
        images = dsprites_images(examples) if dsprites else read_images(examples, options.data_dir)
        speed, note = train_torch(workload, images, options.epochs, variant)
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
        workload.key,
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
        raise SystemExit(f"{variant} on {workload.title} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--examples",
        type=int,
        default=10000,
        help="examples of Fashion-MNIST (of dSprites for tcvae), 90%% of them trained on",
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
        help=f"comma-separated, of {', '.join(WORKLOADS)} (each runs every variant every round)",
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
    unknown = sorted(set(asked) - set(WORKLOADS))
    if unknown:
        parser.error(
            f"--workloads: unknown {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}"
        )
    chosen = [workload for key, workload in WORKLOADS.items() if key in asked]
    results = {}  # (workload, variant) -> one result per round
    for _ in range(options.rounds):
        for workload in chosen:
            for variant in workload.variants:
                results.setdefault((workload, variant), []).append(
                    run_child(options, workload, variant)
                )
    flags = " ".join(flag for flag in ("avx512f", *BF16_CPU_FLAGS) if flag in cpu.flags)
    table = Table(
        title=f"samples/s, {options.examples} examples, "
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
            f"{workload.title}, batch {workload.batch}",
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
