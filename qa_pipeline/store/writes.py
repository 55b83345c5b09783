"""Writing one call: its row, transcript, characteristics, score, criterion results and events.

The caller holds the transaction (:meth:`Store.save_call`), so a crash leaves either all of a
call's rows or none of them.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, select, update

from qa_pipeline.scoring import CallScore
from qa_pipeline.store import schema
from qa_pipeline.store.records import CallResult
from qa_pipeline.store.rows import event_row, now


def save_call_rows(conn: Connection, result: CallResult, run_id: int | None, pk: int | None) -> int:
    """Write one call within ``conn``'s transaction (see :meth:`Store.save_call`).

    Returns:
        The call's row id.
    """
    meta = result.meta
    if pk is None:
        found = conn.execute(_CALL_BY_ID, {"b_call_id": meta.call_id}).first()
        old_sha = None if found is None else found.content_sha256
        pk = None if found is None else found.id
    else:
        old_sha = conn.execute(_CALL_SHA, {"b_pk": pk}).scalar()
    tm = result.timings
    values: dict[str, Any] = {
        "call_id": meta.call_id,
        "path": str(meta.path),
        "content_sha256": result.content_sha256,
        "file_size": result.file_size,
        "file_mtime_ns": result.file_mtime_ns,
        "agent_id": meta.agent_id,
        "agent_name": meta.agent_name,
        "team": meta.team,
        "started_at": meta.started_at,
        "metadata": json.dumps(dict(meta.sources), sort_keys=True),
        "status": result.status.value,
        "error": result.error,
        "error_kind": None if result.error_kind is None else result.error_kind.value,
        "run_id": run_id,
        "updated_at": now(),
        "hash_s": tm.hash_s,
        "decode_s": tm.decode_s,
        "asr_s": tm.asr_s,
        "merge_s": tm.merge_s,
        "score_s": tm.score_s,
        "cached": tm.cached,
    }
    tr = result.transcript
    if result.playback_path is not None:
        values["playback_path"] = result.playback_path or None
    if tr is not None:
        values.update(
            duration_s=tr.duration,
            channels=tr.audio.channels,
            sample_rate=tr.audio.sample_rate,
            codec=tr.audio.codec,
            roles_source=tr.roles.source.value,
            roles_method=tr.roles.method,
            roles_confidence=tr.roles.confidence,
            roles_review=tr.roles.review,
            transcript_path=result.transcript_path,
            speech_coverage=None if tr.coverage is None else round(tr.coverage.lowest, 4),
            coverage_review=None if tr.coverage is None else tr.coverage.review,
        )
    if pk is None:
        pk = int(conn.execute(_INSERT_CALL, values).inserted_primary_key[0])
    else:
        if old_sha != result.content_sha256:
            # New audio under a known call: what was stored belongs to the old recording.
            for stmt in _DELETE_RESULTS:
                conn.execute(stmt, {"b_pk": pk})
            if tr is None:
                values.update(duration_s=None, channels=None, sample_rate=None, codec=None, roles_source=None,
                              roles_method=None, roles_confidence=None, roles_review=None, transcript_path=None,
                              speech_coverage=None, coverage_review=None)
        elif tr is not None:
            conn.execute(_DELETE_TRANSCRIPT, {"b_pk": pk})
        conn.execute(_UPDATE_CALL, {**values, "b_pk": pk})
    if tr is not None:
        document = result.transcript_json
        if document is None:
            document = json.dumps(tr.to_dict(), ensure_ascii=False, separators=(",", ":"))
        conn.execute(
            _INSERT_TRANSCRIPT,
            {
                "call_pk": pk,
                "engine": tr.engine,
                "model": tr.model,
                "language": tr.language,
                "options": json.dumps(tr.options, sort_keys=True, default=str),
                "content_sha256": result.content_sha256,
                "transcript": document,
                "created_at": now(),
                "run_id": run_id,
            },
        )
    if result.score is not None:
        write_score(conn, pk, result.score, run_id, fresh=old_sha != result.content_sha256)
    return pk


def write_score(conn: Connection, pk: int, score: CallScore, run_id: int | None, fresh: bool = False) -> None:
    """Write a call's score rows, replacing its older ones for the same scorecard unless ``fresh``."""
    card = score.scorecard_hash
    if not fresh:
        for stmt in _DELETE_SCORE:
            conn.execute(stmt, {"b_pk": pk, "b_card": card})
    ch = score.characteristics
    conn.execute(
        _INSERT_CHARACTERISTICS,
        {
            "call_pk": pk,
            "scorecard_hash": card,
            "duration_s": ch.duration_seconds,
            "agent_talk_s": ch.agent.talk_time_seconds,
            "customer_talk_s": ch.customer.talk_time_seconds,
            "agent_talk_share": ch.agent_talk_share,
            "non_talk_s": ch.non_talk_time_seconds,
            "holds": len(ch.holds),
            "hold_s": ch.hold_time_seconds,
            "interruptions": len(ch.interruptions),
            "agent_speed_per_min": ch.agent.talk_speed_per_minute,
            "customer_speed_per_min": ch.customer.talk_speed_per_minute,
            "data": json.dumps(ch.to_dict(), ensure_ascii=False, sort_keys=True),
        },
    )
    conn.execute(
        _INSERT_SCORE,
        {
            "call_pk": pk,
            "scorecard_name": score.scorecard_name,
            "scorecard_hash": card,
            "language": score.language,
            "total": score.total,
            "points": score.points,
            "max_points": score.max_points,
            "auto_failed": score.auto_failed,
            "auto_failed_by": json.dumps(list(score.auto_failed_by)),
            "roles_inferred": score.roles_inferred,
            "roles_review": score.roles_review,
            "scoring_version": score.scoring_version,
            "scored_at": now(),
            "events_recorded": True,
            "run_id": run_id,
        },
    )
    rows = []
    for position, r in enumerate(score.results):
        missing = "; ".join(e.rule for e in r.evidence if e.kind == "missing") if r.verdict.value == "fail" else ""
        rows.append(
            {
                "call_pk": pk,
                "scorecard_hash": card,
                "criterion_id": r.id,
                "position": position,
                "title": r.title,
                "type": r.type,
                "verdict": r.verdict.value,
                "points": r.points,
                "max_points": r.max_points,
                "credit": r.credit,
                "critical": r.critical,
                "reason": r.reason,
                "evidence": json.dumps([e.to_dict() for e in r.evidence], ensure_ascii=False),
                "missing": missing or None,
                "roles_inferred": r.roles_inferred,
                "roles_review": r.roles_review,
            }
        )
    if rows:
        conn.execute(_INSERT_CRITERIA, rows)
    events = [
        {"call_pk": pk, "scorecard_hash": card, "position": position, **event_row(e)}
        for position, e in enumerate(score.events)
    ]
    if events:
        conn.execute(_INSERT_EVENTS, events)


