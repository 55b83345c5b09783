"""Remove one call everywhere the pipeline put it: store, transcript cache, report site,
audio copies and run logs (``qa forget``).

The recording itself is not touched: it is the caller's file, and a later ``qa run`` over a
folder that still holds it transcribes it again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import delete, select

from qa_pipeline.errors import ConfigError
from qa_pipeline.log import get_logger
from qa_pipeline.store import Store, schema, transcript_file_name

log = get_logger("pii.forget")

# The tables that hang off a call row, deleted before the row itself.
_CALL_TABLES = (*schema.SCORE_TABLES, schema.human_evaluations, schema.transcripts)
# Where the report site keeps per-call files (see qa_pipeline.report.render).
_SITE_FOLDERS = ("calls", "audio")


@dataclass(frozen=True)
class ForgetResult:
    """What :func:`forget_call` removed.

    Attributes:
        call_id: The call.
        store_rows: Rows deleted from the store (all tables).
        cache_files: Cached transcripts deleted.
        files: Report pages, transcript copies and audio copies deleted.
        log_lines: Lines removed from run logs.
        logs: The run logs rewritten.
    """

    call_id: str
    store_rows: int
    cache_files: int
    files: tuple[str, ...]
    log_lines: int
    logs: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "store_rows": self.store_rows,
            "cache_files": self.cache_files,
            "files": list(self.files),
            "log_lines": self.log_lines,
            "logs": list(self.logs),
        }


def forget_call(
    store: Store,
    call_id: str,
    reports_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    log_dirs: Iterable[str | os.PathLike[str]] = (),
) -> ForgetResult:
    """Delete every trace of a call the pipeline wrote.

    Store rows of every table, the cached transcripts of its audio (any model or option),
    its transcript copy, its redacted-audio copy, its call page and playable audio copy in
    the report site, and its lines in the run logs (those the store lists and any
    ``*.jsonl`` in ``log_dirs``), which are rewritten without them. A SQLite store is
    vacuumed so the deleted text does not linger in free pages. The site's other pages still
    list the call until they are rendered again (``qa forget`` does that).

    Args:
        store: The results store.
        call_id: The call to forget.
        reports_dir: The report site, or None.
        cache_dir: The transcript cache, or None for none.
        log_dirs: Folders of run logs besides those recorded in the store.

    Returns:
        What was removed.

    Raises:
        ConfigError: The store has no such call.
    """
    c = schema.calls.c
    with store.engine.connect() as conn:
        row = conn.execute(
            select(c.id, c.path, c.content_sha256, c.transcript_path, c.playback_path).where(c.call_id == call_id)
        ).first()
        log_paths = [p for (p,) in conn.execute(select(schema.runs.c.log_path)).all() if p]
    if row is None:
        raise ConfigError(f"{store}: no call {call_id!r}")
    recording = Path(row.path)
    files: list[Path] = []
    for name in (row.transcript_path, row.playback_path):
        if name and Path(name) != recording:
            files.append(Path(name))

    rows = 0
    with store.engine.begin() as conn:
        for table in _CALL_TABLES:
            rows += int(conn.execute(delete(table).where(table.c.call_pk == row.id)).rowcount or 0)
        rows += int(conn.execute(delete(schema.calls).where(c.id == row.id)).rowcount or 0)
        # Refusals of other files claiming this call id name the forgotten recording's path.
        refused = schema.run_rejections
        rows += int(conn.execute(delete(refused).where(refused.c.call_id == call_id)).rowcount or 0)
    _compact(store)

    cache_files = 0
    if cache_dir is not None:
        from qa_pipeline.cache import TranscriptCache

        cache_files = TranscriptCache(Path(cache_dir)).drop(row.content_sha256)

    if reports_dir is not None:
        files += _site_files(Path(reports_dir), call_id)
    removed = []
    for path in dict.fromkeys(files):
        if path.is_file() and path.resolve() != recording.resolve():
            path.unlink()
            removed.append(str(path))

    logs: list[Path] = [Path(p) for p in log_paths]
    for folder in log_dirs:
        if Path(folder).is_dir():
            logs += sorted(Path(folder).glob("*.jsonl"))
    lines = 0
    rewritten = []
    for path in dict.fromkeys(p.resolve() for p in logs if p.is_file()):
        dropped = _rewrite_log(path, call_id, str(recording))
        if dropped:
            lines += dropped
            rewritten.append(str(path))
    log.info("forgot %s: %d store row(s), %d cached transcript(s), %d file(s), %d log line(s)",
             call_id, rows, cache_files, len(removed), lines)
    return ForgetResult(call_id, rows, cache_files, tuple(removed), lines, tuple(rewritten))


def _compact(store: Store) -> None:
    # Deleted rows stay readable in SQLite's free pages and WAL until the file is rebuilt.
    if store.dialect != "sqlite":
        return
    # On the driver's connection: SQLAlchemy's begin hook would wrap VACUUM in a transaction.
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("VACUUM")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    finally:
        raw.close()


def _site_files(reports: Path, call_id: str) -> list[Path]:
    """The call's files in a report site: its page and audio copy (under either form of
    its slug) and its transcript copy."""
    from qa_pipeline.report.audio import REDACTED_MARK
    from qa_pipeline.report.filters import slugify

    plain = slugify(call_id)
    stems = {plain, f"{plain}-{hashlib.sha1(str(call_id).encode('utf-8')).hexdigest()[:8]}"}
    found = [reports / "transcripts" / transcript_file_name(call_id)]
    for folder in _SITE_FOLDERS:
        where = reports / folder
        if where.is_dir():
            found += [
                p for p in where.iterdir()
                if p.is_file() and (p.stem in stems or any(p.name.startswith(s + REDACTED_MARK) for s in stems))
            ]
    return found


def _rewrite_log(path: Path, call_id: str, recording: str) -> int:
    """Rewrite a JSON-lines log without the lines about the call; how many were dropped."""
    mention = re.compile(r"(?<![\w.-])" + re.escape(call_id) + r"(?![\w-])")
    kept: list[str] = []
    dropped = 0
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if _about(line, call_id, recording, mention):
                dropped += 1
            else:
                kept.append(line)
    if dropped:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(kept), encoding="utf-8")
        tmp.replace(path)
    return dropped


def _about(line: str, call_id: str, recording: str, mention: re.Pattern[str]) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if isinstance(record, dict) and record.get("call_id") == call_id:
        return True
    return recording in line or bool(mention.search(line))
