"""One rich console for the whole program, the one-paragraph form of a user error, how much the
terminal is told (`-q`, `-v`), and the filter that keeps TensorFlow's native start-up lines out.

TensorFlow's C++ side logs through absl, which writes to file descriptor 2 directly: before its
logging is initialised (`WARNING: All log messages before absl::InitializeLog() ...`, oneDNN,
cudart_stub) it ignores TF_CPP_MIN_LOG_LEVEL, so no environment variable silences those lines.
Only a filter on descriptor 2 can drop them; it drops the known start-up lines by their text and
lets everything else (Python warnings, real C++ errors) through as it comes.
"""

import atexit
import logging
import os
import re
import sys
import threading

from rich import box
from rich.console import Console
from rich.markup import escape

# Rich falls back to 80 columns when output is not a terminal (CI, pipes, log files),
# which folds the run tables; logs have room for wider lines. COLUMNS, when set, decides.
_PIPED_WIDTH = 140


# Tables of many numeric columns (runs, sweeps) in 100 terminal columns: rules under the header
# only, one space between columns.
COMPACT_TABLE = dict(box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False)


def _width(stream) -> int | None:
    return None if stream.isatty() or "COLUMNS" in os.environ else _PIPED_WIDTH


# -q: errors and the final metrics; default: warnings, progress; -v: INFO logs, native lines too.
# An environment variable, so sweep jobs that launchers run in other processes see it too.
VERBOSITY_VARIABLE = "AECLI_VERBOSITY"
QUIET, NORMAL, VERBOSE = 0, 1, 2

console = Console(highlight=False, width=_width(sys.stdout))
# decided now: once the native filter runs, descriptor 2 is a pipe and rich would lose colour
error_console = Console(
    stderr=True,
    highlight=False,
    force_terminal=sys.stderr.isatty() or None,
    width=_width(sys.stderr),
)


def verbosity() -> int:
    try:
        return int(os.environ.get(VERBOSITY_VARIABLE, NORMAL))
    except ValueError:
        return NORMAL


def set_verbosity(level: int) -> None:
    os.environ[VERBOSITY_VARIABLE] = str(level)
    # WARNING hides TensorFlow's native INFO lines (XLA service, StreamExecutor); -v shows all
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if level >= VERBOSE else "2")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


def terminal_log_level() -> int:
    """The level of Python logs on the terminal for `-q` / `-v`: errors only, INFO and up, else
    warnings (a run's log file keeps INFO whatever the terminal shows)."""
    return {QUIET: logging.ERROR, VERBOSE: logging.INFO}.get(verbosity(), logging.WARNING)


def say(message: str) -> None:
    """A decision the user should see without -v (e.g. the precision `hardware=mixed` picked);
    silent under -q."""
    if verbosity() >= NORMAL:
        console.print(escape(message), style="dim", soft_wrap=True)


# C0 and C1 control characters but tab and newline: text read from a record or a file name (an
# error quoting a file's bytes, a hand-edited config) must not move the cursor, recolour or retitle
# the user's terminal. A sequence's printable tail stays, as visible evidence.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` without control characters (ESC, BEL, CR, ...); tabs and newlines kept."""
    return _CONTROL.sub("", text)


def report_error(error: Exception) -> None:
    """Print a user error as a single red paragraph, without a traceback; the message is text,
    not markup (`pip install 'aecli[gpu]'` keeps its brackets), and control characters are
    dropped."""
    error_console.print(f"[bold red]error:[/] {escape(printable(str(error)))}", soft_wrap=True)


# Lines TensorFlow, XLA and CUDA stubs print at start-up on every machine, matched by their text.
_NATIVE_NOISE = re.compile(
    rb"All log messages before absl::InitializeLog\(\) is called"
    rb"|oneDNN custom operations are on"
    rb"|cudart_stub\.cc|Could not find cuda drivers on your machine"
    rb"|failed call to cuInit|cuda_platform\.cc|cuda_executor\.cc|cuda_diagnostics\.cc"
    rb"|Unable to register cu(DNN|FFT|BLAS) factory|computation_placer\.cc"
    rb"|This TensorFlow binary is optimized to use available CPU instructions"
    rb"|To enable the following instructions: .*rebuild TensorFlow"
    rb"|TF-TRT Warning: Could not find TensorRT"
    rb"|cpu_feature_guard\.cc"
    rb"|XLA service 0x[0-9a-f]+ initialized|StreamExecutor (device \(\d+\)|\[\d+\])"
    rb"|Compiled cluster using XLA!|disabling MLIR crash reproducer"
)


class _NativeLogFilter:
    """Descriptor 2 becomes a pipe; a thread copies its lines to the real stderr, minus noise."""

    def __init__(self):
        self.original = None
        self.thread = None

    def start(self) -> None:
        if self.original is not None:
            return
        sys.stderr.flush()
        self.original = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self.thread = threading.Thread(target=self._pump, args=(read_end,), daemon=True)
        self.thread.start()
        atexit.register(self.stop)

    def _pump(self, read_end: int) -> None:
        with os.fdopen(read_end, "rb", buffering=0) as stream:
            for line in iter(stream.readline, b""):
                if not _NATIVE_NOISE.search(line):
                    os.write(self.original, line)

    def stop(self) -> None:
        """Put the real stderr back; the pipe closes, and the thread writes what was left."""
        if self.original is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self.original, 2)
        self.thread.join(timeout=5)
        os.close(self.original)
        self.original = None


native_filter = _NativeLogFilter()
