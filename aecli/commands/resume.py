"""`aecli resume RUN_DIR`: continue a stopped or crashed run from its last checkpoint."""

import argparse
import json
import logging
from pathlib import Path

from aecli.config.validate import load_run_config
from aecli.console import console
from aecli.errors import UserError
from aecli.rundir.claim import lock
from aecli.rundir.layout import RunFolder
from aecli.rundir.status import read_status, write_status


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
    folder = RunFolder(parser.parse_args(args).run_dir.resolve())
    settings = load_run_config(folder.path)
    lock(folder)  # before reading the status: a second `aecli resume` beside this one is refused
    status = read_status(folder) or {}
    if folder.metrics.exists() and all(path.exists() for path in folder.networks):
        if status.get("status") == "completed":
            raise UserError(
                f"{folder.path} already completed its {settings.trainer.epochs} "
                "epochs; there is nothing to resume. Start a new run with `aecli "
                "train` (e.g. with more trainer.epochs)."
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
    logging.basicConfig(
        level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"
    )
    from aecli.train import train  # TensorFlow loads here

    train(settings, folder, resume=True)
    return 0
