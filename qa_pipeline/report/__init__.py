"""Reports: a static HTML site and PDFs from an :class:`~qa_pipeline.stats.Analysis`.

Start with :func:`render_site` (team overview, agent pages, call pages, team PDF) or
:func:`render_agent_report` (one agent, optionally as PDF); :func:`write_reports` analyses
frames and renders the site in one call.
"""

from qa_pipeline.report.render import (
    TEAM_PDF,
    ReportOptions,
    SiteResult,
    agent_page_path,
    render_agent_report,
    render_site,
    write_reports,
)

__all__ = ["TEAM_PDF", "ReportOptions", "SiteResult", "agent_page_path", "render_agent_report", "render_site", "write_reports"]
