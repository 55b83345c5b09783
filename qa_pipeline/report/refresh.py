"""The report site rebuilt from the store after a batch run (``qa run``, ``qa forget``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa_pipeline.report.render import SiteResult
    from qa_pipeline.store import Store


def refresh_reports(
    store: Store,
    reports_dir: str | os.PathLike[str],
    pdf: bool = False,
    title: str = "Call quality report",
    workers: int = 1,
    targets: Any = (),
    abilities: Any = None,
    stats: Any = None,
) -> SiteResult | None:
    """Rebuild the report site from the store's scored calls.

    ``targets`` are the goals to show (:class:`~qa_pipeline.stats.Target`; ``[goals]`` of
    ``qa.toml``), so a nightly run keeps them on the site; ``abilities`` the scorecard's
    ability grouping for the ability profiles; ``stats`` the
    :class:`~qa_pipeline.stats.StatsOptions` (``[stats]`` of ``qa.toml``; None = defaults).

    Writes missing transcript copies to ``<reports_dir>/transcripts/`` for call pages, then
    the site (see :func:`qa_pipeline.report.render_site`).

    Returns:
        The :class:`~qa_pipeline.report.SiteResult`, or None when the store holds no scored
        call yet.

    Raises:
        ReportError: The report cannot be written.
    """
    from qa_pipeline.errors import ReportError
    from qa_pipeline.report import ReportOptions, render_site
    from qa_pipeline.stats import analyse, prepare_frames

    reports_dir = Path(reports_dir)
    try:
        store.export_transcripts(reports_dir / "transcripts")
    except OSError as exc:
        where = exc.filename or reports_dir / "transcripts"
        raise ReportError(f"{where}: cannot write transcript copies ({exc.strerror or exc})") from exc
    calls, criteria = store.load_frames()
    if calls.empty:
        return None
    frames = prepare_frames(calls, criteria, source=str(store))
    from qa_pipeline.calibration import calibration_report

    # None when no human evaluations were imported: the site then has no calibration page.
    calibration = calibration_report(store)
    from qa_pipeline.report.coverage import coverage

    analysis = analyse(frames, stats, targets=tuple(targets), abilities=abilities)
    return render_site(
        analysis, reports_dir, ReportOptions(title=title, pdf=pdf, workers=workers), calibration=calibration,
        coverage=coverage(frames.calls["started_at"], analysis.period),
    )
