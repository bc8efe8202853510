"""The one form of a range check: a ConfigError that names the key, the value and what is
allowed."""

import math
from typing import Any

from aecli.errors import ConfigError


def require(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(
            f"`{key}={value}` is out of range: {key} must be {allowed}. "
            f"Fix it on the command line (e.g. `{key}=<value>`) or in your config file."
        )


def finite(value: float) -> bool:
    """inf and nan pass every `>` or `<` comparison they should fail, so ranges check this first."""
    return math.isfinite(value)


# NumPy's legacy seeding, which keras.utils.set_random_seed calls, takes 0 <= seed < 2**32
MAX_SEED = 2**32 - 1


def require_seed(key: str, value: int) -> None:
    require(0 <= value <= MAX_SEED, key, value, f"an integer in [0, {MAX_SEED}] (2^32 - 1)")
