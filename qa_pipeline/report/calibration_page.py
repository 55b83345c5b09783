"""The calibration page of the report site: the machine's verdicts against human QA.

Written by ``qa calibrate`` on its own, or with the rest of the site by
:func:`~qa_pipeline.report.render_site` when it is given a calibration report (then the calls
people and the machine disagree on get call pages too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from qa_pipeline.errors import ReportError
from qa_pipeline.report.env import environment
from qa_pipeline.report.filters import slugify

if TYPE_CHECKING:
    from qa_pipeline.calibration import CalibrationReport

CALIBRATION_PAGE = "calibration.html"
# Per criterion; a longer list is cut with a note (the JSON output of `qa calibrate` has all).
MAX_DISAGREEMENTS = 100
MAX_TOTAL_ROWS = 50
EVIDENCE_ITEMS = 3

# How a QA lead may act on each Landis & Koch band.
BAND_ADVICE: tuple[tuple[str, str, str], ...] = (
    ("below 0", "poor", "Worse than chance: people and the machine read this criterion differently. Review the rule before using its verdicts."),
    ("0.00–0.20", "slight", "Barely better than chance. Do not act on the machine's verdicts for this criterion."),
    ("0.21–0.40", "fair", "Weak. Use only as a pointer to calls worth listening to."),
    ("0.41–0.60", "moderate", "Usable for trends across many calls; check individual calls before coaching on them."),
    ("0.61–0.80", "substantial", "Reliable for most purposes; spot-check the disagreements below."),
    ("0.81–1.00", "almost perfect", "As consistent as two trained evaluators usually are."),
)


@dataclass(frozen=True)
class _Span:
    """What the page header shows as its period."""

    start: Any
    end: Any


def existing_call_hrefs(report: "CalibrationReport", out_dir: Path, root: str = "") -> dict[str, str | None]:
    """Links to the call pages already in a report folder (``calls/<slug>.html``), or None for
    calls without one."""
    out: dict[str, str | None] = {}
    for call_id in report_call_ids(report):
        slug = slugify(call_id)
        out[call_id] = f"{root}calls/{slug}.html" if (out_dir / "calls" / f"{slug}.html").is_file() else None
    return out


def report_call_ids(report: "CalibrationReport") -> list[str]:
    """The calls the calibration page lists (disagreements and compared totals), sorted."""
    ids = {d.call_id for d in report.disagreements} | {p.call_id for p in report.total_pairs}
    return sorted(ids)


def calibration_context(
    report: "CalibrationReport",
    call_hrefs: Mapping[str, str | None],
    base: Mapping[str, Any],
) -> dict[str, Any]:
    """The template context of the calibration page.

    Args:
        report: The calibration.
        call_hrefs: Call page link per call id (None: no page).
        base: The site's common context (title, period, generated time, index link…).
    """
    criteria = []
    for c in report.criteria:
        shown = c.disagreements[:MAX_DISAGREEMENTS]
        criteria.append(
            {
                "c": c,
                "disagreements": [
                    {"d": d, "href": call_hrefs.get(d.call_id), "evidence": d.evidence[:EVIDENCE_ITEMS], "more": max(0, len(d.evidence) - EVIDENCE_ITEMS)}
                    for d in shown
                ],
                "hidden": len(c.disagreements) - len(shown),
            }
        )
    totals = [{"p": p, "href": call_hrefs.get(p.call_id)} for p in report.total_pairs[:MAX_TOTAL_ROWS]]
    return {
        **base,
        "report": report,
        "criteria": criteria,
        "total_rows": totals,
        "totals_hidden": len(report.total_pairs) - len(totals),
        "disagreement_count": len(report.disagreements),
        "bands": BAND_ADVICE,
    }


def write_calibration_page(
    report: "CalibrationReport",
    out_dir: str | Path,
    title: str = "Call quality report",
    generated_at: datetime | None = None,
    call_hrefs: Mapping[str, str | None] | None = None,
    base: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``calibration.html`` into a report folder.

    Args:
        report: The calibration (:func:`qa_pipeline.calibration.calibration_report`).
        out_dir: The report folder.
        title: Report title.
        generated_at: Timestamp printed on the page (UTC); None = now.
        call_hrefs: Call page link per call id; None = link the call pages already in
            ``out_dir``.
        base: The site's common context when written with the site; None for a page
            written on its own (its period is then the days of the evaluations).

    Returns:
        The page's path.

    Raises:
        ReportError: The folder cannot be written.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create report folder {out}: {exc.strerror or exc}") from exc
    if call_hrefs is None:
        call_hrefs = existing_call_hrefs(report, out)
    if base is None:
        base = {
            "index_href": "index.html" if (out / "index.html").is_file() else None,
            "title": title,
            "period": _Span(report.first_evaluated, report.last_evaluated),
            "generated_at": generated_at or datetime.now(timezone.utc).replace(tzinfo=None),
            "root": "",
            "pdf": False,
            "lang": "en",
        }
    html = environment().get_template("calibration.html.j2").render(calibration_context(report, call_hrefs, base))
    path = out / CALIBRATION_PAGE
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
