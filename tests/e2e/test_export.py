"""`aecli export`: a completed run as a SavedModel (or TFLite) that serves raw inputs in a Python
process without aecli, and reproduces the run's own codes, reconstructions, scores and flags."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import aecli_process
import numpy as np
import pytest
import tensorflow as tf
from aecli_process import refusal

from aecli.inference.trained import load_trained

TOLERANCE = 1e-5

# Loaded with TensorFlow's site-packages on the path and nothing else: `-I -S` drops the
# working directory, PYTHONPATH and the .pth files (aecli's editable install among them).
PLAIN_TENSORFLOW = """
import sys
import time
sys.path.append(sys.argv[1])
import numpy as np
import tensorflow as tf

assert "aecli" not in sys.modules
try:
    import aecli
except ImportError:
    pass
else:
    raise SystemExit(f"aecli is importable from {aecli.__file__}")
export, inputs, out = sys.argv[2:5]
loaded = tf.saved_model.load(export)
given = np.load(inputs)
results = {}
for name, function in loaded.signatures.items():
    key = "code" if name == "decode" else "x"
    argument = {key: tf.constant(given[key])}
    for key, value in function(**argument).items():
        results[f"{name}/{key}"] = value.numpy()
assert "aecli" not in sys.modules
np.savez(out, **results)
"""


def _sensor_table(path: Path, rng, normal=300, anomalies=20) -> Path:
    """Five readings ~ N(0, 1), anomalies ~ N(3, 2^2); a 0/1 `label` column."""
    x = np.r_[rng.normal(size=(normal, 5)), rng.normal(size=(anomalies, 5)) * 2 + 3]
    y = np.r_[np.zeros(normal, int), np.ones(anomalies, int)]
    lines = [",".join([*(f"f{i}" for i in range(5)), "label"])]
    for row, label in zip(x, y, strict=True):
        lines.append(",".join(f"{v:.5f}" for v in row) + f",{label}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _images(rng, count, low=0, high=256) -> np.ndarray:
    return rng.integers(low, high, size=(count, 16, 16, 1), dtype=np.uint8)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Three tiny completed runs: a CSV detector (vanilla MLP, `aecli anomaly`), a one-class image
    detector scoring by neg_elbo (VAE), and an image denoiser (conv_denoising)."""
    root = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(0)
    table = _sensor_table(root / "sensors.csv", rng)
    labelled = root / "labelled.npz"
    np.savez(
        labelled,
        x_train=np.r_[_images(rng, 200, 0, 100), _images(rng, 20, 150, 256)],
        y_train=np.r_[np.zeros(200, int), np.ones(20, int)],
    )
    images = root / "images.npz"
    np.savez(images, x_train=_images(rng, 200), y_train=np.zeros(200, int))
    commands = {
        "csv_detector": (
            "anomaly",
            "dataset=csv",
            f"dataset.path={table}",
            "dataset.label_column=label",
            "model.hidden_units=[16]",
            "model.latent_dim=4",
        ),
        "vae_detector": (
            "anomaly",
            "dataset=npz",
            f"dataset.path={labelled}",
            "model=vae",
            "anomaly.score=neg_elbo",
            "model.hidden_units=[32]",
            "model.latent_dim=4",
        ),
        "denoiser": (
            "train",
            "dataset=npz",
            f"dataset.path={images}",
            "model=conv_denoising",
            "model.conv_filters=[8,8]",
            "model.latent_dim=4",
        ),
    }
    made = {}
    for name, command in commands.items():
        run = root / name
        result = aecli_process.run(
            *command, "trainer.epochs=1", "trainer.batch_size=32", f"hydra.run.dir={run}", cwd=root
        )
        assert result.returncode == 0, result.stderr[-3000:]
        made[name] = run
    return made


def _raw_inputs(run: Path, rng) -> np.ndarray:
    """New raw examples, never seen in training: table rows (some far out), or 8-bit images."""
    record = json.loads((run / "preprocessing.json").read_text())
    if record["input"] == "table":
        rows = rng.normal(size=(40, len(record["columns"])))
        rows[20:] = rows[20:] * 2 + 4
        return rows.astype(np.float32)
    return _images(rng, 24)


