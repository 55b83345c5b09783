"""Call pages for every call of a report, rendered incrementally.

Every call in the period gets a page: the full page (conversation, timeline, player) when its
transcript can be read, else a summary of its verdicts that says why there is no transcript.
A nightly run re-renders only the pages whose inputs changed: ``calls/manifest.json`` keeps a
hash of each page's inputs (the call's row, its criterion rows, the transcript and recording
files' size and modification time, the page templates). Call pages carry no period-dependent
text of their own (the period line is filled in from the shared ``period.js``), so a period
that moves by a day does not make every page stale.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from qa_pipeline import __version__
from qa_pipeline.errors import TranscriptError
from qa_pipeline.log import get_logger
from qa_pipeline.report import workers
from qa_pipeline.report.callview import build_call_view
from qa_pipeline.report.env import environment
from qa_pipeline.report.options import AUDIO_DIR
from qa_pipeline.report.output import write_call_page as write_call_file
from qa_pipeline.report.rows import records
from qa_pipeline.transcript import Transcript

if TYPE_CHECKING:
    from qa_pipeline.report.sitedata import Site

log = get_logger("report")

MANIFEST = "manifest.json"
PERIOD_SCRIPT = "period.js"
STYLESHEET = "style.css"
# The templates a call page is made from: a change to any of them re-renders every page.
CALL_TEMPLATES: tuple[str, ...] = ("base.html.j2", "macros.html.j2", "call.html.j2", "call_summary.html.j2", "_verdict_row.html.j2")
CALL_COLUMNS: tuple[str, ...] = ("call_id", "agent_id", "agent_name", "team", "started_at", "duration_s", "call_score",
                                 "critical_failed", "roles_inferred", "audio_path", "transcript_path", "agent_slug", "events")
CRITERION_COLUMNS: tuple[str, ...] = ("criterion_id", "criterion_title", "verdict", "points", "max_points", "evidence", "missing")
# What a summary page's verdict row shows (``_verdict_row.html.j2``).
VERDICT_ROW_COLUMNS: tuple[str, ...] = ("criterion_id", "criterion_title", "verdict", "points", "max_points", "missing")


def readable(path: Any) -> bool:
    """True for a path value that names a readable file (None, NaN and '' are not)."""
    if not isinstance(path, str) or not path.strip():
        return False
    try:
        return Path(path).is_file()
    except OSError:
        return False


class Rows:
    """One table's rows grouped by a key, as arrays; a group's records are built on demand.

    Building records for 100,000 calls' criteria up front costs seconds; page workers build
    only their own calls' rows.
    """

    def __init__(self, df: pd.DataFrame, key: str, columns: tuple[str, ...]):
        present = [c for c in columns if c in df.columns]
        self.index = df.groupby(key, sort=False).indices
        self.columns = {c: df[c].to_numpy(dtype=object) for c in present + [key]}

    def record(self, i: int) -> dict[str, Any]:
        """Row ``i`` of the table as a mapping, NaN/NaT as None."""
        return {c: (None if _nan(v[i]) else v[i]) for c, v in self.columns.items()}

    def get(self, group: Any) -> list[dict[str, Any]]:
        pos = self.index.get(group)
        if pos is None:
            return []
        return [self.record(i) for i in pos]


class VerdictTables:
    """The verdict table rows of call summary pages, each distinct row rendered once.

    A summary page is mostly its verdict table, and across 100,000 calls the same few dozen
    rows (criterion, verdict, points, what was missing) repeat: each row's HTML is rendered
    once from ``_verdict_row.html.j2``, and each distinct sequence of rows is joined once.

    Args:
        rows: The criterion rows grouped by call.
        criteria: The same rows as a table (what tells rows apart).
    """

    def __init__(self, rows: Rows, criteria: pd.DataFrame):
        shown = [c for c in VERDICT_ROW_COLUMNS if c in criteria.columns]
        self.rows = rows
        if len(criteria) and shown:
            # One vectorised pass gives every row the number of its distinct (shown) values.
            self.codes = criteria.groupby(shown, dropna=False, sort=False).ngroup().to_numpy()
        else:
            self.codes = np.zeros(len(criteria), dtype=np.int64)
        self._row_html: dict[int, Markup] = {}
        self._tables: dict[tuple[int, ...], Markup] = {}

    def get(self, call_id: Any) -> Markup:
        """The call's rows as HTML, one per line (empty without criterion results)."""
        pos = self.rows.index.get(call_id)
        if pos is None:
            return Markup("")
        key = tuple(self.codes[pos].tolist())
        html = self._tables.get(key)
        if html is None:
            html = Markup("\n").join(self._row(code, int(i)) for code, i in zip(key, pos))
            self._tables[key] = html
        return html

    def _row(self, code: int, i: int) -> Markup:
        html = self._row_html.get(code)
        if html is None:
            html = Markup(environment().get_template("_verdict_row.html.j2").render(v=self.rows.record(i)))
            self._row_html[code] = html
        return html


