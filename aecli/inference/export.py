"""A completed run as a self-contained model for serving: a TensorFlow SavedModel (or a TFLite
flatbuffer converted from it) whose signatures take the *raw* inputs the run was trained from,
with the run's preprocessing inside the graph, and a metadata.json beside it that says what goes
in, what comes out, and where it came from. Neither needs aecli to be loaded.

Signatures (inputs `x` raw, as in the training files; `code` for decode):
  encode       x -> mean (the code; a VAE's posterior mean), log_variance (VAEs, clamped as in
               training)
  decode       code -> decoded (E[x | z] in the model's input scale)
  reconstruct  x -> reconstruction (in the model's input scale)
  score        x -> score (`recon`: the mean over input dimensions of the squared difference
               between the model's input and its reconstruction, aecli's anomaly score)
  flag         x -> flag (score > the run's threshold), score; anomaly runs whose detector
               scores by `recon`

The folder is built beside its target and renamed into place at the end, so RUN/export/<format>/
either holds a whole export or does not exist.
"""

import contextlib
import json
import os
import shutil
import sys
from pathlib import Path

import tensorflow as tf
from omegaconf import OmegaConf

from aecli.errors import UserError
from aecli.inference.trained import TrainedModel, load_trained
from aecli.models import losses
from aecli.rundir.atomic import published_folder
from aecli.rundir.provenance import provenance, run_seeds
from aecli.rundir.signals import guard

FORMATS = ("saved_model", "tflite")
METADATA = "metadata.json"
TFLITE_MODEL = "model.tflite"
# bumped when a signature's inputs or outputs change meaning
EXPORT_VERSION = 1
# the score every family exports: the deterministic reconstruction error (a VAE's `neg_elbo` is a
# Monte Carlo estimate and is not exported)
EXPORTED_SCORE = "recon"


class ExportRefused(UserError):
    """The export cannot be made as asked; nothing was written."""


def _raw_dtype(preprocessing: dict) -> tf.DType:
    """The dtype the training files store: tables are read as numbers, images as 8-bit pixels."""
    if preprocessing["input"] == "table":
        return tf.float32
    return tf.uint8 if preprocessing["dtype"] == "uint8" else tf.float32


def _model_input(x, preprocessing: dict, table_dtype: tf.DType):
    """The model's input from a raw batch, as aecli.data.arrays computes it: a table standardised
    by its training rows' mean and std (in `table_dtype`: float64 as in training, float32 where
    the runtime has no float64 arithmetic), 8-bit pixels divided by 255, other arrays as they
    are."""
    if preprocessing["input"] == "table":
        mean = tf.constant(preprocessing["mean"], table_dtype)
        std = tf.constant(preprocessing["std"], table_dtype)
        return tf.cast((tf.cast(x, table_dtype) - mean) / std, tf.float32)
    x = tf.cast(x, tf.float32)
    scale = float(preprocessing["scale"])
    divisor = 1.0 / scale
    if abs(divisor - round(divisor)) < 1e-9:  # 1/255: divided, as the training pixels were
        return x if round(divisor) == 1 else x / tf.constant(float(round(divisor)), tf.float32)
    return x * tf.constant(scale, tf.float32)


