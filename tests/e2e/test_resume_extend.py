"""`aecli resume RUN trainer.epochs=N`: a finished run trained further, as one run."""

import json
import shutil

import aecli_process
import pytest
from aecli_process import refusal
from tensorboard_events import scalar_series

SMALL = ["debug=tiny", "trainer.epochs=2"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A completed 2-epoch run for the refusals: copied by a test that edits it, else read only."""
    root = tmp_path_factory.mktemp("finished")
    result = aecli_process.run("train", *SMALL, f"hydra.run.dir={root / 'run'}", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "run"


def test_a_finished_run_is_extended_without_training_an_epoch_twice(aecli, tmp_path):
    run = tmp_path / "run"
    first = aecli("train", *SMALL, f"hydra.run.dir={run}")
    assert first.returncode == 0, first.stderr[-3000:]
    steps_per_epoch = json.loads((run / "metrics.json").read_text())["optimizer_steps"] // 2

    refused = aecli("resume", str(run), "trainer.epochs=2")
    assert refused.returncode == 2 and "completed 2 epochs already" in refused.stderr

    log = next(run.glob("*.log"))
    logged = log.read_text()
    extended = aecli("resume", str(run), "trainer.epochs=4")
    assert extended.returncode == 0, extended.stderr[-3000:]
    # it prints as train does: which checkpoint it goes on from, the epoch lines, no INFO logs,
    # which go on in the run's own log file
    lines = extended.stdout.splitlines()
    assert "resuming after epoch 2 from checkpoint `last`" in lines
    assert [line.split()[1] for line in lines if line.startswith("epoch ")] == ["3/4", "4/4"]
    assert "INFO" not in extended.stdout + extended.stderr
    assert log.read_text().startswith(logged) and "][INFO] - " in log.read_text()[len(logged) :]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 4
    assert metrics["optimizer_steps"] == 4 * steps_per_epoch
    assert json.loads((run / "status.json").read_text())["status"] == "completed"
    assert "epochs: 4" in (run / ".hydra" / "config.yaml").read_text()
    steps = [step for step, _ in scalar_series(run / "tensorboard" / "train", "epoch_loss")]
    assert steps == [0, 1, 2, 3]
    # Keras logs each validation pass against the optimizer's step count: the first two are kept
    validation = run / "tensorboard" / "validation"
    steps = [step for step, _ in scalar_series(validation, "evaluation_loss_vs_iterations")]
    assert steps == [steps_per_epoch * epochs for epochs in (1, 2, 3, 4)]


def test_an_extension_to_fewer_epochs_than_the_checkpoints_hold_is_refused_writing_nothing(
    aecli, tmp_path, finished
):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    status = json.loads((run / "status.json").read_text())
    records = [run / "status.json", run / "metrics.json", run / ".hydra" / "config.yaml"]
    told_by_checkpoints = "completed 2 epochs already (according to its checkpoints)"
    # status.json alone says nothing, or too little: the `last` checkpoint says 2 epochs. The
    # first case through the CLI (one paragraph, exit 2, its lock gone with its process), the
    # rest in this process, which holds the lock it takes until the test ends
    for told in (None, 0, "7", True):
        (run / "status.json").write_text(json.dumps({**status, "epochs_completed": told}))
        (run / "metrics.json").write_text("{}")
        before = [path.read_bytes() for path in records]
        for asked in (1, 2):
            if told is None and asked == 1:
                refused = aecli("resume", run, f"trainer.epochs={asked}")
                assert refused.returncode == 2, (told, asked, refused.stderr[-3000:])
                assert told_by_checkpoints in refused.stderr
                assert "Traceback" not in refused.stderr
                assert not (run / "run.lock").exists()
            else:
                refused = refusal("resume", run, f"trainer.epochs={asked}")
                assert told_by_checkpoints in str(refused), (told, asked)
            assert [path.read_bytes() for path in records] == before, (told, asked)


def test_resume_takes_no_other_key(aecli, finished):
    before = sorted(path.name for path in finished.rglob("*"))
    result = aecli("resume", finished, "trainer.learning_rate=1")
    assert result.returncode == 2 and "only `trainer.epochs=N`" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in finished.rglob("*")) == before
