"""Conversions between store rows and records, and the small helpers the store's queries share.

Reading a row back as a :class:`StoredCall`, :class:`RunRecord` or :class:`CallMetadata`; call
events as stored; evidence as frames carry it; transcript file names; day bounds of a period.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

from qa_pipeline.callrecord import CallEvent
from qa_pipeline.metadata import CallMetadata
from qa_pipeline.scoring import CallScore
from qa_pipeline.store.records import CallStatus, ErrorKind, RunCounts, RunRecord, RunStatus, StoredCall

UNASSIGNED_TEAM = "unassigned"


def now() -> datetime:
    """The current UTC time without a zone, as the store's timestamps are kept."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def transcript_file_name(call_id: str) -> str:
    """A safe file name for a call's transcript (call ids may hold any character)."""
    import hashlib
    import re

    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", call_id).strip("._") or "call"
    if safe != call_id:
        safe = f"{safe[:80]}-{hashlib.sha256(call_id.encode()).hexdigest()[:8]}"
    return f"{safe}.json"


def frame_evidence(stored: str) -> str:
    """Evidence as the frames carry it: a JSON list of items that have a time.

    Notes without a time (``start`` null) stay in the store but not in frames, whose
    evidence items always point at a moment of the recording.
    """
    if '"start": null' not in stored and '"start":null' not in stored:
        return stored
    items = [e for e in json.loads(stored) if e.get("start") is not None]
    for e in items:
        if e.get("end") is None:
            e["end"] = e["start"]
    return json.dumps(items, ensure_ascii=False)


# The event fields kept in call_events, in CallEvent.to_dict's order.
EVENT_FIELDS: tuple[str, ...] = ("kind", "start_s", "end_s", "who", "source", "text", "announced_s", "thanked_s")


def event_row(event: CallEvent) -> dict[str, Any]:
    d = event.to_dict()
    return {k: d[k] for k in EVENT_FIELDS}


def event_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored event row as :meth:`CallEvent.from_dict` reads it."""
    return {k: row[k] for k in EVENT_FIELDS}



def day_bounds(period_from: date | datetime | None, period_to: date | datetime | None) -> tuple[datetime | None, datetime | None]:
    start = end = None
    if period_from is not None:
        start = period_from if isinstance(period_from, datetime) else datetime.combine(period_from, time())
    if period_to is not None:
        end = period_to if isinstance(period_to, datetime) else datetime.combine(period_to + timedelta(days=1), time())
    return start, end


def call_metadata(row: Any) -> CallMetadata:
    """A stored call's metadata as the batch planner builds it from a recording."""
    return CallMetadata(
        path=Path(row.path),
        call_id=row.call_id,
        agent_id=row.agent_id,
        agent_name=row.agent_name,
        team=row.team,
        started_at=row.started_at or datetime(1970, 1, 1),
        sources=json.loads(row.metadata or "{}"),
    )


def stored_call(row: Any, scored: bool) -> StoredCall:
    return StoredCall(
        pk=row.id,
        call_id=row.call_id,
        path=row.path,
        content_sha256=row.content_sha256,
        file_size=row.file_size,
        file_mtime_ns=row.file_mtime_ns,
        status=CallStatus(row.status),
        error=row.error,
        error_kind=None if row.error_kind is None else ErrorKind(row.error_kind),
        engine=row.engine,
        model=row.model,
        scored=scored,
        agent_id=row.agent_id,
        agent_name=row.agent_name,
        team=row.team,
        started_at=row.started_at,
    )


def run_record(row: Mapping[str, Any]) -> RunRecord:
    return RunRecord(
        id=row["id"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        status=RunStatus(row["status"]),
        recordings=row["recordings"],
        version=row["version"],
        options=json.loads(row["options"] or "{}"),
        counts=RunCounts(
            discovered=row["discovered"] or 0,
            skipped=row["skipped"] or 0,
            transcribed=row["transcribed"] or 0,
            from_cache=row["from_cache"] or 0,
            rescored=row["rescored"] or 0,
            succeeded=row["succeeded"] or 0,
            failed=row["failed"] or 0,
            audio_seconds=row["audio_seconds"] or 0.0,
        ),
        wall_seconds=row["wall_seconds"],
        log_path=row["log_path"],
        error=row["error"],
    )



def scorecard_hashes(scorecard_hash: str | Sequence[str] | None) -> tuple[str, ...]:
    if not scorecard_hash:
        return ()
    return (scorecard_hash,) if isinstance(scorecard_hash, str) else tuple(scorecard_hash)


def call_score(row: Mapping[str, Any], crit: Sequence[Mapping[str, Any]], chars: str, events: Sequence[Mapping[str, Any]]) -> CallScore:
    """A stored score rebuilt as a record from its ``call_scores`` row, criterion result rows,
    characteristics document and event rows."""
    return CallScore.from_dict(
        {
            "schema_version": 1,
            "scoring_version": row["scoring_version"],
            "call_id": row["call_id"],
            "scorecard": {"name": row["scorecard_name"], "hash": row["scorecard_hash"]},
            "language": row["language"],
            "total": row["total"],
            "points": row["points"],
            "max_points": row["max_points"],
            "auto_failed": row["auto_failed"],
            "auto_failed_by": json.loads(row["auto_failed_by"]),
            "roles_inferred": row["roles_inferred"],
            "roles_review": bool(row.get("roles_review")),
            "criteria": [
                {
                    "id": x["criterion_id"], "title": x["title"], "type": x["type"], "verdict": x["verdict"],
                    "points": x["points"], "max_points": x["max_points"], "credit": x["credit"],
                    "critical": x["critical"], "reason": x["reason"], "roles_inferred": x["roles_inferred"],
                    "roles_review": bool(x.get("roles_review")), "evidence": json.loads(x["evidence"]),
                }
                for x in crit
            ],
            "characteristics": json.loads(chars),
            "events": [event_dict(e) for e in events],
        }
    )
