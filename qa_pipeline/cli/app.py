"""The error boundary shared by every command group."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import typer
from typer.core import TyperGroup

from qa_pipeline.errors import QAError
from qa_pipeline.log import get_logger


class QAGroup(TyperGroup):
    """A command group that turns library errors into ``Error: …`` on stderr and their exit code.

    The exit code is the error class's ``exit_code``: 1 by default, 2 for configuration
    problems and a locked store.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except QAError as exc:
            get_logger("cli").debug("command failed", exc_info=True)
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(getattr(exc, "exit_code", 1)) from None


def new_app(help: str) -> typer.Typer:
    """A Typer app with the shared error boundary and plain (non-panel) error output."""
    return typer.Typer(
        cls=QAGroup,
        help=help,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )


def table_console() -> Any:
    """A rich console for the tables commands print: as wide as the terminal, or 200 columns
    when piped into a file or a mail, so long reasons run on rather than fold mid-word."""
    from rich.console import Console

    return Console(highlight=False, width=None if Console().is_terminal else 200)


@contextmanager
def counting_bar(description: str, total: int | None = None) -> Iterator[Callable[[int, int], None]]:
    """A transient progress bar on stderr (drawn only on a terminal), yielding the
    ``(done, total)`` hook the library's long steps call."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done, of: bar.update(task, completed=done, total=of)
