"""The results store: migrations, one-transaction saves, unique constraints, queries, frames."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from batch_support import SCORECARD, held_result, revised_scorecard, stored_result
from qa_pipeline.errors import ConfigError, ReportError, StoreError
from qa_pipeline.scorecard import load_scorecard, parse_scorecard
from qa_pipeline.stats import prepare_frames
from qa_pipeline.store import (
    CALL_FRAME_COLUMNS,
    CRITERIA_FRAME_COLUMNS,
    LOADED_CALL_COLUMNS,
    CallResult,
    CallStatus,
    ErrorKind,
    RunCounts,
    RunStatus,
    Store,
    database_url,
    read_frames,
    schema,
)
from qa_pipeline.store.migrations import MIGRATIONS, Migration, Migrations

CARD = load_scorecard(SCORECARD)


def _other_card():
    """The default scorecard with one title changed: a new content hash."""
    return parse_scorecard(revised_scorecard()[0])


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return str(tmp_path / "qa.db")


@pytest.fixture
def store(db_url: str):
    with Store.open(db_url) as s:
        yield s


# --------------------------------------------------------------------------- opening and migrations
def test_database_urls(tmp_path: Path) -> None:
    assert database_url(tmp_path / "x.db").render_as_string() == f"sqlite:///{tmp_path / 'x.db'}"
    assert database_url("postgresql://u:secret@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(ConfigError, match="unsupported database 'mysql'"):
        database_url("mysql://h/db")


def test_sqlite_store_uses_wal_and_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no results store here"):
        Store.open(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()
    with Store.open(tmp_path / "sub" / "qa.db") as s:
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        names = set(inspect(s.engine).get_table_names())
    assert {"calls", "transcripts", "characteristics", "criterion_results", "call_scores", "runs", "schema_migrations"} <= names


def test_migrations_are_recorded_once(store: Store) -> None:
    with store.engine.connect() as conn:
        applied = list(conn.execute(select(schema.migrations_table.c.name)).scalars())
    assert applied == MIGRATIONS.names
    assert MIGRATIONS.apply(store.engine) == []  # idempotent


def test_an_older_store_gets_the_rejections_table_and_keeps_its_calls(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with Store.open(db) as s:
        s.save_call(stored_result(1, CARD))
        run_id = s.start_run("rec", {})
    with Store.open(db) as s, s.engine.begin() as conn:
        # What a version before 0008_run_rejections left behind.
        conn.execute(text("DROP TABLE run_rejections"))
        conn.execute(text("DELETE FROM schema_migrations WHERE name = '0008_run_rejections'"))
    with Store.open(db) as s:
        assert "run_rejections" in inspect(s.engine).get_table_names()
        assert s.rejections() == []
        s.save_rejection(run_id, "c00001", "/rec/b.wav", "/rec/b.wav: call_id 'c00001' is already used", ErrorKind.METADATA)
        s.save_rejection(run_id, "c00001", "/rec/b.wav", "/rec/b.wav: call_id 'c00001' is already used", ErrorKind.METADATA)
        assert [(r.call_id, r.path, r.run_id) for r in s.rejections()] == [("c00001", "/rec/b.wav", run_id)]
        assert s.score("c00001") is not None


def test_migrations_refuse_duplicate_names() -> None:
    m = Migrations()
    m.add(Migration("0001_a", lambda conn: None))
    with pytest.raises(ConfigError, match="'0001_a' is registered twice"):
        m.add(Migration("0001_a", lambda conn: None))


def test_failed_migration_rolls_back_entirely(tmp_path: Path) -> None:
    m = Migrations()
    m.add(Migration("0001_one", lambda conn: conn.execute(text("CREATE TABLE one (x INTEGER)"))))

    def broken(conn) -> None:
        conn.execute(text("CREATE TABLE two (x INTEGER)"))
        conn.execute(text("INSERT INTO nowhere VALUES (1)"))

    m.add(Migration("0002_broken", broken))
    with pytest.raises(StoreError, match="migration 0002_broken failed and was rolled back"):
        Store.open(tmp_path / "m.db", migrations=m)
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    tables = set(inspect(engine).get_table_names())
    assert "one" in tables and "two" not in tables  # the failed migration left no table
    with engine.connect() as conn:
        assert list(conn.execute(text("SELECT name FROM schema_migrations")).scalars()) == ["0001_one"]
    engine.dispose()


def test_store_written_by_a_newer_version_is_refused(tmp_path: Path) -> None:
    newer = Migrations()
    for m in MIGRATIONS._items:
        newer.add(m)
    newer.add(Migration("9999_future", lambda conn: None))
    Store.open(tmp_path / "n.db", migrations=newer).close()
    with pytest.raises(StoreError, match="newer qa_pipeline.*9999_future"):
        Store.open(tmp_path / "n.db")


# --------------------------------------------------------------------------- saving calls
def _rows(store: Store) -> dict[str, int]:
    counts = store.counts()
    return {k: counts[k] for k in ("calls", "transcripts", "characteristics", "call_scores", "criterion_results")}


def test_save_call_writes_every_table_once_and_is_idempotent(store: Store) -> None:
    result = stored_result(1, CARD)
    run = store.start_run("/rec", {"workers": 1})
    pk = store.save_call(result, run)
    n = len(CARD.criteria)
    assert _rows(store) == {"calls": 1, "transcripts": 1, "characteristics": 1, "call_scores": 1, "criterion_results": n}
    assert store.save_call(result, run) == pk  # saving again replaces, never duplicates
    assert _rows(store) == {"calls": 1, "transcripts": 1, "characteristics": 1, "call_scores": 1, "criterion_results": n}
    assert store.transcript(result.meta.call_id) == result.transcript
    again = store.score(result.meta.call_id)
    assert again is not None and again.to_dict() == result.score.to_dict()
    known = store.known_calls(CARD.content_hash)
    assert len(known) == 1 and known[0].scored and known[0].engine == "test" and known[0].status is CallStatus.OK
    assert not store.known_calls("f" * 64)[0].scored


def test_unique_constraints_make_duplicates_impossible(store: Store) -> None:
    pk = store.save_call(stored_result(1, CARD))
    c = schema.criterion_results.c
    with store.engine.connect() as conn:
        row = dict(conn.execute(select(schema.criterion_results).where(c.call_pk == pk).limit(1)).mappings().one())
    row.pop("id")
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(schema.criterion_results).values(**row))
    with store.engine.connect() as conn:
        call = dict(conn.execute(select(schema.calls)).mappings().one())
    for column, value in (("call_id", "other"), ("content_sha256", "e" * 64)):
        dup = dict(call, id=None)
        dup.pop("id")
        dup[column] = value  # differs in one unique column, repeats the other
        with pytest.raises(IntegrityError), store.engine.begin() as conn:
            conn.execute(insert(schema.calls).values(**dup))
    assert _rows(store)["calls"] == 1


def test_a_save_is_one_transaction(store: Store) -> None:
    good = stored_result(1, CARD)
    store.save_call(good)
    # A score whose criteria repeat an id violates a unique constraint half-way through the
    # write: nothing of the second call may remain.
    bad_score = replace(good.score, call_id="c00002", results=good.score.results + good.score.results[:1])
    bad = replace(stored_result(2, CARD), score=bad_score)
    with pytest.raises(StoreError, match="cannot save call 'c00002'"):
        store.save_call(bad)
    assert _rows(store)["calls"] == 1 and _rows(store)["transcripts"] == 1
    assert [k.call_id for k in store.known_calls()] == ["c00001"]


def test_new_audio_for_a_known_call_replaces_its_results(store: Store) -> None:
    first = stored_result(1, CARD)
    store.save_call(first)
    changed = replace(first, content_sha256="d" * 64, score=None, transcript=None, status=CallStatus.FAILED,
                      error="/rec/c00001.wav: truncated", error_kind=ErrorKind.AUDIO)
    store.save_call(changed)
    assert _rows(store) == {"calls": 1, "transcripts": 0, "characteristics": 0, "call_scores": 0, "criterion_results": 0}
    [failed] = store.failures()
    assert failed.error == "/rec/c00001.wav: truncated" and failed.error_kind is ErrorKind.AUDIO


def test_rescoring_keeps_history_and_frames_use_the_latest(store: Store) -> None:
    result = stored_result(1, CARD, greeting=False)
    store.save_call(result)
    other = _other_card()
    assert other.content_hash != CARD.content_hash
    from qa_pipeline.scoring import score_transcript

    rescored = replace(result, transcript=None, score=score_transcript(result.transcript, other))
    store.save_call(rescored)
    rows = _rows(store)
    assert rows["call_scores"] == 2 and rows["criterion_results"] == 2 * len(CARD.criteria) and rows["transcripts"] == 1
    calls, criteria = store.load_frames()
    assert list(calls["scorecard_hash"]) == [other.content_hash]
    assert revised_scorecard()[1] in set(criteria["criterion_title"])
    calls_old, criteria_old = store.load_frames(scorecard_hash=CARD.content_hash)
    assert list(calls_old["scorecard_hash"]) == [CARD.content_hash]
    assert CARD.criteria[0].title in set(criteria_old["criterion_title"])
    greeting = criteria_old.set_index("criterion_id").loc["greeting"]
    assert greeting["verdict"] == "fail" and greeting["missing"]  # what was looked for and not found


def test_events_round_trip_through_the_store(store: Store) -> None:
    from qa_pipeline.callrecord import EventKind, parse_events

    result = held_result("held1", CARD)
    assert any(e.kind is EventKind.HOLD and e.announced_s is not None for e in result.score.events)
    store.save_call(result)
    back = store.score("held1")
    calls, _ = store.load_frames()
    # Saving the same score again replaces the events rather than adding to them.
    store.save_call(replace(result, transcript=None))
    assert store.score("held1").events == result.score.events
    with store.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(schema.call_events)).scalar()
    assert back is not None and back.events == result.score.events
    assert stored == len(result.score.events)
    # Frames carry what call pages draw; overlaps that are not interruptions stay in the store.
    assert parse_events(calls.loc[0, "events"]) == tuple(e for e in result.score.events if e.kind is not EventKind.OVERLAP)


def test_frames_follow_the_stats_contract(store: Store) -> None:
    for n in range(6):
        store.save_call(stored_result(n, CARD, greeting=n % 2 == 0))
    store.save_call(replace(stored_result(99, CARD), status=CallStatus.FAILED, transcript=None, score=None, error="x", error_kind=ErrorKind.AUDIO))
    calls, criteria = store.load_frames()
    assert tuple(calls.columns) == LOADED_CALL_COLUMNS and tuple(criteria.columns) == CRITERIA_FRAME_COLUMNS
    assert LOADED_CALL_COLUMNS == CALL_FRAME_COLUMNS + ("events",)  # exports keep their columns
    assert len(calls) == 6 and len(criteria) == 6 * len(CARD.criteria)
    assert str(calls["started_at"].dtype) == "datetime64[ns]"
    frames = prepare_frames(calls, criteria)
    assert set(frames.criteria["verdict"]) <= {"pass", "fail", "na"}
    for ev in criteria["evidence"]:
        assert all(item["start"] is not None for item in json.loads(ev))
    only = store.load_frames(date(2024, 3, 2), date(2024, 3, 3))[0]
    assert list(only["call_id"]) == ["c00001", "c00002"]


def test_read_frames_for_reports(db_url: str, store: Store) -> None:
    with pytest.raises(ReportError, match="no scored calls yet"):
        read_frames(db_url)
    store.save_call(stored_result(1, CARD))
    frames = read_frames(db_url)
    assert list(frames.calls["call_id"]) == ["c00001"]


def test_runs_are_recorded_and_killed_runs_marked(store: Store) -> None:
    first = store.start_run("/rec", {"workers": 2})
    second = store.start_run("/rec", {"workers": 1})
    store.finish_run(second, RunStatus.OK, RunCounts(discovered=3, skipped=1, transcribed=2, succeeded=2, audio_seconds=90), 4.5)
    assert store.mark_interrupted_runs() == [first]
    runs = {r.id: r for r in store.runs()}
    assert runs[first].status is RunStatus.INTERRUPTED and runs[first].ended_at is None
    done = runs[second]
    assert done.status is RunStatus.OK and done.counts.succeeded == 2 and done.options == {"workers": 1}
    assert done.wall_seconds == pytest.approx(4.5) and done.version


def test_transcript_copies_for_reports(store: Store, tmp_path: Path) -> None:
    store.save_call(stored_result(1, CARD))
    store.save_call(replace(stored_result(2, CARD), meta=replace(stored_result(2, CARD).meta, call_id="odd/id:2")))
    folder = tmp_path / "reports" / "transcripts"
    assert store.export_transcripts(folder) == 2
    assert store.export_transcripts(folder) == 0  # only missing copies are written
    calls, _ = store.load_frames()
    for path in calls["transcript_path"]:
        assert Path(path).parent == folder.resolve() and Path(path).is_file()
    assert {p.name for p in folder.iterdir()} >= {"c00001.json"}


def test_update_calls_changes_metadata_only(store: Store) -> None:
    pk = store.save_call(stored_result(1, CARD))
    store.update_calls({pk: {"agent_id": "A77", "team": "Night"}})
    calls, criteria = store.load_frames()
    assert calls.loc[0, "agent_id"] == "A77" and set(criteria["team"]) == {"Night"}
    assert _rows(store)["call_scores"] == 1


def test_failed_result_needs_no_transcript(store: Store) -> None:
    failed = CallResult(
        meta=stored_result(3, CARD).meta,
        content_sha256="a" * 64,
        file_size=0,
        file_mtime_ns=0,
        status=CallStatus.FAILED,
        error="/rec/c00003.wav: empty file (0 bytes), zero length",
        error_kind=ErrorKind.AUDIO,
    )
    store.save_call(failed)
    assert store.counts()["calls_failed"] == 1
    assert store.load_frames()[0].empty


def test_migration_adds_the_cache_count_to_runs_of_an_older_store(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    db = tmp_path / "old.db"
    with Store.open(db) as s:
        old_run = s.start_run("/rec", {"workers": 1})
        s.finish_run(old_run, RunStatus.OK, RunCounts(discovered=2, transcribed=2, succeeded=2), 1.0)
    engine = create_engine(f"sqlite:///{db}")
    # The store an earlier version left: no from_cache column, migration not recorded.
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE runs DROP COLUMN from_cache"))
        conn.execute(text("DELETE FROM schema_migrations WHERE name = '0004_runs_from_cache'"))
    with Store.open(db) as s:
        new_run = s.start_run("/rec", {"workers": 1})
        s.finish_run(new_run, RunStatus.OK, RunCounts(discovered=2, transcribed=2, succeeded=2, from_cache=1), 1.0)
        runs = {r.id: r.counts for r in s.runs()}
    engine.dispose()
    assert runs[old_run].from_cache == 0 and runs[old_run].transcribed == 2
    assert runs[new_run].from_cache == 1
