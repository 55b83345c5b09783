"""``qa scorecard`` — check scorecard files before they are used to score calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from qa_pipeline.cli.app import counting_bar, new_app
from qa_pipeline.errors import ConfigError, ScorecardError

app = new_app("Validate QA scorecards and check their example lists.")


@app.callback()
def _group() -> None:
    """Validate QA scorecards and check their example lists."""


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


@app.command("examples")
def examples(
    file: Annotated[Path, typer.Argument(help="Scorecard YAML file whose example lists to check.")],
    language: Annotated[
        Optional[List[str]], typer.Option("--language", "-l", help="Check only this language (repeatable).")
    ] = None,
    criterion: Annotated[
        Optional[List[str]], typer.Option("--criterion", "-c", help="Check only this criterion id (repeatable).")
    ] = None,
    lines: Annotated[
        bool, typer.Option("--lines", help="List the examples missed and counter-examples that count.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Judge each example with the rest of its list: do the lists carry over to new wordings?

    Every example and counter-example of every criterion judged by meaning is left out in
    turn (with its near-copies) and judged by the criterion's own rule with the rest. An
    example the rest does not recognise is a wording no other example covers; a
    counter-example that counts once left out is a near miss the examples let through.
    """
    from qa_pipeline.example_check import check_examples, checked_ids
    from qa_pipeline.scorecard import load_scorecard, unknown_criterion

    card = load_scorecard(file)
    unknown = [lang for lang in language or () if lang not in card.languages]
    if unknown:
        raise ConfigError(
            f"{file}: no language {', '.join(unknown)} in this scorecard (it has {', '.join(card.languages)})"
        )
    known = checked_ids(card)
    for cid in criterion or ():
        if cid in known:
            continue
        if any(c.id == cid for c in card.criteria):
            raise ConfigError(
                f"{file}: criterion {cid!r} judges nothing by examples (checked: {', '.join(known) or 'none'})"
            )
        raise ConfigError(f"{file}: {unknown_criterion(cid, dict.fromkeys(known))}")
    with counting_bar("checking example lists") as progress:
        results = check_examples(card, language or None, criterion or None, progress=progress)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2))
        return
    if not results:
        typer.echo(f"{file}: no criterion judges by examples")
        return
    typer.echo(f"{file}: each line judged by the rest of its list (near-copies left out with it)")
    typer.echo(f"{'criterion':<20} {'field':<22} {'lang':<4} {'examples recognised':<20} counter-examples that count")
    for r in results:
        recognised = f"{r.recognised} of {r.examples}"
        passing = f"{len(r.passing_counters)} of {r.counters}" if r.counters else "(none written)"
        typer.echo(f"{r.criterion_id:<20} {r.field:<22} {r.language:<4} {recognised:<20} {passing}")
        if lines:
            for line in r.missed:
                typer.echo(f"    missed: {line}")
            for line in r.passing_counters:
                typer.echo(f"    counts: {line}")
