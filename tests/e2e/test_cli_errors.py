"""Bad input on the command line: one clear message, a non-zero exit, no traceback, before
TensorFlow."""

import subprocess
import sys

import pytest

# one case of each way the command line can be wrong, each reported by its own path (Hydra's
# grammar and schema, aecli's validation after composing); every range check of every key is
# tests/unit/config/test_config.py's, in-process
CASES = [
    (["hardware=quantum"], "cpu"),  # an option the group lacks
    (["model=foo"], "vanilla"),
    (["beta=abc"], "beta"),  # a value of the wrong type
    (["model.foo=1"], "model.foo"),  # a key the schema lacks
    (["model.architecture=rnn"], "mlp, conv"),  # a choice outside the enum
    (["model.noise.type=masking", "model.noise.level=1.5"], "model.noise.level"),  # validation
    (["trainer.learning_rate=inf"], "trainer.learning_rate"),
    # a key that used to be accepted and ignored
    (["model=vanilla", "beta=4"], "model=vanilla has no KL term"),
]


@pytest.mark.parametrize("overrides, named", CASES)
def test_bad_override_is_reported_without_traceback(aecli, overrides, named):
    result = aecli("train", *overrides)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert named in output
    assert "Traceback" not in output
    assert "tensorflow" not in output.lower()


def test_batch_larger_than_training_set_is_a_clear_error(aecli):
    result = aecli("train", "dataset=synthetic", "dataset.size=100", "trainer.batch_size=512")
    assert result.returncode == 2
    assert "trainer.batch_size=512" in result.stderr and "Traceback" not in result.stderr


def test_top_level_help_lists_commands_quickly_without_tensorflow():

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from aecli.cli import main; main(['--help']); "
            "print('tensorflow' in sys.modules)",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert "train" in result.stdout and result.stdout.strip().endswith("False")


def test_train_help_lists_config_groups(aecli):
    result = aecli("train", "--help")
    assert result.returncode == 0
    for group in [
        "model: annealed_vae, beta_tcvae, beta_vae, contractive, conv_denoising, dip_vae, "
        "factor_vae, sparse, vae, vanilla",
        "dataset:",
        "hardware: cpu, gpu, mixed",
        "debug: overfit, smoke, tiny",
    ]:
        assert group in result.stdout


def test_anomaly_help_describes_anomaly(aecli):
    result = aecli("anomaly", "--help")
    assert result.returncode == 0
    assert (
        result.stdout.startswith("aecli anomaly:")
        and "experiment=one_class_fashion" in result.stdout
    )


SMALL = ["dataset.limit=256", "trainer.epochs=1", "trainer.batch_size=32", "model.hidden_units=[8]"]


def _offline(tmp_path):
    """A user with no Keras cache, no Debian dataset package and no network."""
    return {
        "HOME": str(tmp_path / "home"),
        "KERAS_HOME": str(tmp_path / "home" / ".keras"),
        "AECLI_DEBIAN_DATASETS": str(tmp_path / "no-debian"),
    }


def _truncated_fashion(folder):
    from dataset_files import write_fashion

    write_fashion(folder)
    images = folder / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[: images.stat().st_size // 2])
    return folder


def _wrong_shape_mnist(folder):
    import numpy as np
    from dataset_files import write_mnist_npz

    return write_mnist_npz(folder / "mnist.npz", x_train=np.zeros((40, 20, 20), np.uint8)).parent


DATA_CASES = {
    "missing offline": (
        lambda tmp: ["dataset=fashion_mnist", "dataset.download=false"],
        "dataset-fashion-mnist",
    ),
    "download fails offline": (lambda tmp: ["dataset=mnist"], "mnist.npz"),
    "truncated file": (
        lambda tmp: ["dataset=fashion_mnist", f"dataset.data_dir={_truncated_fashion(tmp / 'f')}"],
        "train-images-idx3-ubyte.gz",
    ),
    "wrong shape": (
        lambda tmp: ["dataset=mnist", f"dataset.data_dir={_wrong_shape_mnist(tmp / 'm')}"],
        "(20, 20, 1)",
    ),
    "data_dir not a folder": (
        lambda tmp: ["dataset=mnist", "dataset.data_dir=/etc/hostname"],
        "dataset.data_dir",
    ),
    "outputs not writable": (
        lambda tmp: ["dataset=synthetic", "paths.log_dir=/etc/hostname/outputs"],
        "paths.log_dir",
    ),
}


@pytest.mark.parametrize("case", DATA_CASES)
def test_bad_data_or_folders_are_reported_without_traceback(aecli, tmp_path, case):
    overrides, named = DATA_CASES[case]
    # the proxy on a closed loopback port makes a download attempt fail at once, as offline
    result = aecli(
        "train",
        *overrides(tmp_path),
        *SMALL,
        env={**_offline(tmp_path), "https_proxy": "http://127.0.0.1:9"},
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert named in result.stderr and "Traceback" not in result.stderr


def test_resume_of_a_folder_that_is_not_a_run_is_refused(aecli, tmp_path):
    result = aecli("resume", str(tmp_path))
    assert (
        result.returncode == 2
        and "not an aecli run" in result.stderr
        and "Traceback" not in result.stderr
    )
