"""PDF output through WeasyPrint, from the same HTML as the site (print stylesheet)."""

from __future__ import annotations

import logging
from pathlib import Path

from qa_pipeline.errors import ReportError
from qa_pipeline.log import get_logger

log = get_logger("report.pdf")


def write_pdf(html: str, out: Path, base_url: Path) -> Path:
    """Render HTML to a PDF file.

    Args:
        html: A full HTML document.
        out: Target file (written atomically).
        base_url: Folder relative links and images resolve against.

    Raises:
        ReportError: WeasyPrint (or the Pango library it needs) is not installed, or the file
            cannot be written.
    """
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise ReportError(
            f"cannot write {out}: PDF output needs WeasyPrint and Pango "
            f"(pip install weasyprint; apt-get install libpango-1.0-0 libpangoft2-1.0-0) — {exc}"
        ) from exc
    # WeasyPrint logs every CSS property it ignores at WARNING; the site's screen-only rules are
    # meant to be ignored in print. Quieten it unless the application configured it.
    for name in ("weasyprint", "fontTools"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.ERROR)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    try:
        weasyprint.HTML(string=html, base_url=str(base_url)).write_pdf(str(tmp))
        tmp.replace(out)
    except OSError as exc:
        raise ReportError(f"cannot write {out}: {exc.strerror or exc}") from exc
    log.info("wrote %s", out)
    return out
