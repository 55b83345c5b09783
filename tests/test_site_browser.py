"""The report site opened in a real browser (headless Chromium through Playwright).

What a QA lead would hit first: dead links, recordings that do not play, script errors,
chart names drawn over each other (measured on the text the browser actually laid out, with
its fonts), and a PDF that does not render.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd
import pytest

from qa_pipeline.report import ReportOptions, write_reports
from qa_pipeline.stats import StatsOptions
from qa_pipeline.synthetic_results import SynthStoreOptions, pick_calls, synth_frames, write_transcripts

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the dev extra is not installed
    sync_playwright = None  # type: ignore[assignment]

pytestmark = pytest.mark.skipif(CHROMIUM is None or sync_playwright is None,
                                reason="needs the chromium Debian package and the playwright Python package")

# Screenshots of a few pages, for a person to look at: QA_SCREENSHOTS=folder pytest …
SHOTS_ENV = "QA_SCREENSHOTS"

# Text boxes of one chart that share more than this many pixels each way overlap.
OVERLAP_TOLERANCE_PX = 0.5

OVERLAPS_JS = """
(tol) => {
  const out = [];
  document.querySelectorAll('svg.chart').forEach((svg, k) => {
    const boxes = [];
    svg.querySelectorAll('text').forEach((t) => {
      const r = t.getBoundingClientRect();
      if (r.width > 0 && r.height > 0 && t.textContent.trim()) boxes.push([t.textContent.trim(), r]);
    });
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i][1], b = boxes[j][1];
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > tol && h > tol) out.push(`chart ${k}: "${boxes[i][0]}" overlaps "${boxes[j][0]}"`);
      }
    }
  });
  return out;
}
"""

AUDIO_JS = """
async () => {
  const results = [];
  for (const a of document.querySelectorAll('audio')) {
    a.preload = 'auto';
    const done = new Promise((resolve) => {
      a.addEventListener('loadedmetadata', () => resolve('ok'), {once: true});
      a.addEventListener('error', () => resolve('error'), {once: true});
      setTimeout(() => resolve('timeout'), 5000);
    });
    a.load();
    const how = await done;
    results.push({src: a.currentSrc, how: how, readyState: a.readyState, error: a.error ? a.error.code : null});
  }
  return results;
}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    synth = synth_frames(SynthStoreOptions(agents=10, days=35, calls_per_day=2, teams=2, seed=3))
    chosen = pick_calls(synth.frames, worst=2, best=1)
    frames = write_transcripts(synth.frames, root / "data", chosen)
    frames = write_transcripts(frames, root / "data", chosen[:2], audio=True)
    start = frames.calls["started_at"].min() + pd.Timedelta(days=5)
    opts = ReportOptions(workers=1, pdf=shutil.which("pdftotext") is not None, worst_calls=2, best_calls=1,
                         generated_at=pd.Timestamp("2026-11-01 06:00").to_pydatetime())
    write_reports(frames, root / "reports", StatsOptions(period_from=start.date().isoformat()), opts)
    return root / "reports"


def _local_target(page: Path, href: str) -> Path | None:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    return (page.parent / unquote(parts.path)).resolve()


def test_site_in_chromium(site: Path, tmp_path: Path) -> None:
    pages = [site / "index.html", *sorted((site / "agents").glob("*.html"))]
    call_pages = sorted((site / "calls").glob("*.html"))
    with_audio = [p for p in call_pages if "<audio" in p.read_text(encoding="utf-8")]
    full = [p for p in call_pages if 'class="conversation"' in p.read_text(encoding="utf-8")]
    summary = [p for p in call_pages if p not in full]
    assert with_audio and full and summary
    visit = pages + with_audio + full[:3] + summary[:3]
    shots = Path(os.environ.get(SHOTS_ENV) or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            # A media request the player itself cancels (to re-request a byte range) is not a failure.
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} ({r.failure})")
                    if r.failure != "net::ERR_ABORTED" else None)
            for path in visit:
                errors.clear()
                page.goto(path.as_uri())
                page.wait_for_load_state("load")
                # Every link on the page leads to a file of the site (or a recording copy).
                for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
                    target = _local_target(path, href)
                    if target is not None and not target.is_file():
                        problems.append(f"{path.name}: broken link {href}")
                for a in page.evaluate(AUDIO_JS):
                    if a["how"] != "ok" or a["readyState"] < 1 or a["error"] is not None:
                        problems.append(f"{path.name}: audio {a['src']} does not load ({a})")
                problems += [f"{path.name}: {o}" for o in page.evaluate(OVERLAPS_JS, OVERLAP_TOLERANCE_PX)]
                problems += [f"{path.name}: {e}" for e in errors]
                if path in (site / "index.html", pages[1], with_audio[0], summary[0]):
                    page.screenshot(path=str(shots / f"{path.parent.name}-{path.stem}.png"), full_page=True)
            # Call pages state the period through the shared script.
            page.goto(summary[0].as_uri())
            assert page.inner_text("#period-line").startswith("Period ")
            assert "older call" in page.inner_text("#coverage-line")
        finally:
            browser.close()
    assert problems == [], "\n".join(problems)


@pytest.mark.skipif(shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None, reason="needs poppler-utils")
def test_team_pdf_renders(site: Path, tmp_path: Path) -> None:
    pdf = site / "qa-report.pdf"
    if not pdf.is_file():
        pytest.skip("the PDF renderer (WeasyPrint with Pango) is not installed")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Call quality report" in text and "older call" in text
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "p")], check=True)
    assert len(list(tmp_path.glob("p*.png"))) == 2
