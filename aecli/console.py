"""One rich console for the whole program, and the one-paragraph form of a user error."""

import sys

from rich.console import Console

# Rich falls back to 80 columns when output is not a terminal (CI, pipes, log files),
# which folds the run tables; logs have room for wider lines.
_PIPED_WIDTH = 140

console = Console(highlight=False, width=None if sys.stdout.isatty() else _PIPED_WIDTH)
error_console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else _PIPED_WIDTH)


def report_error(error: Exception) -> None:
    """Print a user error as a single red paragraph, without a traceback."""
    error_console.print(f"[bold red]error:[/] {error}", soft_wrap=True)
