"""`aecli compare` of two runs of one dataset, written as `aecli train` leaves them: the config
that differs, the metrics with their difference, and the validation losses read back from
TensorBoard's events into one PNG."""

import pytest
from run_records import log_validation_losses, settings, write_run

from aecli.commands import compare
from aecli.compare.history import validation_losses
from aecli.console import console
from aecli.errors import UserError

LOSSES = {"a": [5.0, 4.0, 3.5], "b": [6.0, 4.5, 4.0, 3.0]}


@pytest.fixture
def two_runs(tmp_path, compose_train):
    config = settings(compose_train, "model=vae", "dataset=synthetic", "trainer.epochs=3")
    a = write_run(
        tmp_path / "a",
        config,
        ["model=vae"],
        metrics={"test_elbo": -3.5, "val_loss": 3.5, "precision": "float32"},
    )
    b = write_run(
        tmp_path / "b",
        config,
        ["model=vae", "beta=4", "seed=1", "trainer.epochs=4"],
        metrics={"test_elbo": -3.25, "val_loss": 3.0, "precision": "float32"},
        model__beta=4.0,
        seed=1,
        trainer__epochs=4,
    )
    for run in (a, b):
        log_validation_losses(run, LOSSES[run.path.name])
    return a.path, b.path


def _compare(*args) -> str:
    previous = console.width
    console.width = 100
    try:
        with console.capture() as captured:
            assert compare.main([str(arg) for arg in args]) == 0
    finally:
        console.width = previous
    return captured.get()


def test_the_validation_loss_per_epoch_is_read_back_from_the_events(two_runs):
    assert validation_losses(two_runs[1]) == [(1, 6.0), (2, 4.5), (3, 4.0), (4, 3.0)]


def test_two_runs_show_the_config_that_differs_the_metric_differences_and_a_plot(
    two_runs, tmp_path
):
    plot = tmp_path / "losses.png"
    text = _compare(*two_runs, "--plot", plot)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "model.beta 1 4" in lines and "seed 0 1" in lines and "trainer.epochs 3 4" in lines
    assert not any(line.startswith("model.name") for line in lines)  # the same in both
    assert "test_elbo -3.5 -3.25 +0.25" in lines and "val_loss 3.5 3 -0.5" in lines
    assert not any(line.startswith("precision") for line in lines)  # the same text in both
    assert f"validation loss per epoch: {plot}" in " ".join(text.split())
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_runs_of_different_datasets_get_no_plot(two_runs, tmp_path, compose_train):
    other = settings(compose_train, "model=vae", "dataset=synthetic", "dataset.kind=circle")
    other["dataset"]["name"] = "mnist"
    run = write_run(tmp_path / "c", other, [], metrics={"test_elbo": -90.0})
    log_validation_losses(run, [100.0, 95.0])
    plot = tmp_path / "none.png"
    text = _compare(two_runs[0], run.path, "--plot", plot)
    assert "No plot: it needs two runs or more of one dataset" in " ".join(text.split())
    assert not plot.exists()


@pytest.mark.parametrize(
    "case, message",
    [
        ("one run", "needs two run folders or more"),
        ("not a run", "is not a run folder"),
        ("plot not png", "give a file name ending in .png"),
        ("plot folder missing", "does not exist or cannot be written"),
    ],
)
def test_a_refusal_prints_and_writes_nothing(two_runs, tmp_path, case, message):
    a, b = two_runs
    args = {
        "one run": [a],
        "not a run": [a, tmp_path],
        "plot not png": [a, b, "--plot", tmp_path / "x.jpg"],
        "plot folder missing": [a, b, "--plot", tmp_path / "no" / "x.png"],
    }[case]
    with console.capture() as captured, pytest.raises(UserError, match=message):
        compare.main([str(arg) for arg in args])
    assert captured.get() == ""
    assert not list(tmp_path.glob("**/*.png")) and not list(tmp_path.glob("**/*.jpg"))
