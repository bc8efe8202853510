"""`aecli resume RUN_DIR [trainer.epochs=N]`: continue a stopped or crashed run from its last
checkpoint, or extend a finished one to N epochs."""

import argparse
import json
import logging
from pathlib import Path

from aecli.config.validate import load_run_config
from aecli.console import console
from aecli.errors import UserError
from aecli.rundir.atomic import write_text
from aecli.rundir.claim import lock
from aecli.rundir.layout import RunFolder
from aecli.rundir.outputs import report_run
from aecli.rundir.status import read_status, write_status
from aecli.training.checkpoint_files import epochs_trained


def main(args) -> int:
    parser = argparse.ArgumentParser(
        prog="aecli resume",
        description="Continue a run from its last checkpoint, with the config it saved: "
        "weights, optimizer "
        "state, epoch counter and sampling seed state; TensorBoard goes on in the same folder.",
    )
    parser.add_argument(
        "run_dir", type=Path, help="the run's folder, e.g. outputs/train/2026-01-01_12-00-00_ab12cd"
    )
    parser.add_argument(
        "epochs",
        nargs="?",
        metavar="trainer.epochs=N",
        help="extend the run to N epochs in all (a finished run too); it goes on from its last "
        "checkpoint with the same config, and its config.yaml records the new count",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="take over the run's lock when it names a process on another host (a node sharing "
        "the disk), which cannot be checked from here: check on that host first that it has ended",
    )
    options = parser.parse_args(args)
    folder = RunFolder(options.run_dir.resolve())
    settings = load_run_config(folder.path)
    # before reading the status: a second `aecli resume` beside this one is refused
    lock(folder, force=options.force, takeover=f"`aecli resume {folder.path} --force`")
    status = read_status(folder) or {}
    if options.epochs is not None:
        _extend(folder, settings, options.epochs, status)
    elif folder.metrics.exists() and all(path.exists() for path in folder.networks):
        if status.get("status") == "completed":
            raise UserError(
                f"{folder.path} already completed its {settings.trainer.epochs} "
                "epochs; there is nothing to resume. Extend it with `aecli resume "
                f"{folder.path} trainer.epochs=N` (N > {settings.trainer.epochs}), or "
                "start a new run with `aecli train`."
            )
        # killed between writing its results and recording `completed`
        try:
            epochs = json.loads(folder.metrics.read_text()).get("epochs_completed")
        except (OSError, ValueError, AttributeError):
            epochs = None
        write_status(folder, "completed", epochs_completed=epochs)
        console.print(
            f"{folder.path} had finished (metrics.json and the networks are saved) but "
            "was stopped before recording it; its status is now `completed`."
        )
        return 0
    _log_like_train(folder)
    from aecli.train import train  # TensorFlow loads here

    train(settings, folder, resume=True)
    report_run(folder, settings.paths.log_dir)
    return 0


def _log_like_train(folder: RunFolder) -> None:
    """Logs as `aecli train` has them under Hydra: the terminal at the level `-q` / `-v` chose
    (INFO only with -v), and every INFO record appended to the run's own log file, where the
    first part of the run wrote its lines."""
    from aecli.console import terminal_log_level
    from aecli.rundir.runlog import RunLogFile

    terminal = logging.StreamHandler()
    terminal.setLevel(terminal_log_level())
    terminal.setFormatter(logging.Formatter("%(message)s"))
    handlers: list[logging.Handler] = [terminal]
    log_files = sorted(folder.path.glob("*.log"))
    if log_files:
        run_log = RunLogFile(log_files[0], mode="a")
        run_log.setFormatter(
            logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
        )
        handlers.append(run_log)
    logging.basicConfig(level=logging.INFO, handlers=handlers)


def _extend(folder: RunFolder, settings, option: str, status: dict) -> None:
    """Raise the run's epoch count to N: checked against what it completed, then recorded in its
    config.yaml (the config the run is resumed, reloaded and summarised with)."""
    from omegaconf import OmegaConf

    key, _, value = option.partition("=")
    if key != "trainer.epochs" or not value.isdigit():
        raise UserError(
            f"`{option}`: aecli resume takes only `trainer.epochs=N` (a whole number), to extend "
            "the run; every other key keeps the value the run was started with."
        )
    epochs = int(value)
    done, source = _epochs_done(folder, status)
    if epochs <= done:
        raise UserError(
            f"trainer.epochs={epochs} does not extend {folder.path}: it has completed {done} "
            f"epochs already (according to {source}), and an extension never trains fewer. "
            f"Give a larger number, e.g. `trainer.epochs={done + 10}`; nothing was changed."
        )
    settings.trainer.epochs = epochs
    write_text(folder.config, OmegaConf.to_yaml(OmegaConf.structured(settings)))
    console.print(f"extending {folder.path} to {epochs} epochs (it has completed {done})")


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _epochs_done(folder: RunFolder, status: dict) -> tuple[int, str]:
    """The most epochs any record of the run says it trained, and which record: its checkpoints
    first (the state an extension goes on from), then metrics.json and status.json, which
    alone may be edited or torn (or ahead of the checkpoints under trainer.checkpoint_every)."""
    try:
        metrics = json.loads(folder.metrics.read_text()) if folder.metrics.exists() else {}
    except (OSError, ValueError):
        metrics = {}
    counts = [
        (epochs_trained(folder.checkpoints), "its checkpoints"),
        (
            _count(metrics.get("epochs_completed")) if isinstance(metrics, dict) else None,
            "its metrics.json",
        ),
        (_count(status.get("epochs_completed")), "its status.json"),
    ]
    counts = [(count, source) for count, source in counts if count is not None]
    return max(counts, key=lambda pair: pair[0]) if counts else (0, "no record of an epoch")