def _nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NaT


def template_key(extra: str = "") -> str:
    """A hash of the package version and the call page templates."""
    h = hashlib.sha1(__version__.encode())
    folder = resources.files("qa_pipeline.report").joinpath("templates")
    for name in CALL_TEMPLATES + ("style.css.j2",):
        h.update(name.encode())
        h.update(folder.joinpath(name).read_bytes())
    h.update(extra.encode())
    return h.hexdigest()[:16]


def _file_stamp(path: Any) -> str:
    if not isinstance(path, str) or not path:
        return ""
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    return f"{st.st_mtime_ns}:{st.st_size}"


def input_hashes(calls: pd.DataFrame, criteria: pd.DataFrame, key: str) -> dict[str, str]:
    """Per call id: a hash of everything its page is made from.

    Args:
        calls: The calls to page (columns of :data:`CALL_COLUMNS`).
        criteria: Their criterion rows.
        key: :func:`template_key` and anything else site-wide that the pages show.
    """
    cols = [c for c in CALL_COLUMNS if c in calls.columns]
    call_h = pd.util.hash_pandas_object(calls[cols].astype(str), index=False).to_numpy()
    ccols = [c for c in ("call_id",) + CRITERION_COLUMNS if c in criteria.columns]
    if len(criteria):
        row_h = pd.util.hash_pandas_object(criteria[ccols].astype(str), index=False)
        # Sum is order-free: the same rows in another order give the same page.
        crit_h = row_h.groupby(criteria["call_id"].to_numpy(), sort=False).sum()
        crit_for_call = crit_h.reindex(calls["call_id"]).fillna(0).to_numpy(dtype=np.uint64)
    else:
        crit_for_call = np.zeros(len(calls), dtype=np.uint64)
    stamps = [_file_stamp(t) + "|" + _file_stamp(a) for t, a in zip(calls["transcript_path"], calls["audio_path"])]
    out = {}
    for cid, ch, kh, st in zip(calls["call_id"], call_h, crit_for_call, stamps):
        out[cid] = f"{key}:{int(ch):016x}{int(kh):016x}:{st}"
    return out


class Manifest:
    """The inputs hash of each call page written (``calls/manifest.json``)."""

    def __init__(self, folder: Path):
        self.path = folder / MANIFEST
        self.pages: dict[str, str] = {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            pages = data.get("pages", {}) if isinstance(data, dict) else {}
            self.pages = {str(k): str(v) for k, v in pages.items()} if isinstance(pages, dict) else {}
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            # A damaged manifest only costs a full re-render.
            log.warning("ignoring call page manifest %s: %s", self.path, exc)

    def stale(self, slug: str, digest: str, existing: set[str]) -> bool:
        """True when the page's inputs changed or its file is gone.

        Args:
            slug: The page's file name without ``.html``.
            digest: The hash of its inputs now (:func:`input_hashes`).
            existing: The file names in the calls folder (one listing, not a lookup per page).
        """
        return self.pages.get(slug) != digest or f"{slug}.html" not in existing

    def save(self, pages: dict[str, str]) -> None:
        self.pages = pages
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"version": 1, "pages": dict(sorted(pages.items()))}, indent=0), encoding="utf-8")
        tmp.replace(self.path)


def period_script(line: str, coverage: str) -> str:
    """``period.js``: fills the period line of call pages (text only, never markup)."""
    return (
        "(function () {\n"
        f"  var line = {json.dumps(line)};\n"
        f"  var coverage = {json.dumps(coverage)};\n"
        '  var el = document.getElementById("period-line");\n'
        "  if (el) { el.textContent = line; }\n"
        '  var cov = document.getElementById("coverage-line");\n'
        "  if (cov) { cov.textContent = coverage; }\n"
        "})();\n"
    )