def _model_input(raw: np.ndarray, record: dict) -> np.ndarray:
    """The preprocessing by hand, from the record: standardised rows, or pixels / 255."""
    if record["input"] == "table":
        mean, std = np.asarray(record["mean"]), np.asarray(record["std"])
        return ((raw.astype(np.float64) - mean) / std).astype(np.float32)
    return raw.astype(np.float32) * np.float32(record["scale"])


def _expected(run: Path, raw: np.ndarray) -> dict[str, np.ndarray]:
    """What the run computes with its own networks in this process (aecli loaded)."""
    trained = load_trained(run, "export")
    model = trained.model
    x = _model_input(raw, trained.preprocessing)
    if trained.variational:
        mean, log_var = (np.asarray(t) for t in model.posterior(x))
        expected = {"encode/mean": mean, "encode/log_variance": log_var}
    else:
        expected = {"encode/mean": np.asarray(model.encode_mean(x))}
    code = expected["encode/mean"]
    expected["decode/decoded"] = np.asarray(model.decoded_mean(model.decoder(code)))
    expected["reconstruct/reconstruction"] = np.asarray(model.reconstruct(x))
    expected["score/score"] = model.anomaly_scores(x, 1)["recon"]
    return expected


def _export(run: Path, *options: str) -> subprocess.CompletedProcess:
    return aecli_process.run("export", run, *options, cwd=run.parent)


