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
from typing import Any

import numpy as np
import pandas as pd

from qa_pipeline import __version__
from qa_pipeline.log import get_logger

log = get_logger("report")

MANIFEST = "manifest.json"
PERIOD_SCRIPT = "period.js"
STYLESHEET = "style.css"
# The templates a call page is made from: a change to any of them re-renders every page.
CALL_TEMPLATES: tuple[str, ...] = ("base.html.j2", "macros.html.j2", "call.html.j2", "call_summary.html.j2")
CALL_COLUMNS: tuple[str, ...] = ("call_id", "agent_id", "agent_name", "team", "started_at", "duration_s", "call_score",
                                 "critical_failed", "roles_inferred", "audio_path", "transcript_path", "agent_slug", "events")
CRITERION_COLUMNS: tuple[str, ...] = ("criterion_id", "criterion_title", "verdict", "points", "max_points", "evidence", "missing")


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

    def get(self, group: Any) -> list[dict[str, Any]]:
        pos = self.index.get(group)
        if pos is None:
            return []
        out = []
        for i in pos:
            rec = {c: v[i] for c, v in self.columns.items()}
            out.append({k: (None if _nan(v) else v) for k, v in rec.items()})
        return out


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

    def stale(self, slug: str, digest: str, folder: Path) -> bool:
        return self.pages.get(slug) != digest or not (folder / f"{slug}.html").is_file()

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
