"""``qa scorecard`` — check scorecard files before they are used to score calls."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List

import typer

from qa_pipeline.cli.app import new_app
from qa_pipeline.errors import ScorecardError

app = new_app("Validate QA scorecards.")


@app.callback()
def _group() -> None:
    """Validate QA scorecards."""


@app.command("validate")
def validate(
    files: Annotated[List[Path], typer.Argument(help="Scorecard YAML files to check.")],
) -> None:
    """Check scorecards: types, required and unknown fields, units, ids, weights, phrases.

    Every file is checked; problems are listed as FILE:LINE: criterion 'ID': field 'NAME':
    what is wrong, and the command exits 1 if any file has one.
    """
    from qa_pipeline.scorecard import load_scorecard

    problems: list[str] = []
    for path in files:
        try:
            card = load_scorecard(path)
        except ScorecardError as exc:
            problems.append(str(exc))
            continue
        typer.echo(
            f"OK {path}: {card.name!r}, {len(card.criteria)} criteria, "
            f"languages {', '.join(card.languages)}, hash {card.short_hash}"
        )
    if problems:
        raise ScorecardError("\n".join(problems))
