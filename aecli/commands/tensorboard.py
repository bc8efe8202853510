"""`aecli tensorboard [DIR] [--host H] [--port P]`: the real TensorBoard server on the runs
folder."""

import argparse
import time
from pathlib import Path

from aecli.console import console
from aecli.errors import UserError


def main(args) -> int:
    parser = argparse.ArgumentParser(
        prog="aecli tensorboard",
        description="Serve TensorBoard over a folder of runs until Ctrl-C.",
    )
    parser.add_argument(
        "logdir",
        nargs="?",
        type=Path,
        default=Path("outputs"),
        help="folder of runs (default outputs/)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 exposes it)",
    )
    parser.add_argument("--port", type=int, default=6006, help="port (default 6006)")
    options = parser.parse_args(args)
    if not options.logdir.is_dir():
        raise UserError(
            f"{options.logdir} is not a folder; pass the folder holding your runs, e.g. "
            "`aecli tensorboard outputs`."
        )
    from tensorboard import program

    server = program.TensorBoard()
    server.configure(
        argv=[
            None,
            "--logdir",
            str(options.logdir),
            "--host",
            options.host,
            "--port",
            str(options.port),
            "--reload_interval",
            "5",
        ]
    )
    try:
        url = server.launch()
    except program.TensorBoardServerException as error:
        raise UserError(
            f"TensorBoard could not start on {options.host}:{options.port} ({error}). "
            "Choose another port with `--port`."
        ) from None
    console.print(f"TensorBoard on {options.logdir}: {url} (Ctrl-C to stop)", soft_wrap=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
