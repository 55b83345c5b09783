"""The roles review flag in the results store: written per call, per score and per criterion,
read back, and added to stores created before the flag existed (migration 0003_roles_review)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import create_engine, inspect, text

from batch_support import SCORECARD, stored_result
from qa_pipeline.scorecard import load_scorecard
from qa_pipeline.scoring import score_transcript
from qa_pipeline.store import Store
from qa_pipeline.store.migrations import MIGRATIONS
from qa_pipeline.transcript import RoleAssignment, RolesSource

FLAGGED = RoleAssignment(RolesSource.DIARIZATION, "first_speaker", None, 0.6,
                         "mono recording, 2 voices: speaker 0 is the agent", review=True)


def test_review_flag_is_stored_and_read_back(tmp_path):
    card = load_scorecard(SCORECARD)
    plain = stored_result(1, card)
    second = stored_result(2, card)
    transcript = replace(second.transcript, roles=FLAGGED)
    flagged = replace(second, transcript=transcript, score=score_transcript(transcript, card))
    assert flagged.score.roles_review and any(r.roles_review for r in flagged.score.results)
    # Criteria that do not depend on who is who (duration, silence) are not flagged.
    assert not all(r.roles_review for r in flagged.score.results if r.verdict.value != "na")
    with Store.open(tmp_path / "qa.db") as store:
        store.save_call(plain)
        store.save_call(flagged)
        assert store.transcript("c00002").roles.review
        back = store.score("c00002")
        assert back.roles_review
        assert [r.roles_review for r in back.results] == [r.roles_review for r in flagged.score.results]
        assert not store.score("c00001").roles_review
    engine = create_engine(f"sqlite:///{tmp_path / 'qa.db'}")
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT call_id, roles_review FROM calls")).all())
    engine.dispose()
    assert rows == {"c00001": 0, "c00002": 1}


def test_migration_adds_the_columns_to_an_older_store(tmp_path):
    db = tmp_path / "old.db"
    with Store.open(db):
        pass
    engine = create_engine(f"sqlite:///{db}")
    # Make it the store an earlier version left: no flag columns, migration not recorded.
    with engine.begin() as conn:
        for table in ("calls", "call_scores", "criterion_results"):
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN roles_review"))
        conn.execute(text("DELETE FROM schema_migrations WHERE name = '0003_roles_review'"))
    assert "roles_review" not in {c["name"] for c in inspect(engine).get_columns("calls")}
    names = MIGRATIONS.names
    assert names.index("0003_roles_review") > max(names.index(n) for n in names if n < "0003")
    with Store.open(db) as store:
        store.save_call(stored_result(3, load_scorecard(SCORECARD)))
    for table in ("calls", "call_scores", "criterion_results"):
        assert "roles_review" in {c["name"] for c in inspect(engine).get_columns(table)}
    with engine.connect() as conn:
        applied = set(conn.execute(text("SELECT name FROM schema_migrations")).scalars())
    engine.dispose()
    assert "0003_roles_review" in applied
