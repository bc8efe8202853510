"""The export's in-graph preprocessing against aecli's own, and the TFLite refusal."""

import numpy as np
import pytest
import tensorflow as tf

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
