"""The story of `aecli predict`: a completed run applied to new data, in batches, into a new folder.

RUN/predictions/<name>/ holds predictions.csv (one row per example: its key, the reconstruction
error `recon` (mean squared over dimensions, the chapter's anomaly score), `neg_elbo` for VAEs,
and for a detector made by `aecli anomaly` its `score` and `flag` = score > the run's own
threshold), codes.npy (posterior means), logvars.npy (VAEs), reconstructions.npy (in the model's
input scale), for images PNGs of each input beside its reconstruction, and predict.json (the run,
the input, counts, the threshold used, timings). The folder is written under a temporary name and
renamed when complete, so an interrupted or refused predict leaves no half-written output.
"""

import csv
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from aecli.console import console
from aecli.errors import UserError
from aecli.inference.inputs import NewInput
from aecli.inference.trained import TrainedModel
from aecli.rundir.atomic import published_folder, write_json

# the VAE's negative-ELBO score is seeded by each example's position in chunks of this many
# (models.likelihood): batches that start on a multiple score as the whole input would
EXAMPLE_CHUNK = 64
ARRAY_OUTPUTS = ("codes", "reconstructions")


def output_folder(run: TrainedModel, name: str | None) -> Path:
    """RUN/predictions/<name>; a name given that exists already is refused (nothing is ever
    overwritten), a timestamp that does gets a suffix."""
    root = run.folder.predictions
    if name is not None:
        if "/" in name or name in ("", ".", ".."):
            raise UserError(f"predict.name={name!r} is not a folder name; give a plain name.")
        if (root / name).exists():
            raise UserError(
                f"{root / name} exists already, and predict never overwrites a result. Choose "
                "another predict.name, or move that folder away first."
            )
        return root / name
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    target, suffix = root / stamp, 1
    while target.exists():
        suffix += 1
        target = root / f"{stamp}_{suffix}"
    return target


def predict(
    run: TrainedModel,
    source: NewInput,
    target: Path,
    batch_size: int,
    outputs: tuple[str, ...],
    images: bool,
    max_images: int,
) -> dict:
    """Score `source` with `run` into `target`; returns what predict.json records."""
    with published_folder(target) as working:
        summary = _write(run, source, working, batch_size, outputs, images, max_images)
        summary["output"] = str(target.resolve())
        write_json(working / "predict.json", summary)
    return summary