def serving_functions(
    trained: TrainedModel, table_dtype: tf.DType = tf.float64
) -> tuple[dict, str | None]:
    """name -> tf.function with its input signature, in the order they are exported (the first
    is also `serving_default`); and why `flag` was left out, or None. `table_dtype` is the
    arithmetic of a table's standardisation."""
    model, preprocessing = trained.model, trained.preprocessing
    x_spec = tf.TensorSpec((None, *trained.input_shape), _raw_dtype(preprocessing), name="x")
    code_spec = tf.TensorSpec((None, *model.code_shape), tf.float32, name="code")

    def prepared(x):
        return _model_input(x, preprocessing, table_dtype)

    @tf.function(input_signature=[x_spec])
    def encode(x):
        inputs = prepared(x)
        if trained.variational:
            mean, log_var = model.posterior(inputs)
            return {"mean": mean, "log_variance": log_var}
        return {"mean": tf.cast(model.encode_mean(inputs), tf.float32)}

    @tf.function(input_signature=[code_spec])
    def decode(code):
        return {"decoded": tf.cast(model.decoded_mean(model.decoder(code)), tf.float32)}

    @tf.function(input_signature=[x_spec])
    def reconstruct(x):
        return {"reconstruction": tf.cast(model.reconstruct(prepared(x)), tf.float32)}

    def recon_score(x):
        inputs = prepared(x)
        return losses.mse(inputs, model.reconstruct(inputs))

    @tf.function(input_signature=[x_spec])
    def score(x):
        return {"score": recon_score(x)}

    # the first is `serving_default`: what a denoiser is served for, or a detector's decision
    functions = {"reconstruct": reconstruct, "encode": encode, "decode": decode, "score": score}
    detector, refusal = trained.detector, None
    if detector is not None and detector.score == EXPORTED_SCORE:
        threshold = tf.constant(detector.threshold, tf.float32)

        @tf.function(input_signature=[x_spec])
        def flag(x):
            value = recon_score(x)
            return {"flag": value > threshold, "score": value}

        functions = {"flag": flag, **functions}
    elif detector is not None:
        refusal = (
            f"`flag` is not exported: this run's detector flags on `{detector.score}` (threshold "
            f"{detector.threshold:.6g}), a Monte Carlo estimate over posterior samples that the "
            f"export does not reproduce; only the `{EXPORTED_SCORE}` score is exported. Train the "
            f"detector with anomaly.score={EXPORTED_SCORE} to export its decision, or apply the "
            f"threshold to a `{detector.score}` you compute yourself."
        )
    return functions, refusal


def _config(trained: TrainedModel) -> dict:
    """The run's config as saved (.hydra/config.yaml), interpolations left as written."""
    return OmegaConf.to_container(OmegaConf.load(trained.folder.config), resolve=False)


def _spec(spec: tf.TensorSpec) -> dict:
    return {"dtype": spec.dtype.name, "shape": list(spec.shape.as_list())}


def metadata(
    trained: TrainedModel, fmt: str, functions: dict, refusal: str | None, table_dtype: tf.DType
) -> dict:
    """What metadata.json says: enough to call the export correctly without aecli."""
    preprocessing = trained.preprocessing
    signatures = {}
    for name, function in functions.items():
        concrete = function.get_concrete_function()
        outputs = concrete.structured_outputs
        signatures[name] = {
            "inputs": {spec.name: _spec(spec) for spec in function.input_signature},
            "outputs": {key: _spec(tf.TensorSpec.from_tensor(t)) for key, t in outputs.items()},
        }
    x_spec = next(iter(functions.values())).input_signature[0]
    input_spec = {"kind": preprocessing["input"], **_spec(x_spec)}
    if preprocessing["input"] == "table":
        input_spec["columns"] = preprocessing["columns"]
        input_spec["standardised_in"] = table_dtype.name
    model_scale = (
        "standardised units, (raw - mean) / std with the preprocessing record's mean and std"
        if preprocessing["input"] == "table"
        else f"raw values times {preprocessing['scale']:.10g} (8-bit pixels / 255 lie in [0, 1])"
        if preprocessing.get("dtype") == "uint8"
        else "the raw values"
    )
    return {
        "export_version": EXPORT_VERSION,
        "format": fmt,
        "run": str(trained.folder.path.resolve()),
        "family": trained.cfg.model.name,
        "variational": trained.variational,
        "serving_default": next(iter(functions)),
        "input": input_spec,
        "code_shape": [None, *trained.model.code_shape],
        "signatures": signatures,
        "output_scale": (
            "`reconstruction` and `decoded` are in the model's input scale, not the raw one: "
            f"{model_scale}."
        ),
        "score": {
            "name": EXPORTED_SCORE,
            "definition": (
                "mean over input dimensions of (model input - reconstruction)^2, per example, "
                "in the model's input scale"
            ),
        },
        "threshold": trained.detector.as_record() if trained.detector else None,
        "flag_refused": refusal,
        "preprocessing": preprocessing,
        "config": _config(trained),
        "metrics": trained.metrics,
        "provenance": provenance(run_seeds(trained.cfg), gpu=False),
    }


