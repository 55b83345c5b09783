"""The error boundary shared by every command group."""

from __future__ import annotations

import click
import typer
from typer.core import TyperGroup

from qa_pipeline.errors import QAError


class QAGroup(TyperGroup):
    """A command group that turns library errors into ``Error: …`` and exit code 1."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except QAError as exc:
            raise click.ClickException(str(exc)) from exc


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
