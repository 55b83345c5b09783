"""``qa run`` — the nightly batch: new recordings transcribed, scored, stored; reports refreshed.

Exit codes: 0 when every call processed in the run succeeded, 1 when some failed (they are
listed), 2 for usage or configuration errors and when another run holds the store.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperCommand

from qa_pipeline.cli import options as o
from qa_pipeline.cli.app import new_app
from qa_pipeline.cli.escape import visible
from qa_pipeline.errors import ConfigError
from qa_pipeline.options import EXECUTION, INPUT, PERSONAL, SCORING, TRANSCRIPTION
from qa_pipeline.optionspec import user_specs
from qa_pipeline.runoptions import REPORTS, RunOptions

# ``qa run --help`` groups its many options by purpose.
# The stage options declare their own section (qa_pipeline.options); --db says "Store".
STORE = "Store"


PANELS = (INPUT, TRANSCRIPTION, SCORING, STORE, REPORTS, PERSONAL, EXECUTION)
# The argument of qa run, declared on RunOptions with its qa.toml key.
RECORDINGS = next(s for s in user_specs(RunOptions) if s.key == "recordings")


class PanelCommand(TyperCommand):
    """A command whose plain-text help lists its options in sections by purpose
    (the ``rich_help_panel`` of each option), in the order of :data:`PANELS`."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        args: list[tuple[str, str]] = []
        groups: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                args.append(record)
            else:
                panel = getattr(param, "rich_help_panel", None) or "Other options"
                groups.setdefault(panel, []).append(record)
        if args:
            with formatter.section("Arguments"):
                formatter.write_dl(args)
        for panel in (*PANELS, *sorted(set(groups) - set(PANELS))):
            if panel in groups:
                with formatter.section(panel):
                    formatter.write_dl(groups[panel])


