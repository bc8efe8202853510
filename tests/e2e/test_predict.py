"""`aecli predict`: a completed run applied to files it never saw, equal to what training measured
on the same examples, and every input that does not fit refused with nothing written."""

import csv
import json
import shutil
import signal
import subprocess
import time

import aecli_process
import numpy as np
import pytest
from aecli_process import refusal
from dataset_files import write_idx

from aecli.data import user_files
from aecli.evaluation.reload import load_run


def _write_table(path, x, labels=None, ids=None):
    """Columns [id,] s0..s{d-1} [, is_anomaly]."""
    header = [f"s{i}" for i in range(x.shape[1])]
    header = (["id"] if ids is not None else []) + header
    header += ["is_anomaly"] if labels is not None else []
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        for i, row in enumerate(x):
            cells = [f"{v:.6f}" for v in row]
            cells = ([ids[i]] if ids is not None else []) + cells
            cells += [int(labels[i])] if labels is not None else []
            writer.writerow(cells)
    return path


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    """A CSV fraud-style detector: 500 normal rows ~ N(0, 1), 25 anomalies ~ N(3, 2^2)."""
    root = tmp_path_factory.mktemp("detector")
    rng = np.random.default_rng(3)
    x = np.r_[rng.normal(size=(500, 5)), rng.normal(size=(25, 5)) * 2 + 3]
    y = np.r_[np.zeros(500, int), np.ones(25, int)]
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    table = _write_table(root / "train.csv", x, labels=y)
    run = root / "run"
    result = aecli_process.run(
        "anomaly",
        "dataset=csv",
        f"dataset.path={table}",
        "dataset.label_column=is_anomaly",
        "model.hidden_units=[16]",
        "model.latent_dim=3",
        "trainer.epochs=2",
        f"hydra.run.dir={run}",
        cwd=root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return root, run, x, y


def _predictions(folder):
    with open(folder / "predictions.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def test_predict_on_new_rows_equals_what_the_anomaly_run_measured(detector, aecli):
    root, run, x, y = detector
    # the test split's raw rows, as a new file in file order (the split the run drew)
    _, test = user_files.stratified_split(y, 0.2, 0, "train.csv")
    ids = [f"tx-{i}" for i in test]
    new = _write_table(root / "new.csv", x[test], labels=y[test], ids=ids)
    result = aecli(
        "predict", run, f"input={new}", "predict.id_column=id", "predict.name=new", cwd=root
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = run / "predictions" / "new"
    rows = _predictions(out)
    assert [row["id"] for row in rows] == ids and [int(r["row"]) for r in rows] == list(
        range(len(test))
    )
    assert [int(row["is_anomaly"]) for row in rows] == y[test].tolist()
    reloaded = load_run(run)
    expected = reloaded.model.anomaly_scores(reloaded.arrays.test.x, 10)["recon"]
    recon = np.array([float(row["recon"]) for row in rows])
    np.testing.assert_allclose(recon, expected, rtol=1e-5, atol=1e-6)
    report = json.loads((run / "anomaly.json").read_text())
    threshold = report["recon"]["threshold"]
    flags = np.array([int(row["flag"]) for row in rows], bool)
    assert (flags == (recon > threshold)).all()
    summary = json.loads((out / "predict.json").read_text())
    assert (
        summary["flagged"]
        == int(flags.sum())
        == report["recon"]["confusion"]["false_positive"]
        + report["recon"]["confusion"]["true_positive"]
    )
    assert summary["detector"]["threshold"] == threshold and summary["examples"] == len(test)
    codes = np.load(out / "codes.npy")
    np.testing.assert_allclose(
        codes, reloaded.model.encode_means(reloaded.arrays.test.x), rtol=1e-5, atol=1e-6
    )
    reconstructions = np.load(out / "reconstructions.npy")
    np.testing.assert_allclose(
        reconstructions,
        np.asarray(reloaded.model.reconstruct(reloaded.arrays.test.x)),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda h, r: (h[:-1], [row[:-1] for row in r]), "lacks the feature columns 's4'"),
        (lambda h, r: ([*h, "note"], [[*row, "x"] for row in r]), "never saw: 'note'"),
        (lambda h, r: (["t0", *h[1:]], r), "lacks the feature columns 's0'"),
        (lambda h, r: (h, [r[0], ["1", "two", "3", "4", "5"], *r[2:]]), "'two', not a number"),
        (lambda h, r: (h, [r[0], ["1", "nan", "3", "4", "5"], *r[2:]]), "line 3"),
        (lambda h, r: (h, []), "has a header but no rows"),
    ],
    ids=["missing", "extra", "renamed", "text", "nan", "empty"],
)
def test_a_table_that_does_not_fit_is_refused_with_nothing_written(detector, edit, expected):
    root, run, x, _ = detector
    header = [f"s{i}" for i in range(5)]
    rows = [[f"{v:.4f}" for v in row] for row in x[:5]]
    header, rows = edit(header, rows)
    path = root / "bad.csv"
    with open(path, "w", newline="") as stream:
        csv.writer(stream).writerows([header, *rows])
    before = sorted(p.name for p in (run / "predictions").glob("*"))
    refused = refusal("predict", run, f"input={path}")
    assert expected in str(refused), str(refused)
    assert sorted(p.name for p in (run / "predictions").glob("*")) == before


def test_refusals_of_the_run_itself(detector, aecli, tmp_path):
    root, run, x, _ = detector
    new = _write_table(tmp_path / "rows.csv", x[:4])
    # a name in use is never overwritten (through the CLI: one paragraph, exit 2)
    first = aecli("predict", run, f"input={new}", "predict.name=twice")
    again = aecli("predict", run, f"input={new}", "predict.name=twice")
    assert first.returncode == 0 and again.returncode == 2
    assert "never overwrites" in again.stderr and "Traceback" not in again.stderr
    # a table run given images
    np.savez(tmp_path / "images.npz", x=np.zeros((3, 8, 8), np.uint8))
    assert "trained on a table" in str(refusal("predict", run, f"input={tmp_path / 'images.npz'}"))
    # a run made before the preprocessing record, and a run that did not complete
    old = tmp_path / "old"
    shutil.copytree(run, old)
    (old / "preprocessing.json").unlink()
    before = sorted((old / "predictions").iterdir())
    assert "trained before aecli recorded" in str(refusal("predict", old, f"input={new}"))
    status = json.loads((old / "status.json").read_text())
    (old / "status.json").write_text(json.dumps({**status, "status": "interrupted"}))
    assert "is not a completed run" in str(refusal("predict", old, f"input={new}"))
    assert sorted((old / "predictions").iterdir()) == before


def test_a_killed_predict_leaves_no_output_folder(detector, aecli, tmp_path):
    root, run, _, _ = detector
    big = tmp_path / "big.csv"
    rng = np.random.default_rng(0)
    with open(big, "w") as stream:
        stream.write("s0,s1,s2,s3,s4\n")
        for _ in range(40):
            rows = rng.normal(size=(5000, 5))
            stream.write("\n".join(",".join(f"{v:.3f}" for v in r) for r in rows) + "\n")
    process = aecli_process.start(
        "predict",
        run,
        f"input={big}",
        "predict.name=k",
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list((run / "predictions").glob(".k.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "predict ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (run / "predictions" / "k").exists()
    # the next predict clears what the killed one left, and completes
    small = _write_table(tmp_path / "small.csv", np.zeros((3, 5)))
    result = aecli("predict", run, f"input={small}", "predict.name=k")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not list((run / "predictions").glob(".k.*.tmp"))


@pytest.fixture(scope="module")
def image_vae(tmp_path_factory):
    """A VAE on 12x12 8-bit images from an .npz with its own test split."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(5)
    ramp = np.linspace(0, 255, 12)
    x = np.clip(
        ramp[None, :, None] * rng.random((260, 1, 1)) + rng.normal(0, 20, (260, 12, 12)), 0, 255
    ).astype(np.uint8)
    np.savez(root / "data.npz", x_train=x[:200], x_test=x[200:])
    run = root / "run"
    result = aecli_process.run(
        "train",
        "model=vae",
        "dataset=npz",
        f"dataset.path={root / 'data.npz'}",
        "model.hidden_units=[32]",
        "model.latent_dim=2",
        "trainer.epochs=2",
        "trainer.batch_size=32",
        f"hydra.run.dir={run}",
        cwd=root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return root, run, x[200:]


def test_images_in_every_format_score_as_training_measured(image_vae, aecli):
    import tensorflow as tf

    root, run, x_test = image_vae
    folder = root / "new_images" / "batch1"
    folder.mkdir(parents=True)
    for i, image in enumerate(x_test):
        (folder / f"{i:03}.png").write_bytes(tf.io.encode_png(image[..., None]).numpy())
    np.savez(root / "new.npz", x=x_test)
    write_idx(root / "new-images-idx3-ubyte.gz", x_test)
    results = {}
    for name, source, extra in (
        ("folder", root / "new_images", []),
        ("npz", root / "new.npz", ["predict.batch_size=64"]),
        ("idx", root / "new-images-idx3-ubyte.gz", []),
    ):
        result = aecli("predict", run, f"input={source}", f"predict.name={name}", *extra, cwd=root)
        assert result.returncode == 0, result.stderr[-3000:]
        results[name] = _predictions(run / "predictions" / name)
    reloaded = load_run(run)
    scores = reloaded.model.anomaly_scores(reloaded.arrays.test.x, 10)
    for name, rows in results.items():
        for score in ("recon", "neg_elbo"):
            values = np.array([float(row[score]) for row in rows])
            np.testing.assert_allclose(values, scores[score], rtol=1e-5, atol=1e-5, err_msg=name)
    assert [row["file"] for row in results["folder"]][:2] == ["batch1/000.png", "batch1/001.png"]
    assert [int(row["index"]) for row in results["npz"]] == list(range(len(x_test)))
    out = run / "predictions" / "folder"
    means, log_vars = reloaded.model.posteriors(reloaded.arrays.test.x)
    np.testing.assert_allclose(np.load(out / "codes.npy"), means, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.load(out / "logvars.npy"), log_vars, rtol=1e-5, atol=1e-6)
    # image inputs get PNG pairs (input | reconstruction) by default, arrays do not
    pairs = sorted((out / "images").glob("*.png"))
    assert len(pairs) == len(x_test) and pairs[0].name == "batch1__000.png"
    assert tf.io.decode_png(pairs[0].read_bytes()).shape == (12, 24, 1)
    assert not (run / "predictions" / "npz" / "images").exists()


def test_an_image_of_another_size_is_refused_unless_resized(image_vae, aecli, tmp_path):
    import tensorflow as tf

    _, run, x_test = image_vae
    big = tf.image.resize(x_test[0][..., None], (24, 24)).numpy().astype(np.uint8)
    (tmp_path / "big.png").write_bytes(tf.io.encode_png(big).numpy())
    before = sorted((run / "predictions").glob("*"))
    refused = str(refusal("predict", run, f"input={tmp_path / 'big.png'}"))
    assert "predict.resize=true" in refused and "trained on 12x12" in refused
    assert sorted((run / "predictions").glob("*")) == before
    resized = aecli("predict", run, f"input={tmp_path / 'big.png'}", "predict.resize=true")
    assert resized.returncode == 0, resized.stderr[-2000:]
    floats = tmp_path / "floats.npz"
    np.savez(floats, x=x_test.astype(np.float32))
    assert "trained on 8-bit pixels" in str(refusal("predict", run, f"input={floats}"))
