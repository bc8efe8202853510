"""Where the time to the first training step goes: one clock per process, marked at the end of
each start-up phase (importing aecli and Hydra, composing the config, importing TensorFlow, then
Keras and aecli's training modules, the stages of a run up to its first step), so `aecli train`
logs the split and `aecli bench` prints it.

Only `import tensorflow` is TensorFlow's own; the rest is what aecli adds before a step, the part
it can cut. The clock counts from the process's start (Linux's /proc says when; elsewhere from
this module's import), so the split adds up to the time a user waits. It imports nothing heavy.
"""

import importlib
import os
import time
from pathlib import Path
from types import ModuleType

FIRST_STEP = "first step"


def _process_age() -> float:
    """Seconds since this process started, from /proc (0 where there is none)."""
    try:
        after_name = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(after_name[19]) / os.sysconf("SC_CLK_TCK")  # field 22, starttime
        return max(0.0, float(Path("/proc/uptime").read_text().split()[0]) - started)
    except (OSError, ValueError, IndexError):
        return 0.0


class StartupClock:
    """The end of each named phase up to the first step. A phase keeps its first end, and the
    clock stops at the first step: the jobs of a sweep after the first, in the same process,
    start warm and leave the split as the first one made it."""

    def __init__(self):
        self.start = time.perf_counter() - _process_age()
        self.ends: dict[str, float] = {}

    def mark(self, phase: str, at: float | None = None) -> None:
        """`phase` ended now (or at the perf_counter time `at`)."""
        if FIRST_STEP not in self.ends:
            self.ends.setdefault(phase, time.perf_counter() if at is None else at)

    def split(self) -> dict[str, float]:
        """Seconds of each phase, in the order they ended: each from the end of the one before
        (the first from the process's start)."""
        seconds, previous = {}, self.start
        for phase, end in sorted(self.ends.items(), key=lambda item: item[1]):
            seconds[phase] = end - previous
            previous = end
        return seconds

    def total(self) -> float:
        """Seconds from the process's start to the end of the last phase marked."""
        return max(self.ends.values(), default=self.start) - self.start

    def describe(self) -> str:
        """'import aecli, Hydra 0.41 s, compose 0.12 s, ...; 8.97 s in all'."""
        phases = ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in self.split().items())
        return f"{phases}; {self.total():.2f} s in all"


clock = StartupClock()


def import_with_tensorflow(module: str) -> ModuleType:
    """`import tensorflow`, then aecli's `module` (with Keras), each marked on the clock: what a
    command that trains loads once its config is known to be good."""
    import tensorflow  # noqa: F401

    clock.mark("import tensorflow")
    loaded = importlib.import_module(module)
    clock.mark("import keras, aecli")
    return loaded
