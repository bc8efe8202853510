"""`dataset=csv|npz|image_folder`: a user's own files, trained on end to end with no code."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf


def _metrics(root: Path, task: str = "train") -> dict:
    runs = list(root.glob(f"outputs/{task}/*/metrics.json"))
    assert len(runs) == 1, runs
    return json.loads(runs[0].read_text())


def test_a_csv_table_trains_and_records_the_file_it_read(aecli, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "table.csv"
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["a", "b", "c", "label"])
        for row in rng.normal(size=(400, 3)):
            writer.writerow([*np.round(row, 4), 0])
    result = aecli(
        "train",
        "debug=smoke",
        "model=vanilla",
        "model.likelihood=gaussian",
        "model.hidden_units=[8]",
        "model.latent_dim=2",
        "dataset=csv",
        f"dataset.path={path}",
        "dataset.label_column=label",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = _metrics(tmp_path)
    assert metrics["dataset"] == "csv" and metrics["data_files"] == [str(path)]


def test_an_npz_without_a_test_split_gets_one_carved_out(aecli, tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "mine.npz"
    np.savez(
        path,
        x_train=(rng.random((300, 8, 8)) * 255).astype(np.uint8),
        y_train=rng.integers(0, 3, 300),
    )
    result = aecli(
        "train",
        "debug=smoke",
        "model=vae",
        "model.hidden_units=[16]",
        "model.latent_dim=2",
        "dataset=npz",
        f"dataset.path={path}",
        "dataset.limit=null",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = _metrics(tmp_path)
    # about 240 rows after the stratified 20% test share (rounded per label), less a tenth for
    # validation; with no test share carved out it would be 270
    assert 210 <= metrics["train_examples"] <= 220
    assert np.isfinite(metrics["test_elbo"])


def test_an_image_folder_trains_a_conv_model(aecli, tmp_path):
    rng = np.random.default_rng(2)
    for label in ("cats", "dogs"):
        (tmp_path / "pets" / label).mkdir(parents=True)
        for i in range(40):
            pixels = (rng.random((16, 16, 3)) * 255).astype(np.uint8)
            tf.io.write_file(str(tmp_path / "pets" / label / f"{i}.png"), tf.io.encode_png(pixels))
    result = aecli(
        "train",
        "debug=smoke",
        "model=vanilla",
        "model.architecture=conv",
        "model.conv_filters=[8]",
        "dataset=image_folder",
        f"dataset.path={tmp_path / 'pets'}",
        "dataset.color_mode=grayscale",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert _metrics(tmp_path)["test_psnr_db"] > 0


@pytest.mark.parametrize("source", ["csv", "npz", "image_folder"])
def test_a_missing_path_is_one_paragraph(aecli, tmp_path, source):
    result = aecli("train", "debug=smoke", f"dataset={source}", f"dataset.path={tmp_path / 'nope'}")
    assert result.returncode == 2
    assert "nope" in result.stderr and "Traceback" not in result.stderr
