"""Writes that a crash cannot leave half done: write a temporary file beside the target, then rename."""

import json
import os
from pathlib import Path


def write_json(path: Path, data) -> None:
    """`path` holds either the old content or the new, never a torn mix (rename is atomic on POSIX)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(temporary, path)
