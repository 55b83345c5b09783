"""Render an :class:`~qa_pipeline.stats.Analysis` as a static site and as PDF.

Layout of the output folder::

    index.html                 team overview
    agents/<agent>.html        one page per agent (file names are slugs of the untrusted ids)
    calls/<call>.html          every call of the period (a summary when it has no transcript)
    calls/manifest.json        inputs hash of each call page, so a re-run renders only what changed
    style.css, period.js       shared by the call pages
    audio/<call>.wav           16-bit PCM copies of their recordings that browsers cannot play
    qa-report.pdf              the team overview as PDF
    agents/<agent>.pdf         one agent as PDF, on request

Page contexts live beside their pages (:mod:`~qa_pipeline.report.indexpage`,
:mod:`~qa_pipeline.report.agentpages`, :mod:`~qa_pipeline.report.callpages`) and read the
shared material of :class:`~qa_pipeline.report.sitedata.Site`, computed once with group-bys;
call pages are rendered only when their inputs changed. This module puts a render together.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from qa_pipeline.errors import ReportError
from qa_pipeline.log import get_logger
from qa_pipeline.report import agentpages, callpages, indexpage, workers
from qa_pipeline.report.calibration_page import report_call_ids, write_calibration_page
from qa_pipeline.report.coverage import Coverage, coverage as period_coverage
from qa_pipeline.report.env import environment
from qa_pipeline.report.filters import unique_slugs
from qa_pipeline.report.options import AUDIO_DIR, TEAM_PDF, ReportOptions, SiteResult
from qa_pipeline.report.output import write_file
from qa_pipeline.report.pdf import write_pdf
from qa_pipeline.report.sitedata import Site
from qa_pipeline.stats.analysis import Analysis, analyse
from qa_pipeline.stats.frames import Frames
from qa_pipeline.stats.goals import Target
from qa_pipeline.stats.options import StatsOptions

if TYPE_CHECKING:
    from qa_pipeline.calibration import CalibrationReport

__all__ = ["AUDIO_DIR", "TEAM_PDF", "ReportOptions", "SiteResult", "agent_page_path", "render_agent_report", "render_site", "write_reports"]

log = get_logger("report")

# The atomic page writer under its old name, for callers that import it from here.
_write = write_file


def _cpu() -> float:
    """CPU seconds of this process and of its children that have finished (page workers, PDF)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class _Clock:
    """Wall and CPU seconds per stage of a render."""

    def __init__(self) -> None:
        self.wall: list[tuple[str, float]] = []
        self.cpu: list[tuple[str, float]] = []
        self._wall = time.perf_counter()
        self._cpu = _cpu()

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), _cpu()
        self.wall.append((name, round(wall - self._wall, 3)))
        self.cpu.append((name, round(cpu - self._cpu, 3)))
        self._wall, self._cpu = wall, cpu


def write_reports(
    frames: Frames,
    out_dir: str | Path,
    stats: StatsOptions | None = None,
    options: ReportOptions | None = None,
    targets: Iterable[Target] = (),
) -> SiteResult:
    """Analyse frames and write the whole site: the one call a batch run needs at its end.

    Raises:
        ReportError: No calls in the period, or the output cannot be written.
    """
    analysis = analyse(frames, stats, targets)
    return render_site(analysis, out_dir, options, coverage=period_coverage(frames.calls["started_at"], analysis.period))


def render_site(
    analysis: Analysis,
    out_dir: str | Path,
    options: ReportOptions | None = None,
    calibration: CalibrationReport | None = None,
    coverage: Coverage | None = None,
) -> SiteResult:
    """Write the whole site (and the team PDF unless ``options.pdf`` is off).

    Call pages are written before the pages that link to them, so a transcript that cannot be
    read only loses its own page, never leaves a dangling link.

    With a ``calibration`` (:func:`qa_pipeline.calibration.calibration_report`), the site also
    gets ``calibration.html``, linked from the overview.

    Every call of the period gets a page; pages whose inputs did not change since the last
    render into the same folder are kept (see :mod:`qa_pipeline.report.callpages`). With a
    ``coverage`` (:func:`qa_pipeline.report.coverage.coverage`), every page says how many calls
    fall outside the period and how to include them.

    Raises:
        ReportError: The output folder cannot be written, or the PDF cannot be made.
    """
    opts = options or ReportOptions()
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create report folder {out}: {exc.strerror or exc}") from exc
    try:
        return _render_site(analysis, out, opts, calibration, coverage)
    except OSError as exc:
        raise ReportError(f"cannot write the report in {out}: {exc}") from exc