def write_saved_model(trained: TrainedModel, functions: dict, path: Path) -> None:
    """The SavedModel of `functions` at `path`, through Keras' ExportArchive (which tracks the
    networks' variables and registers each function as a signature)."""
    from keras.export import ExportArchive

    archive = ExportArchive()
    archive.track(trained.model)
    for name, function in functions.items():
        archive.add_endpoint(name, function)
    archive.write_out(str(path), verbose=False)


@contextlib.contextmanager
def _native_stderr_discarded():
    """The MLIR converter prints one diagnostic per op and call site straight to descriptor 2;
    the refusal names the ops in one paragraph instead."""
    sys.stderr.flush()
    kept = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(kept, 2)
        os.close(kept)


def convert_to_tflite(saved_model: Path, family: str) -> bytes:
    """Every signature of `saved_model` as one TFLite flatbuffer with TFLite's built-in ops only,
    refused in one paragraph naming the ops it has no kernel for."""
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        with _native_stderr_discarded():
            return converter.convert()
    except Exception as error:  # ConverterError, and whatever the MLIR bridge raises
        ops = sorted(
            {
                entry.operator.name
                for entry in getattr(error, "errors", [])
                if getattr(entry, "operator", None) and entry.operator.name
            }
        )
        named = ", ".join(ops) if ops else str(error).strip().splitlines()[0][:300]
        raise ExportRefused(
            f"The {family} run cannot be converted to TFLite: the converter found no TFLite "
            f"built-in kernel for {named}. Export it with export.format=saved_model instead, "
            "which keeps every TensorFlow op and loads with tf.saved_model.load."
        ) from None


def export_run(run_dir: Path, fmt: str) -> tuple[Path, dict]:
    """Write RUN/export/<fmt>/ for the completed run at `run_dir`; return the folder and its
    metadata. Refused, with nothing written, for an unknown format, a run that cannot be loaded
    or an export that already exists."""
    if fmt not in FORMATS:
        raise ExportRefused(
            f"export.format={fmt} is not a format aecli exports; use one of {', '.join(FORMATS)}."
        )
    trained = load_trained(Path(run_dir), "export")
    target = trained.folder.export_dir(fmt)
    if target.exists():
        raise ExportRefused(
            f"{target} already holds an export of this run, and aecli never overwrites one. "
            f"Delete that folder (or move it elsewhere, e.g. to keep the earlier export), then run "
            f"`aecli export {trained.folder.path} export.format={fmt}` again."
        )
    # TFLite has no float64 Sub and Div: its tables are standardised in float32, which moves the
    # model's input by float32 rounding (~1e-7 relative) from what training computed
    table_dtype = tf.float64 if fmt == "saved_model" else tf.float32
    functions, refusal = serving_functions(trained, table_dtype)
    record = metadata(trained, fmt, functions, refusal, table_dtype)
    with published_folder(target, synced=True) as building:
        with guard.deferred():  # a stop waits for TensorFlow's writer, then removes the folder
            if fmt == "saved_model":
                write_saved_model(trained, functions, building)
            else:
                staged = building / ".saved_model"
                write_saved_model(trained, functions, staged)
                flatbuffer = convert_to_tflite(staged, trained.cfg.model.name)
                (building / TFLITE_MODEL).write_bytes(flatbuffer)
                shutil.rmtree(staged)
        (building / METADATA).write_text(json.dumps(record, indent=2, allow_nan=True) + "\n")
    return target, record
