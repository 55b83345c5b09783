"""Reading the calls and criteria rows that statistics and reports read, out of the store.

Each scored call once, with its latest score (or its score for one scorecard), its criterion
results, its characteristics for the style profile and the events call pages draw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, and_, func, select

from qa_pipeline.callrecord import EVENTS_COLUMN, FRAME_EVENT_KINDS, STYLE_FRAME_COLUMNS
from qa_pipeline.store import schema
from qa_pipeline.store.records import CallStatus
from qa_pipeline.store.rows import EVENT_FIELDS, UNASSIGNED_TEAM, day_bounds, event_dict, frame_evidence


@dataclass(frozen=True)
class ScoreRows:
    """Scored calls' rows and their criteria rows, keyed by frame column name."""

    calls: list[dict[str, Any]]
    criteria: list[dict[str, Any]]


def score_rows(
    engine: Engine, period_from: date | datetime | None, period_to: date | datetime | None, scorecard_hash: str | None
) -> ScoreRows:
    """The rows of :meth:`Store.load_frames`, before they become frames."""
    c, s, r = schema.calls.c, schema.call_scores.c, schema.criterion_results.c
    if scorecard_hash:
        chosen = select(s.id).where(s.scorecard_hash == scorecard_hash)
    else:
        # Score ids only grow, so the largest is the latest.
        chosen = select(func.max(s.id)).group_by(s.call_pk)
    query = (
        select(
            c.id, c.call_id, c.agent_id, c.agent_name, c.team, c.started_at, c.duration_s, c.path,
            c.transcript_path, c.playback_path, c.speech_coverage, s.total, s.auto_failed, s.roles_inferred, s.language, s.scorecard_name,
            s.scorecard_hash, s.scored_at, s.events_recorded,
        )
        .select_from(schema.calls.join(schema.call_scores, s.call_pk == c.id))
        .where(s.id.in_(chosen), c.status == CallStatus.OK.value, s.total.is_not(None))
        .order_by(c.started_at, c.call_id)
    )
    start, end = day_bounds(period_from, period_to)
    if start is not None:
        query = query.where(c.started_at >= start)
    if end is not None:
        query = query.where(c.started_at < end)
    calls: list[dict[str, Any]] = []
    criteria: list[dict[str, Any]] = []
    with engine.connect() as conn:
        # Scores stored since the store kept events have them all (perhaps none); older
        # ones have none recorded, which call pages must not read as "no hold".
        by_pk: dict[int, dict[str, Any]] = {}
        for row in conn.execute(query):
            rec = {
                "call_id": row.call_id,
                "agent_id": row.agent_id,
                "agent_name": row.agent_name or row.agent_id,
                "team": row.team or UNASSIGNED_TEAM,
                "started_at": row.started_at,
                "duration_s": row.duration_s,
                "call_score": row.total,
                "critical_failed": bool(row.auto_failed),
                "roles_inferred": bool(row.roles_inferred),
                # What a listener may hear: the redacted copy when one was written.
                "audio_path": row.playback_path or row.path,
                "transcript_path": row.transcript_path,
                "language": row.language,
                "scorecard_name": row.scorecard_name,
                "scorecard_hash": row.scorecard_hash,
                "speech_coverage": row.speech_coverage,
                EVENTS_COLUMN: "[]" if row.events_recorded else None,
            }
            calls.append(rec)
            by_pk[row.id] = rec
        if not by_pk:
            return ScoreRows(calls, criteria)
        crit_query = (
            select(r.call_pk, r.scorecard_hash, r.criterion_id, r.title, r.verdict, r.points, r.max_points, r.evidence, r.missing)
            .join(schema.call_scores, and_(s.call_pk == r.call_pk, s.scorecard_hash == r.scorecard_hash))
            .where(s.id.in_(chosen), s.total.is_not(None))
            .order_by(r.call_pk, r.position)
        )
        for row in conn.execute(crit_query):
            call = by_pk.get(row.call_pk)
            if call is None or call["scorecard_hash"] != row.scorecard_hash:
                continue
            criteria.append(
                {
                    "call_id": call["call_id"],
                    "agent_id": call["agent_id"],
                    "agent_name": call["agent_name"],
                    "team": call["team"],
                    "started_at": call["started_at"],
                    "criterion_id": row.criterion_id,
                    "criterion_title": row.title,
                    "verdict": row.verdict,
                    "points": row.points,
                    "max_points": row.max_points,
                    "call_score": call["call_score"],
                    "duration_s": call["duration_s"],
                    "evidence": frame_evidence(row.evidence),
                    "missing": row.missing,
                }
            )
        # The characteristics measured with the same scorecard, for the style profile.
        ch = schema.characteristics.c
        style_query = (
            select(ch.call_pk, ch.scorecard_hash, *(getattr(ch, col) for col in STYLE_FRAME_COLUMNS))
            .join(schema.call_scores, and_(s.call_pk == ch.call_pk, s.scorecard_hash == ch.scorecard_hash))
            .where(s.id.in_(chosen), s.total.is_not(None))
        )
        for row in conn.execute(style_query):
            call = by_pk.get(row.call_pk)
            if call is not None and call["scorecard_hash"] == row.scorecard_hash:
                call.update({col: getattr(row, col) for col in STYLE_FRAME_COLUMNS})
        # The events call pages draw. Overlaps that are not interruptions (every
        # acknowledgement) stay in the store only: they are most of the rows and pages
        # show overlapping speech from the turns. Rows are passed on as stored; a page
        # checks its call's events when it reads them.
        ev = schema.call_events.c
        event_query = (
            select(ev.call_pk, ev.scorecard_hash, *(getattr(ev, k) for k in EVENT_FIELDS))
            .join(schema.call_scores, and_(s.call_pk == ev.call_pk, s.scorecard_hash == ev.scorecard_hash))
            .where(s.id.in_(chosen), s.total.is_not(None), ev.kind.in_(FRAME_EVENT_KINDS))
            .order_by(ev.call_pk, ev.position)
        )
        events: dict[int, list[dict[str, Any]]] = {}
        for row in conn.execute(event_query):
            call = by_pk.get(row.call_pk)
            if call is not None and call["scorecard_hash"] == row.scorecard_hash:
                events.setdefault(row.call_pk, []).append(event_dict(row._mapping))
        for pk, found in events.items():
            by_pk[pk][EVENTS_COLUMN] = json.dumps(found, ensure_ascii=False)
    return ScoreRows(calls, criteria)
