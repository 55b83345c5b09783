"""The scoring → store → report contract: frame columns, typed evidence, timed call events."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from batch_support import SCORECARD, held_result, stored_result
from transcript_factory import make_transcript
from qa_pipeline import callrecord
from qa_pipeline.callrecord import CallEvent, EventKind, EventParty, EvidenceKind, parse_events
from qa_pipeline.criteria.base import Evidence
from qa_pipeline.errors import ConfigError, ReportError
from qa_pipeline.report.callview import build_call_view
from qa_pipeline.scorecard import load_scorecard
from qa_pipeline.scoring import CallScore, score_transcript
from qa_pipeline.stats import frames as stats_frames
from qa_pipeline.stats import prepare_frames
from qa_pipeline.store import Store, schema
from qa_pipeline.store.migrations import MIGRATIONS

CARD = load_scorecard(SCORECARD)


def _held_transcript(call_id: str = "held1"):
    return held_result(call_id, CARD).transcript


def _held_result(call_id: str = "held1"):
    return held_result(call_id, CARD)


# --------------------------------------------------------------------------- columns
def test_both_sides_read_the_columns_from_one_module() -> None:
    from qa_pipeline import store

    assert store.CALL_FRAME_COLUMNS is callrecord.CALL_FRAME_COLUMNS
    assert stats_frames.CALL_COLUMNS is callrecord.CALL_COLUMNS
    assert stats_frames.CRITERIA_COLUMNS is callrecord.CRITERIA_COLUMNS
    # Statistics validate a subset of what the store gives.
    assert set(callrecord.CALL_COLUMNS) < set(callrecord.CALL_FRAME_COLUMNS)
    assert set(callrecord.CRITERIA_COLUMNS) < set(callrecord.CRITERIA_FRAME_COLUMNS)
    assert callrecord.STYLE_COLUMNS[: len(callrecord.STYLE_FRAME_COLUMNS)] == callrecord.STYLE_FRAME_COLUMNS


def test_exported_columns_keep_their_documented_order() -> None:
    from qa_pipeline import results_export

    # As docs/batch.md and qa_pipeline/results_export.py list them: files written before read the same.
    assert results_export.CALLS_EXPORT_COLUMNS == (
        "call_id", "agent_id", "agent_name", "team", "started_at", "duration_s", "call_score", "critical_failed",
        "roles_inferred", "audio_path", "transcript_path", "language", "scorecard_name", "scorecard_hash",
        "speech_coverage", "agent_speed_per_min", "agent_talk_share", "interruptions", "non_talk_s",
    )
    assert results_export.CRITERIA_EXPORT_COLUMNS == (
        "call_id", "agent_id", "agent_name", "team", "started_at", "criterion_id", "criterion_title", "verdict",
        "points", "max_points", "call_score", "duration_s", "evidence", "missing",
    )
    assert callrecord.CALL_COLUMNS == (
        "call_id", "agent_id", "team", "agent_name", "started_at", "duration_s", "call_score", "critical_failed",
        "roles_inferred", "audio_path", "transcript_path",
    )


def test_store_frames_have_exactly_the_declared_columns(tmp_path: Path) -> None:
    with Store.open(tmp_path / "qa.db") as s:
        s.save_call(_held_result())
        calls, criteria = s.load_frames()
    assert tuple(calls.columns) == callrecord.LOADED_CALL_COLUMNS
    assert tuple(criteria.columns) == callrecord.CRITERIA_FRAME_COLUMNS
    frames = prepare_frames(calls, criteria)
    assert tuple(frames.criteria.columns) == callrecord.CRITERIA_COLUMNS
    assert tuple(frames.calls.columns) == (
        callrecord.CALL_COLUMNS + callrecord.STYLE_FRAME_COLUMNS + (callrecord.EVENTS_COLUMN,)
    )


# --------------------------------------------------------------------------- evidence
def test_evidence_reads_back_as_the_same_typed_record() -> None:
    ev = Evidence("missing", "no thank-you", None, 1.0, 2.0, "", "")
    assert ev.kind is EvidenceKind.MISSING
    assert Evidence.from_dict(json.loads(json.dumps(ev.to_dict()))) == ev
    with pytest.raises(ConfigError, match=r"call c1, criterion greeting: unknown evidence kind 'quote'"):
        Evidence.from_dict({"kind": "quote", "rule": "x"}, "call c1, criterion greeting")
    with pytest.raises(ConfigError, match="unknown evidence kind 'quote'"):
        Evidence("quote", "x")


def test_frame_evidence_kind_is_checked_on_read() -> None:
    items = stats_frames.parse_evidence('[{"kind": "event", "start": 1, "end": 2, "rule": "hold 1"}]')
    assert items[0].kind is EvidenceKind.EVENT
    assert stats_frames.parse_evidence('[{"start": 1}]')[0].kind is EvidenceKind.MATCH  # hand-made tables
    with pytest.raises(ReportError, match="row 7: bad evidence item.*unknown evidence kind 'guess'"):
        stats_frames.parse_evidence('[{"kind": "guess", "start": 1}]', "row 7")


# --------------------------------------------------------------------------- events
def test_call_event_is_validated() -> None:
    ok = CallEvent.from_dict({"kind": "hold", "start_s": 1, "end_s": 20, "who": "both", "source": "hold_etiquette"})
    assert ok.kind is EventKind.HOLD and ok.who is EventParty.BOTH and ok.duration_s == 19.0
    assert CallEvent.from_dict(ok.to_dict()) == ok
    with pytest.raises(ConfigError, match="call c1, event 2: kind must be one of hold, silence"):
        CallEvent.from_dict({"kind": "music", "start_s": 1, "end_s": 2, "who": "both"}, "call c1, event 2")
    with pytest.raises(ConfigError, match="who must be one of agent, customer, both"):
        CallEvent.from_dict({"kind": "hold", "start_s": 1, "end_s": 2, "who": "caller"})
    with pytest.raises(ConfigError, match="ends .* before it starts"):
        CallEvent(EventKind.SILENCE, 5.0, 4.0, EventParty.BOTH, "characteristics")
    with pytest.raises(ConfigError, match="start_s must be a number of seconds"):
        CallEvent.from_dict({"kind": "hold", "start_s": "soon", "end_s": 2, "who": "both"})
    with pytest.raises(ConfigError, match="event without end_s"):
        CallEvent.from_dict({"kind": "hold", "start_s": 1, "who": "both"})
    assert parse_events(None) is None and parse_events(float("nan")) is None and parse_events("[]") == ()
    with pytest.raises(ConfigError, match="call x: events are not JSON"):
        parse_events("[{", "call x")


def test_scoring_gives_holds_from_the_hold_criterion_and_measured_events() -> None:
    score = score_transcript(_held_transcript(), CARD)
    holds = [e for e in score.events if e.kind is EventKind.HOLD]
    assert len(holds) == 1
    hold = holds[0]
    measured = score.characteristics.holds[0]
    assert (hold.start_s, hold.end_s) == (measured.start, measured.end)
    assert hold.source == "hold_etiquette" and hold.who is EventParty.BOTH
    assert hold.announced_s is not None and 8.0 <= hold.announced_s < hold.start_s
    assert hold.thanked_s is not None and hold.end_s - 1.0 <= hold.thanked_s <= hold.end_s + 20.0
    # Every measured hold, silence and interruption is there, in time order.
    assert len(score.events) == len(score.characteristics.events())
    assert list(score.events) == sorted(score.events, key=lambda e: (e.start_s, e.end_s, e.kind.value, e.who.value, e.source, e.text))
    assert score_transcript(_held_transcript(), CARD).to_json() == score.to_json()  # deterministic


def test_score_json_round_trips_events_and_old_json_loads_without_them() -> None:
    score = score_transcript(_held_transcript(), CARD)
    back = CallScore.from_dict(json.loads(score.to_json()))
    assert back.events == score.events and back.to_json() == score.to_json()
    old = json.loads(score.to_json())
    del old["events"]
    assert CallScore.from_dict(old).events == ()


def test_interruptions_become_events_with_who() -> None:
    t = make_transcript(
        [
            ("customer", 0.0, "I have been waiting for a refund for three weeks and nobody has called me back about it"),
            ("agent", 1.5, "Let me stop you there, I can see the refund here"),
        ],
        duration=10.0,
    )
    score = score_transcript(t, CARD)
    cut = [e for e in score.events if e.kind is EventKind.INTERRUPTION]
    assert [(e.who, e.start_s) for e in cut] == [(EventParty(i.interrupter.value), i.start) for i in score.characteristics.interruptions]
    assert cut and cut[0].who is EventParty.AGENT


# --------------------------------------------------------------------------- store
def test_migration_adds_the_events_table_to_an_older_store(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with Store.open(db) as s:
        s.save_call(stored_result(1, CARD))
    engine = create_engine(f"sqlite:///{db}")
    # The store an earlier version left: no events table, migration not recorded.
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE call_events"))
        conn.execute(text("ALTER TABLE call_scores DROP COLUMN events_recorded"))
        conn.execute(text("DELETE FROM schema_migrations WHERE name = '0007_call_events'"))
    assert "call_events" not in inspect(engine).get_table_names()
    assert "0007_call_events" in MIGRATIONS.names
    with Store.open(db) as s:
        old = s.score("c00001")
        calls, criteria = s.load_frames()
        s.save_call(_held_result())
        new = s.score("held1")
        after, _ = s.load_frames()
    with engine.connect() as conn:
        applied = set(conn.execute(text("SELECT name FROM schema_migrations")).scalars())
    engine.dispose()
    assert "0007_call_events" in applied
    # The old call is kept, with no events recorded: its page falls back to evidence.
    assert old is not None and old.events == () and old.total is not None
    assert list(calls["call_id"]) == ["c00001"] and parse_events(calls.loc[0, "events"]) is None and len(criteria)
    assert new is not None and new.events
    # Scored since: events known, so a page draws from them (an empty list is "none").
    known = after.set_index("call_id")["events"]
    assert parse_events(known["c00001"]) is None and parse_events(known["held1"]) == tuple(
        e for e in new.events if e.kind.value in callrecord.FRAME_EVENT_KINDS
    )


def test_forget_deletes_the_events(tmp_path: Path) -> None:
    from qa_pipeline.pii.forget import forget_call

    with Store.open(tmp_path / "qa.db") as s:
        s.save_call(_held_result())
        s.save_call(stored_result(2, CARD))
        with s.engine.connect() as conn:
            before = dict(conn.execute(text(
                "SELECT c.call_id, COUNT(e.id) FROM calls c LEFT JOIN call_events e ON e.call_pk = c.id GROUP BY c.call_id"
            )).all())
        forget_call(s, "held1")
        with s.engine.connect() as conn:
            after = dict(conn.execute(text(
                "SELECT c.call_id, COUNT(e.id) FROM call_events e JOIN calls c ON e.call_pk = c.id GROUP BY c.call_id"
            )).all())
            orphans = conn.execute(text(
                "SELECT COUNT(*) FROM call_events WHERE call_pk NOT IN (SELECT id FROM calls)"
            )).scalar()
    assert before["held1"] > 0
    assert "held1" not in after and orphans == 0
    assert after.get("c00002", 0) == before["c00002"]


def test_other_scorecards_events_are_dropped_with_their_scores(tmp_path: Path) -> None:
    from qa_pipeline.pii.stored import drop_other_scores

    with Store.open(tmp_path / "qa.db") as s:
        s.save_call(_held_result())
        with s.engine.begin() as conn:
            conn.execute(text("UPDATE call_events SET scorecard_hash = 'other'"))
        assert drop_other_scores(s, "held1", CARD.content_hash) == 0
        with s.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM call_events")).scalar() == 0
        assert schema.call_events in schema.SCORE_TABLES


# --------------------------------------------------------------------------- call page
def _page(tmp_path: Path, events: str | None):
    transcript = _held_transcript()
    call = {"call_id": "held1", "audio_path": None, "events": events}
    # Evidence that does not say "hold": a page can only find the hold from the event.
    rows = [{"criterion_id": "c", "criterion_title": "Polite", "verdict": "pass", "points": 1.0, "max_points": 1.0,
             "evidence": json.dumps([{"kind": "match", "speaker": "agent", "start": 0.5, "end": 2.0, "text": "Thank you", "rule": "polite"}]),
             "missing": None}]
    return build_call_view(call, rows, transcript, tmp_path)


def test_call_page_draws_a_hold_from_a_stored_event(tmp_path: Path) -> None:
    event = CallEvent(EventKind.HOLD, 11.2, 31.9, EventParty.BOTH, "hold_etiquette", "", 8.0, 32.0)
    cut = CallEvent(EventKind.INTERRUPTION, 36.0, 36.8, EventParty.CUSTOMER, "characteristics")
    view = _page(tmp_path, callrecord.events_json([event, cut]))
    svg = str(view.timeline)
    assert svg.count('class="hold"') == 1
    assert "hold 20.7 s at 0:11; announced at 0:08; caller thanked at 0:32" in svg
    assert 'class="interruption"' in svg and "customer interrupted the agent at 0:36" in svg
    # The same gap without events and without hold evidence is silence, as before.
    before = str(_page(tmp_path, None).timeline)
    assert 'class="hold"' not in before and 'class="silence"' in before and 'class="interruption"' not in before


def test_a_call_with_no_events_has_no_hold_whatever_its_evidence_says(tmp_path: Path) -> None:
    transcript = held_result("held1", CARD).transcript
    rows = [{"criterion_id": "f", "criterion_title": "No frustration", "verdict": "fail", "points": 0.0, "max_points": 1.0,
             "evidence": json.dumps([{"kind": "match", "speaker": "customer", "start": 10.5, "end": 11.0, "text": "Sure.",
                                      "rule": "customer has been on hold"}]), "missing": None}]
    scored_before = build_call_view({"call_id": "held1", "audio_path": None, "events": None}, rows, transcript, tmp_path)
    scored_since = build_call_view({"call_id": "held1", "audio_path": None, "events": "[]"}, rows, transcript, tmp_path)
    assert 'class="hold"' in str(scored_before.timeline)  # the old guess from evidence text
    assert 'class="hold"' not in str(scored_since.timeline) and 'class="silence"' in str(scored_since.timeline)


def test_call_page_names_the_call_with_bad_events(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="call held1, event 1: kind must be one of"):
        _page(tmp_path, '[{"kind": "music", "start_s": 1, "end_s": 2, "who": "both"}]')
