"""`key=value` options of the commands that work on a finished run (eval, sample, encode)."""

from aecli.errors import UserError


def parse_options(args: list[str], defaults: dict, command: str) -> tuple[str, dict]:
    """RUN_DIR followed by `key=value` overrides of `defaults`, each converted to its default's type."""
    positional = [a for a in args if "=" not in a]
    if len(positional) != 1:
        raise UserError(f"usage: aecli {command} RUN_DIR [{' '.join(f'{k}={v}' for k, v in defaults.items())}]: "
                        "give exactly one run folder, e.g. one under outputs/train/.")
    options = dict(defaults)
    for item in (a for a in args if "=" in a):
        key, value = item.split("=", 1)
        if key not in defaults:
            raise UserError(f"aecli {command} has no option `{key}`; the options are {', '.join(defaults)}.")
        kind = int if key.endswith(("limit", ".k", ".n", "count")) else type(defaults[key])
        try:
            options[key] = None if value in ("null", "None") else kind(value)
        except ValueError:
            raise UserError(f"`{item}`: {key} must be a {kind.__name__}.") from None
    return positional[0], options
