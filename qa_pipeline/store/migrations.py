"""Schema migrations: named, applied in order, each in its own transaction, recorded once.

A store remembers the names of the migrations applied to it (``schema_migrations``). Opening
a store applies the missing ones in the order they were registered; a migration that fails
rolls back entirely (SQLite and PostgreSQL both have transactional DDL), so a store is always
at a known version. Registering a name twice is refused, and so is a store that has applied a
migration this code does not know (it was written by a newer version).

Add a migration by appending a function to :data:`MIGRATIONS`::

    @MIGRATIONS.register("0002_calls_channel_map")
    def _calls_channel_map(conn: Connection) -> None:
        conn.execute(text("ALTER TABLE calls ADD COLUMN channel_map TEXT"))

and change :mod:`qa_pipeline.store.schema` to match. The first migration creates the tables
from that module, so a later migration must not fail on a fresh store where its change is
already present (check with ``sqlalchemy.inspect``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import Connection, Engine, inspect, select, text

from qa_pipeline.errors import ConfigError, StoreError
from qa_pipeline.log import get_logger
from qa_pipeline.store import schema

log = get_logger("store")

MigrationFn = Callable[[Connection], None]


@dataclass(frozen=True)
class Migration:
    """One schema change.

    Attributes:
        name: Unique, stable name; applied names are recorded in the store.
        apply: Makes the change on a connection inside a transaction.
    """

    name: str
    apply: MigrationFn


class Migrations:
    """An ordered set of uniquely named migrations."""

    def __init__(self) -> None:
        self._items: list[Migration] = []

    def register(self, name: str) -> Callable[[MigrationFn], MigrationFn]:
        """Decorator adding a migration after the ones already registered.

        Raises:
            ConfigError: The name is already registered.
        """

        def add(fn: MigrationFn) -> MigrationFn:
            self.add(Migration(name, fn))
            return fn

        return add

    def add(self, migration: Migration) -> None:
        """Append a migration.

        Raises:
            ConfigError: A migration of that name is already registered.
        """
        if any(m.name == migration.name for m in self._items):
            raise ConfigError(f"migration {migration.name!r} is registered twice")
        self._items.append(migration)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self._items]

    def pending(self, engine: Engine) -> list[str]:
        """Names of the migrations not yet applied to a store."""
        applied = _applied(engine)
        return [m.name for m in self._items if m.name not in applied]

    def apply(self, engine: Engine) -> list[str]:
        """Apply every missing migration, each in its own transaction.

        Returns:
            The names applied now.

        Raises:
            StoreError: The store has a migration this code does not know, or a migration
                failed (its changes are rolled back; earlier ones stay applied).
        """
        schema.migrations_table.create(engine, checkfirst=True)
        applied = _applied(engine)
        unknown = sorted(applied - set(self.names))
        if unknown:
            raise StoreError(
                f"{_where(engine)}: the store was written by a newer qa_pipeline (unknown migration(s) "
                f"{', '.join(unknown)}); upgrade qa_pipeline to use it"
            )
        done: list[str] = []
        for migration in self._items:
            if migration.name in applied:
                continue
            try:
                with engine.begin() as conn:
                    # Re-checked inside the transaction: another process may have just applied it.
                    if conn.execute(
                        select(schema.migrations_table.c.name).where(schema.migrations_table.c.name == migration.name)
                    ).first():
                        continue
                    migration.apply(conn)
                    conn.execute(
                        schema.migrations_table.insert().values(
                            name=migration.name, applied_at=datetime.now(timezone.utc).replace(tzinfo=None)
                        )
                    )
            except StoreError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure aborts the migration; named and re-raised
                raise StoreError(f"{_where(engine)}: migration {migration.name} failed and was rolled back ({exc})") from exc
            log.info("applied migration %s to %s", migration.name, _where(engine))
            done.append(migration.name)
        return done


def _applied(engine: Engine) -> set[str]:
    if not inspect(engine).has_table(schema.migrations_table.name):
        return set()
    with engine.connect() as conn:
        return set(conn.execute(select(schema.migrations_table.c.name)).scalars())


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


MIGRATIONS = Migrations()


@MIGRATIONS.register("0001_initial")
def _initial(conn: Connection) -> None:
    tables = [t for t in schema.metadata.sorted_tables if t is not schema.migrations_table]
    schema.metadata.create_all(conn, tables=tables)


@MIGRATIONS.register("0002_human_evaluations")
def _human_evaluations(conn: Connection) -> None:
    # A store created by this version already has the table from 0001_initial.
    schema.human_evaluations.create(conn, checkfirst=True)


@MIGRATIONS.register("0003_roles_review")
def _roles_review(conn: Connection) -> None:
    # Stores created by this version already have the columns from 0001_initial.
    for table in ("calls", "call_scores", "criterion_results"):
        columns = {c["name"] for c in inspect(conn).get_columns(table)}
        if "roles_review" not in columns:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN roles_review BOOLEAN"))


@MIGRATIONS.register("0004_runs_from_cache")
def _runs_from_cache(conn: Connection) -> None:
    # How many of a run's transcriptions came from the transcript cache: the summary used to
    # count them as recognised.
    columns = {c["name"] for c in inspect(conn).get_columns("runs")}
    if "from_cache" not in columns:
        conn.execute(text("ALTER TABLE runs ADD COLUMN from_cache INTEGER NOT NULL DEFAULT 0"))


@MIGRATIONS.register("0005_calls_playback_path")
def _calls_playback_path(conn: Connection) -> None:
    # Where the redacted copy of a call's recording is, so that reports play it.
    columns = {c["name"] for c in inspect(conn).get_columns("calls")}
    if "playback_path" not in columns:
        conn.execute(text("ALTER TABLE calls ADD COLUMN playback_path TEXT"))


@MIGRATIONS.register("0006_calls_speech_coverage")
def _calls_speech_coverage(conn: Connection) -> None:
    # How much of a call's detected speech got words, and whether that is too little to trust
    # its talk share and silences. Calls stored before stay null: not measured.
    columns = {c["name"] for c in inspect(conn).get_columns("calls")}
    if "speech_coverage" not in columns:
        conn.execute(text("ALTER TABLE calls ADD COLUMN speech_coverage FLOAT"))
    if "coverage_review" not in columns:
        conn.execute(text("ALTER TABLE calls ADD COLUMN coverage_review BOOLEAN"))


EVENTS_MIGRATION = "0007_call_events"


@MIGRATIONS.register(EVENTS_MIGRATION)
def _call_events(conn: Connection) -> None:
    # A call's timed events, which call pages used to guess from evidence text. Scores stored
    # before have none recorded (events_recorded false: their pages fall back to that guess)
    # until they are re-scored; a flag on the score, not a time, because clocks of several
    # writers to one PostgreSQL store need not agree.
    schema.call_events.create(conn, checkfirst=True)
    columns = {c["name"] for c in inspect(conn).get_columns("call_scores")}
    if "events_recorded" not in columns:
        conn.execute(text("ALTER TABLE call_scores ADD COLUMN events_recorded BOOLEAN NOT NULL DEFAULT FALSE"))


@MIGRATIONS.register("0008_run_rejections")
def _run_rejections(conn: Connection) -> None:
    # Recordings refused for a call id another stored recording owns were only in the run log
    # and summary; `qa status` lists them from this table.
    schema.run_rejections.create(conn, checkfirst=True)
