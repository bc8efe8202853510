"""Bad input on the command line: one clear message, a non-zero exit, no traceback, before TensorFlow."""

import subprocess
import sys


import pytest

CASES = [
    (["model=foo"], "vanilla"),
    (["beta=abc"], "beta"),
    (["model.foo=1"], "model.foo"),
    (["beta=-1"], "beta"),
    (["model.latent_dim=0"], "model.latent_dim"),
    (["trainer.learning_rate=0"], "trainer.learning_rate"),
    (["trainer.batch_size=0"], "trainer.batch_size"),
    (["trainer.epochs=0"], "trainer.epochs"),
    (["model.architecture=rnn"], "mlp, conv"),
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

    result = subprocess.run([sys.executable, "-c", "import sys; from aecli.cli import main; main(['--help']); "
                             "print('tensorflow' in sys.modules)"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "train" in result.stdout and result.stdout.strip().endswith("False")


def test_train_help_lists_config_groups(aecli):
    result = aecli("train", "--help")
    assert result.returncode == 0
    for group in ["model: beta_vae, conv_denoising, sparse, vae, vanilla", "dataset:", "hardware: cpu, gpu, mixed"]:
        assert group in result.stdout