def _served_in_plain_tensorflow(export: Path, raw, code, tmp_path) -> dict[str, np.ndarray]:
    site_packages = str(Path(tf.__file__).resolve().parents[1])
    inputs, out = tmp_path / "inputs.npz", tmp_path / "outputs.npz"
    np.savez(inputs, x=raw, code=code)
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PLAIN_TENSORFLOW, site_packages]
        + [str(export), str(inputs), str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(np.load(out))


@pytest.mark.parametrize("name", ["csv_detector", "vae_detector"])
def test_the_saved_model_reproduces_the_run_on_raw_inputs_without_aecli(runs, name, tmp_path):
    run = runs[name]
    result = _export(run)
    assert result.returncode == 0, result.stderr[-3000:]
    export = run / "export" / "saved_model"
    metadata = json.loads((export / "metadata.json").read_text())
    raw = _raw_inputs(run, np.random.default_rng(1))
    expected = _expected(run, raw)
    served = _served_in_plain_tensorflow(export, raw, expected["encode/mean"], tmp_path)

    for key, value in expected.items():
        np.testing.assert_allclose(served[key], value, atol=TOLERANCE, rtol=0, err_msg=key)
    # the max abs difference of every output, in the log for the report
    print(name, max(float(np.max(np.abs(served[k] - v))) for k, v in expected.items()))

    report = json.loads((run / "anomaly.json").read_text())
    threshold = report[report["score"]]["threshold"]
    assert metadata["threshold"] == {
        "score": report["score"],
        "threshold": threshold,
        "threshold_rule": report["threshold_rule"],
    }
    if name == "csv_detector":
        assert metadata["serving_default"] == "flag" and metadata["flag_refused"] is None
        np.testing.assert_allclose(served["flag/score"], expected["score/score"], atol=TOLERANCE)
        np.testing.assert_array_equal(served["flag/flag"], served["flag/score"] > threshold)
        np.testing.assert_array_equal(served["flag/flag"], expected["score/score"] > threshold)
        assert served["flag/flag"].any() and not served["flag/flag"].all()
        assert metadata["input"] == {
            "kind": "table",
            "dtype": "float32",
            "shape": [None, 5],
            "columns": [f"f{i}" for i in range(5)],
            "standardised_in": "float64",
        }
    else:  # a neg_elbo detector: its decision is not exported, and the user is told so
        assert not any(key.startswith("flag/") for key in served)
        assert "flag" not in metadata["signatures"]
        assert "`flag` is not exported" in metadata["flag_refused"]
        assert "neg_elbo" in metadata["flag_refused"]
        assert "`flag` is not exported" in result.stderr
        assert set(metadata["signatures"]["encode"]["outputs"]) == {"mean", "log_variance"}
        assert metadata["input"] == {"kind": "image", "dtype": "uint8", "shape": [None, 16, 16, 1]}


def test_metadata_holds_the_records_that_reproduce_the_run(runs):
    run = runs["csv_detector"]
    export = run / "export" / "saved_model"
    if not export.exists():
        assert _export(run).returncode == 0
    metadata = json.loads((export / "metadata.json").read_text())
    assert metadata["preprocessing"] == json.loads((run / "preprocessing.json").read_text())
    assert metadata["metrics"] == json.loads((run / "metrics.json").read_text())
    assert metadata["config"]["model"]["hidden_units"] == [16]
    assert metadata["config"]["dataset"]["label_column"] == "label"
    assert metadata["provenance"]["versions"]["tensorflow"] == tf.__version__
    assert metadata["provenance"]["seeds"]["seed"] == metadata["config"]["seed"]
    assert metadata["family"] == "vanilla" and metadata["format"] == "saved_model"
    assert set(metadata["signatures"]) == {"flag", "reconstruct", "encode", "decode", "score"}


def test_saved_model_cli_lists_every_signature(runs):
    run = runs["csv_detector"]
    export = run / "export" / "saved_model"
    if not export.exists():
        assert _export(run).returncode == 0
    cli = Path(sys.executable).parent / "saved_model_cli"
    shown = subprocess.run(
        [str(cli), "show", "--all", "--dir", str(export)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert shown.returncode == 0, shown.stderr[-3000:]
    for name in ("serving_default", "flag", "reconstruct", "encode", "decode", "score"):
        assert f"signature_def['{name}']" in shown.stdout
    assert "inputs['x'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, 5)" in (
        shown.stdout
    )


@pytest.mark.parametrize("name", ["csv_detector", "vae_detector", "denoiser"])
def test_every_family_converts_to_tflite_and_matches_the_run(runs, name):
    run = runs[name]
    result = _export(run, "export.format=tflite")
    assert result.returncode == 0, result.stderr[-3000:]
    export = run / "export" / "tflite"
    assert sorted(path.name for path in export.iterdir()) == ["metadata.json", "model.tflite"]
    assert json.loads((export / "metadata.json").read_text())["format"] == "tflite"
    raw = _raw_inputs(run, np.random.default_rng(2))
    expected = _expected(run, raw)
    interpreter = tf.lite.Interpreter(model_path=str(export / "model.tflite"))
    for key, value in expected.items():
        signature, output = key.split("/")
        runner = interpreter.get_signature_runner(signature)
        given = {"code": expected["encode/mean"]} if signature == "decode" else {"x": raw}
        # TFLite's kernels (and a table's float32 standardisation) round differently: a score
        # of tens differs in its last float32 digits, hence a relative part too
        np.testing.assert_allclose(
            runner(**given)[output], value, atol=TOLERANCE, rtol=TOLERANCE, err_msg=key
        )


def test_an_existing_export_is_refused_and_left_as_it_was(runs):
    run = runs["denoiser"]
    export = run / "export" / "saved_model"
    if not export.exists():
        assert _export(run).returncode == 0
    before = {path: path.read_bytes() for path in export.rglob("*") if path.is_file()}

    result = _export(run)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "already holds an export" in result.stderr and "Delete that folder" in result.stderr
    assert {path: path.read_bytes() for path in export.rglob("*") if path.is_file()} == before
    assert not [path for path in (run / "export").iterdir() if path.name.startswith(".")]


def test_a_run_that_did_not_complete_is_refused_and_nothing_is_written(runs, tmp_path):
    run = tmp_path / "interrupted"
    shutil.copytree(runs["denoiser"], run, ignore=shutil.ignore_patterns("export"))
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, "status": "interrupted"}))

    refused = refusal("export", run)
    assert "is not a completed run (its status is interrupted)" in str(refused)
    assert not (run / "export").exists()


