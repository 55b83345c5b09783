"""Calibration against a real PostgreSQL store: import, idempotent re-import, validation,
agreement figures and the migration (skipped, with the reason, where the server is absent)."""

from __future__ import annotations

import itertools

import pytest

from batch_support import postgres_database, postgres_server, stored_result
from qa_pipeline.store import Store

# The same tests, collected here with this module's ``db`` (a PostgreSQL database).
from test_calibration import (  # noqa: F401
    CARD,
    test_import_problems_name_file_line_and_field,
    test_known_kappa_through_the_store,
    test_migration_adds_the_table_to_an_older_store,
    test_reimporting_a_file_is_idempotent,
    test_two_evaluators_are_compared_with_each_other,
)

_names = itertools.count(1)


@pytest.fixture(scope="module")
def pg_server():
    with postgres_server() as server:
        yield server


@pytest.fixture
def db(pg_server) -> str:
    with postgres_database(pg_server, f"qa_calibration_{next(_names)}") as url:
        with Store.open(url) as store:
            assert store.dialect == "postgresql"
            for n in range(10):
                store.save_call(stored_result(n, CARD, greeting=n < 5))
        yield url