@o.derive_flags
def run(
    recordings: Annotated[Optional[Path], typer.Argument(help=RECORDINGS.help, rich_help_panel=RECORDINGS.panel)] = None,
    db: o.DbOpt = None,
    config_file: o.ConfigOpt = None,
    settings: o.Flags = o.RUN_FLAGS,
    scoring: o.Flags = o.SCORING_FLAGS,
    rescore: Annotated[bool, typer.Option("--rescore", help="Only re-score stored transcripts that lack a score for this scorecard; no transcription.", rich_help_panel=SCORING)] = False,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Process calls that failed in earlier runs again.", rich_help_panel=INPUT)] = False,
    since: Annotated[Optional[datetime], typer.Option("--since", formats=["%Y-%m-%d"], help="Only calls that started on or after this day (YYYY-MM-DD).", rich_help_panel=INPUT)] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=0, help="Process at most N calls; the rest wait for the next run.", rich_help_panel=INPUT)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be done; write nothing.", rich_help_panel=EXECUTION)] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not refresh the reports after the run.", rich_help_panel=REPORTS)] = False,
    pdf: Annotated[Optional[bool], typer.Option("--pdf/--no-pdf", help="Also write the team PDF when refreshing reports (default: report.pdf in qa.toml, else no).", rich_help_panel=REPORTS)] = None,
    manifest: Annotated[Optional[str], typer.Option("--manifest", help="Manifest CSV file name looked for in the recordings' folders (default calls.csv; '' for none).", rich_help_panel=INPUT)] = None,
    pattern: Annotated[Optional[str], typer.Option("--pattern", help="File-name pattern, e.g. '{agent_id}_{started_at:%Y%m%d-%H%M%S}_{call_id}.wav'.", rich_help_panel=INPUT)] = None,
    asr: o.Flags = o.ENGINE_FLAGS,
    personal: o.Flags = o.REDACTION_FLAGS,
) -> None:
    """Transcribe, score and store every new recording in a folder, then refresh the reports.

    Calls already in the store (same audio, engine, model and scorecard) are skipped, so the
    command can run every night over the same folder. Each call is saved in its own
    transaction: after a crash, run it again. A bad recording fails alone and is listed.
    Defaults come from ./qa.toml when present; flags override it.
    """
    from dataclasses import replace

    from qa_pipeline.batch import BatchOptions, auto_workers, run_batch
    from qa_pipeline.config import bundled_scorecard
    from qa_pipeline.report.refresh import refresh_reports

    config = o.load(config_file)
    audio_opts, asr_opts, cache = o.stage_options(asr, config)
    # The recordings folder is the command's argument, merged like a flag.
    given = o.Flags(settings, **({"recordings": recordings} if recordings is not None else {}))
    opts = o.run_options(given, config)

    folder = opts.recordings
    if folder is None and not rescore:
        raise ConfigError("no recordings folder: pass RECORDINGS_DIR or set recordings in qa.toml")
    if folder is not None and not rescore and not folder.is_dir():
        raise ConfigError(f"{folder}: no such recordings folder")
    card = opts.scorecard or bundled_scorecard(asr_opts.language)
    if card is None:
        raise ConfigError("no scorecard: pass --scorecard FILE or set scorecard in qa.toml")
    if not card.is_file():
        raise ConfigError(f"{card}: scorecard file not found")
    metadata = config.metadata
    if manifest is not None:
        metadata = replace(metadata, manifest=manifest)
    if pattern is not None:
        metadata = replace(metadata, pattern=pattern)
    reports_dir = opts.reports
    redaction = o.redaction_options(personal, config)
    batch = BatchOptions(
        recordings=folder,
        scorecard=card,
        audio=audio_opts,
        transcribe=asr_opts,
        metadata=metadata,
        scoring=o.scoring_options(scoring, config),
        workers=opts.workers or auto_workers(asr_opts, opts.executor),
        rescore=rescore,
        retry_failed=retry_failed,
        since=since.date() if since else None,
        limit=limit,
        dry_run=dry_run,
        cache_dir=cache.path,
        use_cache=not cache.no_cache,
        transcripts_dir=reports_dir / "transcripts",
        log_dir=opts.logs,
        min_duration_seconds=opts.min_duration_seconds,
        redaction=redaction,
        executor=opts.executor,
        ray_address=opts.ray_address,
        # The report site holds audio copies: inside the recordings folder it must not be read back.
        exclude=(reports_dir,) + _store_files(db or config.db),
    )
    store = _open_store(db or config.db, dry_run)
    with store:
        from qa_pipeline.pii.stored import calls_to_redact, remove_report_pdfs

        redacting = rescore and not dry_run and bool(calls_to_redact(store, redaction, batch.since, retry_failed))
        summary = _run_with_progress(store, batch, run_batch)
        if dry_run:
            _print_plan(summary)
            return
        _print_summary(summary)
        want_pdf = config.report_pdf if pdf is None else pdf
        if redacting:
            # PDFs rendered before quote the unredacted transcripts; the team PDF is rendered again.
            removed = remove_report_pdfs(reports_dir)
            want_pdf = want_pdf or any(p.parent == Path(reports_dir) for p in removed)
            if removed:
                typer.echo(f"Removed {len(removed)} PDF(s) rendered before redaction.")
        report_failed = False
        if not no_report:
            report_failed = not _refresh(store, reports_dir, want_pdf, config.report_title, refresh_reports, config)
            if report_failed:
                _record_report_failure(store, summary, reports_dir)
    if summary.failures or summary.problems or report_failed:
        raise typer.Exit(1)


def _record_report_failure(store: Any, summary: Any, reports_dir: Path) -> None:
    # The run row says "ok" until now: a nightly check reading qa status must see the failure.
    from qa_pipeline.store import RunStatus

    reason = "; ".join([*summary.problems, f"{reports_dir}: reports not refreshed"])
    store.finish_run(summary.run_id, RunStatus.FAILED, summary.counts, summary.wall_seconds, reason)


def _store_files(target: str) -> tuple[Path, ...]:
    from qa_pipeline.store import database_url

    url = database_url(target)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return ()
    return (Path(url.database),)


def _open_store(target: str, dry_run: bool) -> Any:
    from qa_pipeline.store import Store

    if not dry_run:
        return Store.open(target)
    try:
        return Store.open(target, create=False)
    except ConfigError:
        # Nothing stored yet: plan against an empty store, and leave no file behind.
        return Store.open("sqlite://")


def progress_fields(p: Any) -> dict[str, str]:
    """What the progress bar shows for one :class:`~qa_pipeline.batch.BatchProgress`."""
    if p.phase == "loading model":
        return {"description": "loading model", "rate": "", "left": "", "stats": ""}
    now = ", ".join(p.current[:2]) + (f" +{len(p.current) - 2}" if len(p.current) > 2 else "")
    rate = p.calls_per_second
    left = p.remaining_seconds
    return {
        "description": f"calls (now: {now})" if now else "calls",
        "rate": f"{rate:.2f} calls/s" if rate is not None else "– calls/s",
        "left": f"{_duration(left)} left" if left is not None else "time left: measuring",
        "stats": f"{p.done - p.failed} ok · {p.failed} failed · {p.speed:.1f}× real time",
    }


