"""One rich console for the whole program, and the one-paragraph form of a user error."""

from rich.console import Console

console = Console(stderr=False, highlight=False)
error_console = Console(stderr=True, highlight=False)


def report_error(error: Exception) -> None:
    """Print a user error as a single red paragraph, without a traceback."""
    error_console.print(f"[bold red]error:[/] {error}", soft_wrap=True)