# Statements built once: a save runs them thousands of times a night.
_C = schema.calls.c
_CALL_BY_ID = select(_C.id, _C.content_sha256).where(_C.call_id == bindparam("b_call_id"))
_CALL_SHA = select(_C.content_sha256).where(_C.id == bindparam("b_pk"))
_INSERT_CALL = insert(schema.calls)
_UPDATE_CALL = update(schema.calls).where(_C.id == bindparam("b_pk"))
_INSERT_TRANSCRIPT = insert(schema.transcripts)
_INSERT_CHARACTERISTICS = insert(schema.characteristics)
_INSERT_SCORE = insert(schema.call_scores)
_INSERT_CRITERIA = insert(schema.criterion_results)
_INSERT_EVENTS = insert(schema.call_events)
_DELETE_TRANSCRIPT = delete(schema.transcripts).where(schema.transcripts.c.call_pk == bindparam("b_pk"))
_DELETE_RESULTS = tuple(
    delete(t).where(t.c.call_pk == bindparam("b_pk"))
    for t in (*schema.SCORE_TABLES, schema.transcripts)
)
_DELETE_SCORE = tuple(
    delete(t).where(and_(t.c.call_pk == bindparam("b_pk"), t.c.scorecard_hash == bindparam("b_card")))
    for t in schema.SCORE_TABLES
)