def _run_with_progress(store: Any, batch: Any, run_batch: Any) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("{task.fields[left]}"),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("starting", total=None, stats="", rate="", left="")

        def hook(p: Any) -> None:
            f = progress_fields(p)
            bar.update(task, total=p.total, completed=p.done, description=f["description"], rate=f["rate"], left=f["left"], stats=f["stats"])

        return run_batch(store, batch, hook)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


def _print_summary(summary: Any) -> None:
    c = summary.counts
    skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(summary.skipped.items()))
    typer.echo(
        f"Run {summary.run_id}: {c.discovered} call(s) found, {c.skipped} skipped"
        + (f" ({skipped})" if skipped else "")
        + f"; {c.succeeded + c.failed} processed: {c.succeeded} ok, {c.failed} failed"
        + f" ({c.transcribed - c.from_cache} transcribed, "
        + (f"{c.from_cache} from the transcript cache, " if c.from_cache else "")
        + f"{c.rescored} re-scored)."
    )
    speed = f" ({summary.speed:.1f}x real time)" if c.audio_seconds and summary.wall_seconds else ""
    typer.echo(f"Audio {c.audio_seconds / 3600:.2f} h in {_duration(summary.wall_seconds)}{speed}."
               + (f" Log: {summary.log_path}" if summary.log_path else ""))
    for ignored in summary.plan.ignored:
        typer.echo(f"Skipped {visible(ignored.path)}: {ignored.reason}", err=True)
    if summary.failures:
        typer.echo(f"{len(summary.failures)} call(s) failed:", err=True)
        for f in summary.failures:
            reason = f.error[len(f.path) + 2 :] if f.error.startswith(f"{f.path}: ") else f.error
            typer.echo(f"  {visible(f.path)}: {visible(reason)}", err=True)
    for problem in summary.problems:
        typer.echo(f"Error: {visible(problem)} (the calls are stored)", err=True)


def _print_plan(summary: Any) -> None:
    from qa_pipeline.batch import Action

    plan = summary.plan
    skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(summary.skipped.items()))
    typer.echo(
        f"Dry run: {plan.discovered} call(s) found; would transcribe {len(plan.of(Action.TRANSCRIBE))}, "
        f"re-score {len(plan.of(Action.RESCORE))}, record {len(plan.of(Action.FAIL))} failure(s), "
        f"skip {len(plan.of(Action.SKIP))}" + (f" ({skipped})" if skipped else "") + "."
    )
    shown = [c for c in plan.calls if c.action is not Action.SKIP]
    for c in shown[:50]:
        detail = c.error if c.action is Action.FAIL else c.reason
        typer.echo(f"  {c.action.value:<10} {visible(c.meta.path)}  ({visible(detail)})")
    if len(shown) > 50:
        typer.echo(f"  … and {len(shown) - 50} more")


def _refresh(store: Any, reports_dir: Path, pdf: bool, title: str, refresh_reports: Any, config: Any = None) -> bool:
    from qa_pipeline.config import report_abilities
    from qa_pipeline.errors import QAError

    started = time.perf_counter()
    try:
        # The goals, statistics settings and ability grouping of qa.toml, so the nightly site keeps them.
        goals = config.goals if config is not None else ()
        abilities = report_abilities(config.scorecard if config is not None else None)
        stats = o.stats_options(o.Flags(), config) if config is not None else None
        result = refresh_reports(store, reports_dir, pdf=pdf, title=title, targets=goals, abilities=abilities, stats=stats)
    except QAError as exc:
        typer.echo(f"Error: reports not refreshed: {exc}", err=True)
        return False
    except OSError as exc:
        where = exc.filename or reports_dir
        typer.echo(f"Error: reports not refreshed: {where}: cannot write ({exc.strerror or exc})", err=True)
        return False
    if result is None:
        typer.echo("No scored calls yet: no report written.")
    else:
        typer.echo(f"Reports: {result.index} ({len(result.agent_pages)} agent page(s)) in {time.perf_counter() - started:.1f}s")
    return True


# A group holding just ``run``, for embedding or testing on its own (``python -m
# qa_pipeline.cli.run run RECORDINGS``); the main ``qa`` app registers ``run`` directly.
app = new_app("Run the batch over a recordings folder.")


@app.callback()
def _group() -> None:
    """Run the batch over a recordings folder."""


app.command("run", cls=PanelCommand)(run)

if __name__ == "__main__":
    app()