def test_an_unknown_format_is_refused_and_nothing_is_written(runs, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(runs["denoiser"], run, ignore=shutil.ignore_patterns("export"))
    refused = refusal("export", run, "export.format=onnx")
    assert "export.format=onnx is not a format aecli exports" in str(refused)
    assert not (run / "export").exists()


def test_a_stopped_export_leaves_no_folder_and_a_killed_ones_leftovers_are_cleared(runs, tmp_path):
    """SIGTERM while the SavedModel is being written: exit 143 and no export folder, whole or
    half. A SIGKILLed export's building folder (its process gone) is removed by the next export,
    which then succeeds."""
    run = tmp_path / "copy"
    shutil.copytree(runs["denoiser"], run, ignore=shutil.ignore_patterns("export"))
    stopped = aecli_process.start(
        "export", run, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    building = run / "export" / f".saved_model.{stopped.pid}.tmp"
    while not building.exists() and stopped.poll() is None:
        time.sleep(0.005)
    seen_building = building.exists()
    stopped.send_signal(signal.SIGTERM)
    _, stderr = stopped.communicate(timeout=600)
    assert seen_building, "the export ended before its folder was seen being built"
    assert stopped.returncode == 143 and "Traceback" not in stderr, stderr[-3000:]
    assert not (run / "export").exists() or not list((run / "export").iterdir())

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    leftover = run / "export" / f".saved_model.{gone.pid}.tmp"
    (leftover / "variables").mkdir(parents=True)
    (leftover / "saved_model.pb").write_bytes(b"half")
    result = _export(run)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not leftover.exists()
    assert sorted(path.name for path in (run / "export").iterdir()) == ["saved_model"]


@pytest.mark.parametrize("name", ["csv_detector", "vae_detector"])
def test_the_saved_model_reproduces_aecli_predict_on_the_same_files(runs, name, tmp_path):
    """The same new file through `aecli predict` and through the export in plain TensorFlow: the
    codes, reconstructions, scores and flags agree. A CSV's cells reach the export as float32
    (its signature's dtype), predict reads them as float64."""
    run = runs[name]
    if not (run / "export" / "saved_model").exists():
        assert _export(run).returncode == 0
    raw = _raw_inputs(run, np.random.default_rng(3))
    if raw.dtype == np.uint8:
        given = tmp_path / "new.npz"
        np.savez(given, x=raw)
    else:
        given = tmp_path / "new.csv"
        header = ",".join(f"f{i}" for i in range(raw.shape[1]))
        np.savetxt(given, raw, fmt="%.6f", delimiter=",", header=header, comments="")
        raw = np.loadtxt(given, delimiter=",", skiprows=1, dtype=np.float32)
    result = aecli_process.run("predict", run, f"input={given}", "predict.name=new", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    predicted = run / "predictions" / "new"
    table = np.genfromtxt(predicted / "predictions.csv", delimiter=",", names=True)
    codes = np.load(predicted / "codes.npy")
    served = _served_in_plain_tensorflow(run / "export" / "saved_model", raw, codes, tmp_path)

    pairs = {
        "encode/mean": codes,
        "reconstruct/reconstruction": np.load(predicted / "reconstructions.npy"),
        "score/score": table["recon"],
    }
    if name == "csv_detector":
        pairs["flag/flag"] = table["flag"].astype(bool)
    else:
        pairs["encode/log_variance"] = np.load(predicted / "logvars.npy")
    differences = {}
    for key, value in pairs.items():
        # a far-out row's score is tens: one float32 rounding there is a few 1e-6, hence rtol
        np.testing.assert_allclose(served[key], value, atol=TOLERANCE, rtol=1e-6, err_msg=key)
        differences[key] = float(np.max(np.abs(served[key].astype(float) - value)))
    print(name, "export vs predict", differences)