def _render_site(
    analysis: Analysis, out: Path, opts: ReportOptions, calibration: CalibrationReport | None, coverage: Coverage | None
) -> SiteResult:
    clock = _Clock()
    site = Site(analysis, out, opts, calibration=calibration, coverage=coverage)
    clock.lap("prepare")
    env = environment()
    index_template = env.get_template("index.html.j2")
    ctx = indexpage.index_context(site)
    clock.lap("index charts")
    # The team PDF is one long single-threaded job: start it first, alongside the page workers.
    pdf_job = workers.start_pdf(index_template.render(dict(ctx, pdf=True)), out / TEAM_PDF, out, opts) if opts.pdf else None
    call_pages = callpages.write_call_pages(site)
    clock.lap("call pages")
    agent_pages = agentpages.write_agent_pages(site, list(site.agent_slug))
    clock.lap("agent pages")
    calibration_page = None
    if calibration is not None:
        hrefs = {cid: site.call_href(cid, "") for cid in report_call_ids(calibration)}
        calibration_page = write_calibration_page(calibration, out, call_hrefs=hrefs, base=site.base("", False))
        clock.lap("calibration page")
    # Rendered after the call pages so that a call whose page failed is not linked.
    index = write_file(out / "index.html", index_template.render(indexpage.index_context_links(site, ctx)))
    clock.lap("index")
    pdfs = []
    if pdf_job is not None:
        pdfs.append(pdf_job())
        clock.lap("team pdf (wait)")
    log.info("report: %d agent pages, %d call pages in %s", len(agent_pages), len(call_pages), out)
    return SiteResult(out, index, tuple(agent_pages), tuple(call_pages), tuple(pdfs), tuple(clock.wall), calibration_page,
                      site.calls_written["unchanged"], tuple(clock.cpu))


def render_agent_report(
    analysis: Analysis, agent_id: str, out_dir: str | Path, options: ReportOptions | None = None, pdf: bool = True,
    coverage: Coverage | None = None,
) -> SiteResult:
    """Write one agent's page, its call pages and (``pdf``) ``agents/<agent>.pdf``.

    Raises:
        ReportError: The agent has no calls in the period, or the output cannot be written.
    """
    opts = options or ReportOptions()
    analysis.agent(agent_id)
    out = Path(out_dir)
    try:
        return _render_agent_report(analysis, agent_id, out, opts, pdf, coverage)
    except OSError as exc:
        raise ReportError(f"cannot write the report in {out}: {exc}") from exc


def _render_agent_report(
    analysis: Analysis, agent_id: str, out: Path, opts: ReportOptions, pdf: bool, coverage: Coverage | None
) -> SiteResult:
    clock = _Clock()
    site = Site(analysis, out, opts, agent_ids=[agent_id], coverage=coverage)
    call_pages = callpages.write_call_pages(site)
    clock.lap("call pages")
    template = environment().get_template("agent.html.j2")
    ctx = agentpages.agent_context(site, agent_id)
    slug = site.agent_slug[agent_id]
    page = write_file(out / "agents" / f"{slug}.html", template.render(ctx))
    clock.lap("agent page")
    pdfs = []
    if pdf:
        pdfs.append(write_pdf(template.render(dict(ctx, pdf=True)), out / "agents" / f"{slug}.pdf", out / "agents"))
        clock.lap("agent pdf")
    return SiteResult(out, None, (page,), tuple(call_pages), tuple(pdfs), tuple(clock.wall), None, site.calls_written["unchanged"],
                      tuple(clock.cpu))


def agent_page_path(analysis: Analysis, agent_id: str, out_dir: str | Path) -> Path:
    """Where the site puts an agent's page."""
    return Path(out_dir) / "agents" / f"{unique_slugs(analysis.agents['agent_id'])[agent_id]}.html"
