"""``qa score`` — score one transcript against a scorecard and show the verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qa_pipeline.cli import options as o
from qa_pipeline.cli.app import new_app

if TYPE_CHECKING:
    from qa_pipeline.scoring import CallScore

VERDICT_STYLE = {"pass": "green", "fail": "bold red", "na": "dim"}


@o.derive_flags
def score(
    transcript: Annotated[Path, typer.Argument(help="Transcript JSON written by `qa transcribe`.")],
    scorecard: Annotated[Path, typer.Option("--scorecard", "-s", help="Scorecard YAML file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full score record as JSON.")] = False,
    config_file: o.ConfigOpt = None,
    scoring: o.Flags = o.SCORING_FLAGS,
) -> None:
    """Score a transcript: a verdict per criterion (pass, fail or na), points and evidence.

    The table shows who said what and when for each verdict; --json prints the complete
    record, including the call characteristics and the scorecard's content hash.
    [scoring] of qa.toml applies; flags override it.
    """
    from qa_pipeline.scorecard import load_scorecard
    from qa_pipeline.scoring import score_transcript
    from qa_pipeline.transcript import Transcript

    options = o.scoring_options(scoring, o.load(config_file))
    card = load_scorecard(scorecard)
    call = Transcript.load(transcript)
    result = score_transcript(call, card, options)
    if as_json:
        typer.echo(result.to_json())
        return
    print_score(result)


def print_score(result: "CallScore", console: "object | None" = None) -> None:
    """Print a score as a verdict table followed by the evidence."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    out = console if console is not None else Console(highlight=False)
    if result.total is None:
        total = "n/a (no criterion applied)"
    elif result.auto_failed:
        total = f"0 — auto-fail: critical criterion {', '.join(result.auto_failed_by)} failed"
    else:
        total = f"{result.total:g} / 100 ({result.points:g} of {result.max_points:g} points)"
    out.print(
        Text(
            f"Call {result.call_id}  ·  scorecard {result.scorecard_name} ({result.scorecard_hash[:12]})  ·  "
            f"language {result.language}"
        )
    )
    out.print(Text(f"Score: {total}", style="bold"))
    if result.roles_inferred:
        out.print(
            Text(
                "Roles were inferred from a mono recording: check speaker labels on flagged verdicts (*).",
                style="yellow",
            )
        )
    if result.roles_review:
        out.print(Text("Who is the agent is uncertain: the call is flagged for review (roles_review).", style="yellow"))
    ch = result.characteristics
    share = "n/a" if ch.agent_talk_share is None else f"{ch.agent_talk_share:.0%}"
    out.print(
        Text(
            f"Duration {ch.duration_seconds:.0f}s · agent talk {share} · holds {len(ch.holds)} · "
            f"non-talk {ch.non_talk_time_seconds:.0f}s · interruptions {len(ch.interruptions)}",
            style="dim",
        )
    )
    table = Table(show_lines=False)
    table.add_column("Criterion", no_wrap=True)
    table.add_column("Verdict", no_wrap=True)
    table.add_column("Points", justify="right", no_wrap=True)
    table.add_column("Why")
    for r in result.results:
        name = Text(f"{r.id}{' (critical)' if r.critical else ''}{' *' if r.roles_inferred or r.roles_review else ''}")
        points = "—" if r.verdict.value == "na" else f"{r.points:g}/{r.max_points:g}"
        table.add_row(
            name, Text(r.verdict.value.upper(), style=VERDICT_STYLE[r.verdict.value]), points, Text(r.reason)
        )
    out.print(table)
    out.print(Text("Evidence", style="bold"))
    for r in result.results:
        if not r.evidence:
            continue
        out.print(Text(f"{r.id}:"))
        for e in r.evidence:
            when = (
                ""
                if e.start is None
                else f"[{e.start:.1f}–{e.end:.1f}s] "
                if e.end is not None
                else f"[{e.start:.1f}s] "
            )
            who = f"{e.speaker.value}: " if e.speaker is not None and e.text else ""
            quote = f"“{e.text}” — " if e.text else ""
            out.print(Text(f"  {e.kind:<7} {when}{who}{quote}{e.rule}"))


# A group holding just ``score``, for embedding or testing on its own; the main ``qa`` app
# registers the ``score`` function directly as a top-level command.
app = new_app("Score a transcript against a scorecard.")


@app.callback()
def _group() -> None:
    """Score a transcript against a scorecard."""


app.command("score")(score)
