"""A YAML file whose aliases expand into more nodes than any config has ("billion laughs": 9 levels
of 10 aliases each are a billion values in a file of 600 bytes) is refused before it is loaded.

PyYAML keeps an alias as a second reference to its anchor's node, so composing the file is cheap;
OmegaConf copies every reference into nodes of its own, and that expansion is what grows without
bound. The expanded size is counted on the composed node graph, each node's size computed once,
so the count itself costs no more than the file.
"""

from pathlib import Path

import yaml

from aecli.errors import ConfigError

# every option of aecli's own config groups together is a few hundred nodes; a config of this
# many is no config a person wrote
MAX_NODES = 100_000


def expanded_nodes(text: str) -> int:
    """Nodes the YAML documents of `text` hold once every alias is expanded."""
    sizes: dict[int, int] = {}

    def size(node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = 1  # a node that refers to itself counts once
        if isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(key) + size(value) for key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(item) for item in node.value)
        else:
            total = 1
        sizes[id(node)] = total
        return total

    return sum(size(node) for node in yaml.compose_all(text, Loader=yaml.SafeLoader) if node)


def check_yaml_file(path: Path) -> None:
    """Refuse `path` when its aliases expand past MAX_NODES; a file that is not valid YAML is left
    to the loader, which says where."""
    try:
        count = expanded_nodes(Path(path).read_text(errors="replace"))
    except (OSError, yaml.YAMLError, RecursionError):
        return
    if count > MAX_NODES:
        raise ConfigError(
            f"{path} expands into {count:,} YAML values through its aliases (`*name` repeating "
            f"an `&name` anchor), more than the {MAX_NODES:,} any config needs; loading it would "
            "take all the memory. Write the values out, or use fewer nested aliases; nothing was "
            "run."
        )


def config_dirs(args: list[str]) -> list[Path]:
    """The folders given with --config-dir / -cd on a Hydra command line."""
    found = []
    for index, arg in enumerate(args):
        for flag in ("--config-dir", "-cd"):
            if arg == flag and index + 1 < len(args):
                found.append(Path(args[index + 1]))
            elif arg.startswith(flag + "="):
                found.append(Path(arg.split("=", 1)[1]))
    return found


def check_config_dirs(args: list[str]) -> None:
    """Every .yaml / .yml file under the command line's config folders, before Hydra loads any."""
    for folder in config_dirs(args):
        if not folder.expanduser().is_dir():
            continue  # Hydra says so
        for path in sorted(folder.expanduser().rglob("*")):
            if path.suffix in (".yaml", ".yml") and path.is_file():
                check_yaml_file(path)
