"""A single run's HParams session, as TensorBoard reads it."""

from tensorboard.plugins.hparams import metadata
from tensorboard_events import read_events

from aecli.sweeps.hparams import override_hparams, write_run_hparams


def test_overrides_become_hyperparameters_numbers_as_numbers():
    assert override_hparams(["model=vae", "beta=4", "+extra=1", "hydra.run.dir=/x"]) == {
        "model": "vae",
        "beta": 4.0,
        "extra": 1.0,
    }


def test_a_single_run_writes_its_overrides_and_test_metrics(tmp_path):
    run = tmp_path / "train" / "2026-05-01_12-00-00_ab12cd"
    write_run_hparams(
        run,
        ["model=vae", "beta=4"],
        {"test_kl": 2.5, "model": "vae", "epochs_completed": 3},
        "completed",
    )
    session = read_events(run / "tensorboard" / "hparams")
    start = metadata.parse_session_start_info_plugin_data(
        session.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
    )
    assert (
        dict(start.hparams)["beta"].number_value == 4.0
        and dict(start.hparams)["model"].string_value == "vae"
    )
    assert start.group_name == "train/2026-05-01_12-00-00_ab12cd"
    assert (
        "test/kl" in session.Tags()["tensors"]
        and "test/epochs_completed" not in session.Tags()["tensors"]
    )
