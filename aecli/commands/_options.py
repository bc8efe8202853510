"""`key=value` options of the commands that work on a finished run (eval, sample, encode,
predict, export)."""

from pathlib import Path

from aecli.errors import UserError


def print_help(command: str, description: str, defaults: dict, help: dict) -> None:
    """`aecli COMMAND --help`: usage, what it does, each option with its default; no TensorFlow."""
    from aecli.console import console

    console.print(
        f"usage: aecli {command} RUN_DIR [key=value ...]\n\n{description}\n\n"
        "RUN_DIR: a run folder made by `aecli train` (or `aecli anomaly`), e.g. one listed "
        "by `aecli runs`.\n\noptions:",
        markup=False,
    )
    width = max(len(key) for key in defaults) + 2
    for key, default in defaults.items():
        shown = "null" if default is None else default
        console.print(
            f"  {key}=VALUE".ljust(width + 10) + f"{help[key]} (default {shown})", markup=False
        )


def parse_options(
    args: list[str], defaults: dict, command: str, description: str = "", help: dict | None = None
) -> tuple[str, dict]:
    """RUN_DIR followed by `key=value` overrides of `defaults`, each converted to its default's
    type. `-h` / `--help` prints the options (described by `help`) and exits."""
    if "-h" in args or "--help" in args:
        print_help(command, description, defaults, help or dict.fromkeys(defaults, ""))
        raise SystemExit(0)
    # A sweep's job folders are named by their swept values (`beta=4,seed=1`): an argument
    # that names an existing folder is the run, whatever characters its name holds.
    positional = [a for a in args if "=" not in a or Path(a).is_dir()]
    if len(positional) != 1:
        shown = " ".join(f"{k}={'null' if v is None else v}" for k, v in defaults.items())
        raise UserError(
            f"usage: aecli {command} RUN_DIR [{shown}]: "
            "give exactly one run folder, e.g. one under outputs/train/."
        )
    options = dict(defaults)
    for item in (a for a in args if a not in positional):
        key, value = item.split("=", 1)
        if key not in defaults:
            raise UserError(
                f"aecli {command} has no option `{key}`; the options are {', '.join(defaults)}."
            )
        options[key] = _converted(item, key, value, defaults[key])
    return positional[0], options


def _converted(item: str, key: str, value: str, default):
    """`value` as the type of the option's default: an integer for counts, sizes and limits,
    true or false for a switch (a null default included), text for other null defaults."""
    if value in ("null", "None"):
        return None
    if isinstance(default, bool) or key.endswith((".images", ".resize")):
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise UserError(f"`{item}`: {key} must be true or false.")
    counted = key.endswith(("limit", ".k", ".n", "count", "_size", "max_images"))
    if default is None and not counted:
        return value
    kind = int if counted else type(default)
    try:
        return kind(value)
    except ValueError:
        wanted = {int: "an integer", float: "a number"}.get(kind, kind.__name__)
        raise UserError(f"`{item}`: {key} must be {wanted} (or null).") from None