def _write(run, source, folder, batch_size, outputs, images, max_images) -> dict:
    batch_size = max(EXAMPLE_CHUNK, batch_size // EXAMPLE_CHUNK * EXAMPLE_CHUNK)
    model, detector = run.model, run.detector
    samples = getattr(getattr(run.cfg, "anomaly", None), "elbo_samples", 10)
    n, code_shape = source.count, model.code_shape
    arrays = {}
    if "codes" in outputs:
        arrays["codes"] = _npy(folder / "codes.npy", (n, *code_shape))
        if run.variational:
            arrays["logvars"] = _npy(folder / "logvars.npy", (n, *code_shape))
    if "reconstructions" in outputs:
        arrays["reconstructions"] = _npy(folder / "reconstructions.npy", (n, *run.input_shape))
    score_names = ["recon", *(["neg_elbo"] if run.variational else [])]
    header = [*source.key_names, *score_names, *(["score", "flag"] if detector else [])]
    flagged, done, pictures = 0, 0, 0
    compute = _compiled(model, run.variational)
    started = time.perf_counter()
    from rich.progress import Progress

    with (
        open(folder / "predictions.csv", "w", newline="") as table,
        Progress(console=console, transient=True) as progress,
    ):
        writer = csv.writer(table)
        writer.writerow(header)
        task = progress.add_task(f"predict {source.path.name}", total=n)
        for batch in source.batches(batch_size):
            x = batch.x
            out = {name: value.numpy() for name, value in compute(x).items()}
            means, log_vars = out["mean"], out.get("log_var")
            reconstructions, scores = out["reconstruction"], {"recon": out["recon"]}
            if run.variational:  # Monte Carlo, seeded by position as over the whole input
                scores["neg_elbo"] = model.anomaly_scores(x, samples, offset=done)["neg_elbo"]
            rows = len(x)
            part = slice(done, done + rows)
            if "codes" in arrays:
                arrays["codes"][part] = means
            if "logvars" in arrays:
                arrays["logvars"][part] = log_vars
            if "reconstructions" in arrays:
                arrays["reconstructions"][part] = reconstructions
            columns = [batch.keys[key] for key in source.key_names]
            columns += [[f"{value:.9g}" for value in scores[name]] for name in score_names]
            if detector:
                score = scores[detector.score]
                flags = score > detector.threshold
                flagged += int(flags.sum())
                columns += [[f"{value:.9g}" for value in score], flags.astype(int).tolist()]
            writer.writerows(zip(*columns, strict=True))
            if images and pictures < max_images:
                pictures += _pairs(folder, batch, source, x, reconstructions, max_images - pictures)
            done += rows
            progress.update(task, advance=rows)
    for array in arrays.values():
        array.flush()
    seconds = time.perf_counter() - started
    return {
        "run": str(run.folder.path.resolve()),
        "input": str(source.path.resolve()),
        "input_kind": source.kind,
        "examples": done,
        "keys": source.key_names,
        "scores": score_names,
        "detector": detector.as_record() if detector else None,
        "flagged": flagged if detector else None,
        "outputs": sorted(f"{name}.npy" for name in arrays),
        "images": pictures,
        "batch_size": batch_size,
        "seconds": seconds,
        "examples_per_second": done / seconds if seconds else None,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _compiled(model, variational: bool):
    """One graph per batch for the code, the reconstruction and its error (the `recon` score, as
    `Autoencoder.anomaly_scores` computes it): called eagerly, the layers' Python overhead costs
    several times the arithmetic of a small network."""
    import tensorflow as tf

    from aecli.models import losses

    @tf.function(reduce_retracing=True)
    def compute(x):
        if variational:
            mean, log_var = model.posterior(x)
            out = {"mean": mean, "log_var": log_var}
        else:
            mean = model.encode_mean(x)
            out = {"mean": mean}
        reconstruction = model.decoded_mean(model.decoder(mean))
        return out | {"reconstruction": reconstruction, "recon": losses.mse(x, reconstruction)}

    return compute


def _npy(path: Path, shape: tuple) -> np.ndarray:
    """A float32 .npy of a known shape, filled batch by batch (the input is streamed)."""
    return np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)


def _pairs(folder, batch, source, x, reconstructions, room: int) -> int:
    """PNGs of input | reconstruction side by side (the denoised image, for a denoiser), named
    after each example's key; returns how many were written."""
    if x.ndim != 4:
        return 0
    from PIL import Image

    pictures = folder / "images"
    pictures.mkdir(exist_ok=True)
    key = source.key_names[0]
    count = min(room, len(x))
    for i in range(count):
        pair = np.concatenate([x[i], np.clip(reconstructions[i], 0, 1)], axis=1)
        pixels = np.rint(pair * 255).astype(np.uint8)
        if pixels.shape[-1] == 1:
            pixels = pixels[..., 0]
        name = str(batch.keys[key][i]).replace(os.sep, "__")
        Image.fromarray(pixels).save(pictures / f"{Path(name).stem or name}.png")
    return count


def print_summary(summary: dict) -> None:
    flagged = (
        f", {summary['flagged']} flagged above {summary['detector']['threshold']:.4g} "
        f"({summary['detector']['score']})"
        if summary["detector"]
        else ""
    )
    rate = summary["examples_per_second"]
    console.print(
        f"predicted {summary['examples']:,} examples{flagged} in {summary['seconds']:.1f} s"
        + (f" ({rate:,.0f} examples/s)" if rate else "")
        + f"\nwrote {summary['output']}/predictions.csv"
        + "".join(f", {name}" for name in summary["outputs"])
        + (f", {summary['images']} PNGs in images/" if summary["images"] else "")
        + ", predict.json",
        markup=False,
        soft_wrap=True,
    )
