"""Personal data already in a results store: which stored transcripts a redaction run must
redo, dropping results that quote the old text, and removing a call everywhere.

A store filled with redaction off (or with fewer entities, or by an older detector) holds
the raw text in its transcripts and in the evidence of every score. ``qa run --rescore``
with redaction on finds those calls here, redacts their transcripts and re-scores them;
the scores of other scorecards quote the old text, so they are dropped (the next
``--rescore`` with that scorecard makes them again from the redacted transcript).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from sqlalchemy import and_, delete, select

from qa_pipeline.log import get_logger
from qa_pipeline.pii.options import DETECTOR_VERSION, RedactionOptions

if TYPE_CHECKING:
    from qa_pipeline.metadata import CallMetadata
    from qa_pipeline.store import Store, StoredCall

log = get_logger("pii.stored")

# The reason a call is planned for re-scoring when its stored transcript must be redacted.
REDACTION_REASON = "redaction"


def needs_redaction(transcript_options: Mapping[str, Any] | None, options: RedactionOptions) -> bool:
    """Whether a stored transcript (by its ``options``) lacks part of the redaction asked for.

    True when redaction is on and the transcript was never redacted, was stored with
    redaction off, with fewer entities, or by an older detector.
    """
    if not options.enabled:
        return False
    record = (transcript_options or {}).get("redaction")
    if not isinstance(record, Mapping) or not record.get("enabled"):
        return True
    if not set(options.entities) <= set(record.get("entities") or ()):
        return True
    try:
        return int(record.get("version", 0)) < DETECTOR_VERSION
    except (TypeError, ValueError):
        return True


def calls_to_redact(
    store: "Store", options: RedactionOptions, since: date | None = None, include_failed: bool = False
) -> list[tuple["StoredCall", "CallMetadata"]]:
    """Stored calls whose transcript :func:`needs_redaction`, oldest first.

    Args:
        store: The results store.
        options: The redaction the run asks for.
        since: Only calls that started on or after this day.
        include_failed: Also calls whose last scoring failed.
    """
    from qa_pipeline.store import CallStatus, schema
    from qa_pipeline.store.rows import call_metadata, stored_call

    if not options.enabled:
        return []
    c, t = schema.calls.c, schema.transcripts.c
    query = (
        select(
            c.id, c.call_id, c.path, c.content_sha256, c.file_size, c.file_mtime_ns, c.status, c.error,
            c.error_kind, t.engine, t.model, c.agent_id, c.agent_name, c.team, c.started_at, c.metadata, t.options,
        )
        .select_from(schema.calls.join(schema.transcripts, t.call_pk == c.id))
        .order_by(c.started_at, c.call_id)
    )
    if not include_failed:
        query = query.where(c.status == CallStatus.OK.value)
    if since is not None:
        query = query.where(c.started_at >= datetime.combine(since, time()))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    out = []
    for row in rows:
        try:
            recorded = json.loads(row.options or "{}")
        except ValueError:
            recorded = {}
        if not needs_redaction(recorded if isinstance(recorded, dict) else {}, options):
            continue
        out.append((stored_call(row, scored=False), call_metadata(row)))
    return out


def drop_other_scores(store: "Store", call_id: str, keep_scorecard_hash: str) -> int:
    """Delete a call's scores, criterion results, characteristics and events of other scorecards.

    Their evidence quotes the transcript as it was before redaction.

    Returns:
        The number of scores deleted.
    """
    from qa_pipeline.store import schema

    c = schema.calls.c
    with store.engine.begin() as conn:
        pk = conn.execute(select(c.id).where(c.call_id == call_id)).scalar()
        if pk is None:
            return 0
        dropped = 0
        for table in schema.SCORE_TABLES:
            result = conn.execute(
                delete(table).where(and_(table.c.call_pk == pk, table.c.scorecard_hash != keep_scorecard_hash))
            )
            if table is schema.call_scores:
                dropped = int(result.rowcount or 0)
    if dropped:
        log.info("%s: dropped %d score(s) of other scorecards that quoted unredacted text", call_id, dropped)
    return dropped


def remove_report_pdfs(reports_dir: str | Path) -> list[Path]:
    """Delete the report site's PDFs (team and agents): they quote transcripts as they were
    when rendered, and a refresh only writes the team PDF when asked.

    Returns:
        The deleted files.
    """
    removed = []
    root = Path(reports_dir)
    if root.is_dir():
        for path in sorted(root.rglob("*.pdf")):
            path.unlink()
            removed.append(path)
    return removed