def call_context(site: Site, call: dict[str, Any], transcript: Transcript) -> dict[str, Any]:
    """A full call page's context: the call view (conversation, timeline, player) in the page frame."""
    view = build_call_view(
        call,
        site.call_rows.get(call["call_id"]),
        transcript,
        site.out / "calls",
        site.opts.silence_seconds,
        site.opts.overlap_seconds,
        audio_dir=site.out / AUDIO_DIR,
        audio_name=site.call_slug[call["call_id"]],
    )
    return {
        **site.call_base(),
        "lang": view.language,
        "view": view,
        "call": call,
        "agent_href": site.agent_href(call["agent_id"], "../"),
    }


def write_call_page(site: Site, call: dict[str, Any]) -> tuple[str, str]:
    """Write one call's page: the full page, or a summary when its transcript cannot be read.

    Returns:
        The page's path and its kind (``full`` or ``summary``).
    """
    path = os.path.join(site.call_folder, f"{site.call_slug[call['call_id']]}.html")
    reason = "No transcript is stored for this call, so there is no conversation to show."
    if readable(call["transcript_path"]):
        try:
            transcript = Transcript.load(call["transcript_path"])
        except TranscriptError as exc:
            log.warning("call %s: summary page only: %s", call["call_id"], exc)
            reason = f"The transcript of this call cannot be read ({exc}), so there is no conversation to show."
        else:
            html = environment().get_template("call.html.j2").render(call_context(site, call, transcript))
            write_call_file(path, html)
            return path, "full"
    elif call["transcript_path"]:
        reason = f"The transcript of this call is missing ({call['transcript_path']}), so there is no conversation to show."
    tables = site.verdict_tables
    if tables is None:
        tables = site.verdict_tables = VerdictTables(site.call_rows, site.scope_criteria)
    ctx = {
        **site.call_base(),
        "call": call,
        "verdict_rows": tables.get(call["call_id"]),
        "agent_href": site.agent_href(call["agent_id"], "../"),
        "no_transcript": reason,
    }
    write_call_file(path, environment().get_template("call_summary.html.j2").render(ctx))
    return path, "summary"


def write_call_pages(site: Site) -> list[Path]:
    """Write the page of every call whose inputs changed since the last render (in parallel).

    Returns:
        The pages written now (unchanged pages are kept and not listed).
    """
    site.write_shared_files()
    folder = site.out / "calls"
    folder.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(folder)
    key = template_key(f"{site.opts.title}|{site.base('../', False)['index_href']}")
    paged = site.selected.assign(agent_slug=site.selected["agent_id"].map(site.agent_slug))
    hashes = input_hashes(paged, site.scope_criteria, key)
    existing = {entry.name for entry in os.scandir(folder)}
    ids = site.selected["call_id"].tolist()
    todo = [i for i, cid in enumerate(ids) if manifest.stale(site.call_slug[cid], hashes[cid], existing)]
    if todo:
        # Compiled here, before the workers fork, so no worker compiles them again.
        for name in ("call.html.j2", "call_summary.html.j2", "_verdict_row.html.j2"):
            environment().get_template(name)
        site.call_records = records(site.selected.iloc[todo])
        site.verdict_tables = VerdictTables(site.call_rows, site.scope_criteria)
    # Workers get positions in the calls due (which they inherit), not the calls themselves.
    results = workers.map_pages(_call_chunk, list(range(len(todo))), site, site.opts.workers)
    site.call_records = []
    written = []
    for path, kind in results:
        written.append(Path(path))
        site.calls_written[kind] += 1
    site.calls_written["unchanged"] = len(site.selected) - len(todo)
    pages = dict(manifest.pages) if not site.full_site else {}
    pages.update({site.call_slug[cid]: digest for cid, digest in hashes.items()})
    if site.full_site:
        # Pages of calls no longer in the period are removed, so the folder matches the site.
        keep = set(pages)
        for old in set(manifest.pages) - keep:
            (folder / f"{old}.html").unlink(missing_ok=True)
    manifest.save(pages)
    return written


def _call_chunk(positions: list[int]) -> list[tuple[str, str]]:
    site = workers.active()
    calls = site.call_records
    return [write_call_page(site, calls[i]) for i in positions]
