"""The export's in-graph preprocessing against aecli's own, and the TFLite refusal."""

import os
import signal

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.trackable import autotrackable

from aecli.data.arrays import _scaled, _standardisation
from aecli.inference.export import ExportRefused, _model_input, convert_to_tflite


def test_a_table_is_standardised_in_the_graph_exactly_as_training_did():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(50, 4)) * [1.0, 1e3, 1e-3, 7.0] + [0.0, 5e4, 1.0, -3.0]
    mean, std = _standardisation(rows)
    record = {"input": "table", "columns": list("abcd"), "mean": mean.tolist(), "std": std.tolist()}
    raw = rows.astype(np.float32)  # what a client sends: the signature's input is float32
    graph = _model_input(tf.constant(raw), record, tf.float64).numpy()
    np.testing.assert_array_equal(
        graph, _scaled(raw.astype(np.float64), standardisation=(mean, std))
    )


def test_pixels_are_scaled_in_the_graph_exactly_as_training_did():
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    record = {"input": "image", "shape": [16, 16, 1], "dtype": "uint8", "scale": 1 / 255}
    graph = _model_input(tf.constant(pixels), record, tf.float64).numpy()
    np.testing.assert_array_equal(graph, _scaled(pixels))


def test_a_graph_with_ops_tflite_lacks_is_refused_naming_them(tmp_path):
    """float64 Sub and RealDiv, the ops a table's exact standardisation would need, have no
    TFLite built-in kernel: the refusal names them in one paragraph."""
    module = tf.Module()
    module.centre = tf.function(
        lambda x: {"y": (x - tf.constant(1.0, tf.float64)) / tf.constant(2.0, tf.float64)},
        input_signature=[tf.TensorSpec((None, 3), tf.float64, name="x")],
    )
    tf.saved_model.save(module, str(tmp_path), signatures={"centre": module.centre})

    with pytest.raises(ExportRefused) as refused:
        convert_to_tflite(tmp_path, "vanilla")
    message = str(refused.value)
    assert "tf.Sub" in message and "tf.RealDiv" in message and "\n" not in message
    assert "export.format=saved_model" in message and refused.value.exit_code == 2


def test_a_signal_inside_tensorflows_savedmodel_writer_stops_after_the_write(
    tmp_path, monkeypatch, signal_guard
):
    """The CI failure of 2026-12-04: SIGTERM landed between `try:` and the read of the logging level
    in TensorFlow's autotrackable, whose `finally` then raised UnboundLocalError instead of the
    stop. The signal is sent at exactly that point; the export's deferred block lets the write
    finish and stops after it."""
    from keras.export import ExportArchive

    from aecli.rundir.signals import Stopped

    reads, read_verbosity = [], autotrackable.logging.get_verbosity  # absl's, shared

    def verbosity_with_a_signal():
        if not reads:
            os.kill(os.getpid(), signal.SIGTERM)
        reads.append(True)
        return read_verbosity()

    monkeypatch.setattr(autotrackable.logging, "get_verbosity", verbosity_with_a_signal)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    archive = ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serve", tf.function(model, input_signature=[tf.TensorSpec((None, 3), tf.float32)])
    )
    with pytest.raises(Stopped) as stopped:
        with signal_guard.deferred():
            archive.write_out(str(tmp_path / "model"), verbose=False)
    assert reads and stopped.value.exit_code == 143
    assert (tmp_path / "model" / "saved_model.pb").exists()
