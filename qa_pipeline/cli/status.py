"""``qa status`` — the latest batch runs and the calls that failed."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from qa_pipeline.cli.app import new_app, table_console
from qa_pipeline.cli.escape import visible
from qa_pipeline.cli.options import ConfigOpt, DbOpt, load

STATUS_STYLE = {"ok": "green", "failed": "bold red", "error": "bold red", "interrupted": "yellow", "running": "cyan"}


def status(
    db: DbOpt = None,
    config_file: ConfigOpt = None,
    runs: Annotated[int, typer.Option("--runs", min=1, help="How many recent runs to show.")] = 10,
    failures: Annotated[int, typer.Option("--failures", min=0, help="How many failed calls to list.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print runs and failures as JSON.")] = False,
) -> None:
    """Show the latest runs (when, how long, what they did) and the calls that failed, with why."""
    import json

    from qa_pipeline.store import Store

    with Store.open(db or load(config_file).db, create=False) as store:
        recent = store.runs(runs)
        failed = store.failures(None)
        counts = store.counts()
        coverage = store.coverage_reviews(None)
        refused = store.rejections(None)
        where = str(store)
    if as_json:
        typer.echo(json.dumps({
            "store": where,
            "calls": {"ok": counts.get("calls_ok", 0), "failed": counts.get("calls_failed", 0)},
            "runs": [r.to_dict() for r in recent],
            "failures": [f.to_dict() for f in failed[:failures]],
            "coverage_review": [{"call_id": c, "path": p, "speech_coverage": v} for c, p, v in coverage[:failures]],
            "not_stored": [f.to_dict() for f in refused[:failures]],
        }, indent=1, default=str))
        return
    _print(where, recent, failed, failures, counts)
    _print_refused(refused, failures)
    _print_coverage(coverage, failures)


def _print(where: str, recent: list[Any], failed: list[Any], limit: int, counts: dict[str, int]) -> None:
    from rich.table import Table
    from rich.text import Text

    console = table_console()
    console.print(Text(f"Store {where}: {counts.get('calls_ok', 0)} call(s) scored, {counts.get('calls_failed', 0)} failed", style="bold"), soft_wrap=True)
    table = Table(title="Runs", title_justify="left")
    for name, justify in (("run", "right"), ("started (UTC)", "left"), ("took", "right"), ("status", "left"), ("found", "right"),
                          ("skipped", "right"), ("ok", "right"), ("failed", "right"), ("audio h", "right"), ("log", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in recent:
        took = "–" if r.wall_seconds is None else f"{r.wall_seconds:.0f}s"
        table.add_row(
            str(r.id),
            r.started_at.strftime("%Y-%m-%d %H:%M"),
            took,
            Text(r.status.value, style=STATUS_STYLE.get(r.status.value, "")),
            str(r.counts.discovered),
            str(r.counts.skipped),
            str(r.counts.succeeded),
            str(r.counts.failed),
            f"{r.counts.audio_seconds / 3600:.2f}",
            Text(visible(r.log_path or "")),
        )
    console.print(table)
    for r in recent:
        if r.error:
            console.print(Text(f"run {r.id}: {visible(r.error)}", style="yellow"))
    if not failed:
        console.print(Text("No failed calls.", style="green"))
        return
    fails = Table(title=f"Failed calls ({len(failed)})", title_justify="left")
    for name in ("call", "file", "kind", "run", "reason"):
        fails.add_column(name)
    for f in failed[:limit]:
        fails.add_row(Text(visible(f.call_id)), Text(visible(f.path)), f.error_kind.value if f.error_kind else "", str(f.run_id or ""),
                      Text(visible(_reason(f))))
    console.print(fails)
    if len(failed) > limit:
        console.print(Text(f"… and {len(failed) - limit} more (--failures N to list more)"))
    console.print(Text("Fix the cause, then `qa run --retry-failed` (a fixed manifest is picked up by any run).", style="dim"))


def _reason(failure: Any) -> str:
    """A failure's error without the file name that starts it (the table has a file column)."""
    prefix = f"{failure.path}: "
    return failure.error[len(prefix) :] if failure.error.startswith(prefix) else failure.error


def _print_refused(refused: list[Any], limit: int) -> None:
    from rich.table import Table
    from rich.text import Text

    if not refused:
        return
    console = table_console()
    # Not among the failed calls above: the call id is another stored recording's, whose row
    # keeps its results, so these files have no call of their own until they get an id.
    console.print(Text(f"Recordings the last run could not store ({len(refused)})", style="bold yellow"), soft_wrap=True)
    table = Table()
    for name in ("call id", "file", "reason"):
        table.add_column(name)
    for f in refused[:limit]:
        table.add_row(Text(visible(f.call_id)), Text(visible(f.path)), Text(visible(_reason(f))))
    console.print(table)
    if len(refused) > limit:
        console.print(Text(f"… and {len(refused) - limit} more"))


def _print_coverage(flagged: list[tuple[str, str, float]], limit: int) -> None:
    from rich.table import Table
    from rich.text import Text

    if not flagged:
        return
    console = table_console()
    # A heading of its own: a table title would fold at the table's narrow width.
    console.print(Text(f"Calls to check: speech without words ({len(flagged)})", style="bold yellow"), soft_wrap=True)
    table = Table()
    for name in ("call", "file", "coverage"):
        table.add_column(name, justify="right" if name == "coverage" else "left")  # type: ignore[arg-type]
    for call_id, path, value in flagged[:limit]:
        table.add_row(Text(call_id), Text(path), f"{value:.0%}")
    console.print(table)
    if len(flagged) > limit:
        console.print(Text(f"… and {len(flagged) - limit} more"))
    console.print(Text("Part of these calls' detected speech has no recognised words: talk share and silences may be wrong.", style="dim"))


app = new_app("Show the latest batch runs and failures.")


@app.callback()
def _group() -> None:
    """Show the latest batch runs and failures."""


app.command("status")(status)
