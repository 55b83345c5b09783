"""The store and batch robustness tests again, against a real PostgreSQL server.

The server is started for this module with pytest-postgresql (see
``batch_support.postgres_server``: as root, ``pg_ctl`` runs as the ``postgres`` user); each
test gets a fresh database. Skipped, with the reason, where the server binaries are absent
(Debian: ``apt-get install -y postgresql``).
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import text

from batch_fixtures import audio  # noqa: F401 - the fixture of the tests collected below
from batch_support import postgres_database, postgres_server
from qa_pipeline.errors import LockedError
from qa_pipeline.lock import run_lock
from qa_pipeline.store import Store

# The same tests, collected here with this module's ``db_url`` (a PostgreSQL database).
from test_batch import (  # noqa: F401
    test_a_second_run_on_a_locked_store_exits_2,
    test_bad_recordings_fail_alone_and_nothing_is_lost,
    test_rescore_after_a_scorecard_change_keeps_history,
    test_sigkill_mid_run_then_rerun_scores_every_call_once,
)
from test_store import (  # noqa: F401
    store,
    test_events_round_trip_through_the_store,
    test_a_save_is_one_transaction,
    test_frames_follow_the_stats_contract,
    test_new_audio_for_a_known_call_replaces_its_results,
    test_read_frames_for_reports,
    test_rescoring_keeps_history_and_frames_use_the_latest,
    test_runs_are_recorded_and_killed_runs_marked,
    test_save_call_writes_every_table_once_and_is_idempotent,
    test_unique_constraints_make_duplicates_impossible,
    test_update_calls_changes_metadata_only,
)

_names = itertools.count(1)


@pytest.fixture(scope="module")
def pg_server():
    with postgres_server() as server:
        yield server


@pytest.fixture
def db_url(pg_server) -> str:
    with postgres_database(pg_server, f"qa_test_{next(_names)}") as url:
        yield url


def test_store_is_postgresql(db_url: str) -> None:
    with Store.open(db_url) as pg:
        assert pg.dialect == "postgresql" and pg.sqlite_path is None
        with pg.engine.connect() as conn:
            assert conn.execute(text("SELECT current_database()")).scalar() == db_url.rsplit("/", 1)[1]


def test_advisory_lock_is_per_store_and_released(db_url: str) -> None:
    with Store.open(db_url) as first, Store.open(db_url) as second:
        with run_lock(first):
            with pytest.raises(LockedError, match="another qa run is using this store"):
                run_lock(second).acquire()
        with run_lock(second):
            pass  # released by the first holder
