"""``qa forget`` — remove a call everywhere the pipeline put it (a data subject's erasure request)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qa_pipeline.cli import options as o
from qa_pipeline.cli.options import DbOpt


@o.derive_flags
def forget(
    call_ids: Annotated[list[str], typer.Argument(metavar="CALL_ID...", help="The call(s) to forget, by call id.", show_default=False)],
    db: DbOpt = None,
    config_file: o.ConfigOpt = None,
    folders: o.Flags = o.FOLDER_FLAGS,
    cache_flags: o.Flags = o.CACHE_DIR_FLAGS,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not re-render the report pages that listed the call.")] = False,
) -> None:
    """Remove calls from the store (every table), the transcript cache, the report site (call
    page, audio and transcript copies), redacted-audio copies and the run logs, then re-render
    the report pages that listed them.

    The recordings themselves are left alone: remove them too, or the next ``qa run`` over
    their folder transcribes them again.
    """
    from qa_pipeline.cache import default_cache_dir
    from qa_pipeline.pii.forget import forget_call
    from qa_pipeline.pii.stored import remove_report_pdfs
    from qa_pipeline.report.refresh import refresh_reports
    from qa_pipeline.report.render import TEAM_PDF
    from qa_pipeline.store import Store

    config = o.load(config_file)
    where = o.run_options(folders, config)
    reports_dir, log_dir = where.reports, where.logs
    cache = o.stage_options(cache_flags, config, o.CACHE_DIR_FLAGS)[2].path or default_cache_dir()
    with Store.open(db or config.db, create=False) as store:
        for call_id in call_ids:
            result = forget_call(store, call_id, reports_dir, cache, [log_dir])
            typer.echo(
                f"Forgot {call_id}: {result.store_rows} store row(s), {result.cache_files} cached transcript(s), "
                f"{len(result.files)} file(s), {result.log_lines} log line(s) in {len(result.logs)} log(s)."
            )
        if not no_report and Path(reports_dir).is_dir():
            pdf = (Path(reports_dir) / TEAM_PDF).is_file()
            # Agent PDFs list their calls and are only made on request: removed, not re-rendered.
            agent_pdfs = remove_report_pdfs(Path(reports_dir) / "agents")
            if agent_pdfs:
                typer.echo(f"Removed {len(agent_pdfs)} agent PDF(s); make them again with qa report --agent ID --pdf.")
            site = refresh_reports(store, reports_dir, pdf=pdf, title=config.report_title, stats=o.stats_options(o.Flags(), config))
            if site is None:
                _clear_site(Path(reports_dir))
                typer.echo("No scored calls left: report pages removed.")
            else:
                typer.echo(f"Reports: {site.index} re-rendered" + (" with the team PDF." if pdf else "."))


def _clear_site(reports: Path) -> None:
    # With no scored call left, pages from the last render would still list the call.
    for pattern in ("*.html", "*.pdf", "*.json", "agents/*", "calls/*", "audio/*"):
        for path in reports.glob(pattern):
            if path.is_file():
                path.unlink()
