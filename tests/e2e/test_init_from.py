"""`trainer.init_from=RUN_DIR`: a run that starts from another run's trained networks."""

import aecli_process
import keras
import numpy as np
import pytest
import yaml

TINY = ["debug=tiny", "model=vanilla"]


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """A finished tiny run whose networks the tests start from (read only)."""
    root = tmp_path_factory.mktemp("init_from")
    result = aecli_process.run("train", *TINY, f"hydra.run.dir={root / 'first'}", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "first"


def _weights(run, name):
    return keras.saving.load_model(run / f"{name}.keras", safe_mode=True).get_weights()


def test_a_run_starts_from_the_networks_of_another_and_records_where_from(aecli, tmp_path, first):
    second = tmp_path / "second"
    # a rate too small to move the weights: what the second run ends with is what it started from
    result = aecli(
        "train",
        *TINY,
        f"trainer.init_from={first}",
        "trainer.learning_rate=1e-12",
        "seed=7",
        f"hydra.run.dir={second}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("encoder", "decoder"):
        for before, after in zip(_weights(first, name), _weights(second, name), strict=True):
            np.testing.assert_allclose(after, before, atol=1e-6)
    config = yaml.safe_load((second / ".hydra" / "config.yaml").read_text())
    assert config["trainer"]["init_from"] == str(first)


def test_init_from_a_folder_without_networks_or_of_another_shape_is_refused(aecli, tmp_path, first):
    missing = aecli("train", *TINY, f"trainer.init_from={tmp_path / 'nowhere'}")
    assert missing.returncode == 2 and "holds no encoder.keras or decoder.keras" in missing.stderr
    other = aecli("train", *TINY, "model.latent_dim=3", f"trainer.init_from={first}")
    assert other.returncode == 2 and "this run's encoder needs" in other.stderr
    assert "Traceback" not in missing.stderr + other.stderr
