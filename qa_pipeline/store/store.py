"""The results store: calls, transcripts, characteristics, scores and runs in one database.

A SQLite file by default (WAL journal, so readers such as ``qa status`` never block a running
batch) or PostgreSQL by URL. Every call is written in one transaction: a crash leaves either
all of a call's rows or none of them.

The :class:`Store` class holds opening and closing, writing calls and the queries that plan,
rescore and report; :mod:`.engine` makes the engine, :mod:`.runs` keeps the runs table,
:mod:`.writes` writes a call's rows, :mod:`.frames` reads the statistics rows and :mod:`.rows`
converts rows to records.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from sqlalchemy import Engine, and_, create_engine, func, select, update
from sqlalchemy.engine import URL
from sqlalchemy.exc import NoSuchModuleError, SQLAlchemyError

from qa_pipeline.callrecord import CRITERIA_FRAME_COLUMNS, LOADED_CALL_COLUMNS
from qa_pipeline.errors import ConfigError, StoreError
from qa_pipeline.log import get_logger
from qa_pipeline.metadata import CallMetadata
from qa_pipeline.scoring import CallScore
from qa_pipeline.store import schema
from qa_pipeline.store.engine import DEFAULT_DB, database_url, db_reason, sqlite_engine
from qa_pipeline.store.score_rows import score_rows
from qa_pipeline.store.migrations import MIGRATIONS, Migrations
from qa_pipeline.store.records import CallResult, CallStatus, ErrorKind, FailedCall, StoredCall
from qa_pipeline.store.rows import (
    UNASSIGNED_TEAM,
    call_metadata,
    call_score,
    frame_evidence,
    now,
    scorecard_hashes,
    stored_call,
    transcript_file_name,
)
from qa_pipeline.store.runs import RunsMixin
from qa_pipeline.store.writes import save_call_rows
from qa_pipeline.transcript import Transcript

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_DB", "UNASSIGNED_TEAM", "Store", "database_url", "frame_evidence", "transcript_file_name"]

log = get_logger("store")


class Store(RunsMixin):
    """A results store. Open with :meth:`Store.open`; close with :meth:`close` or ``with``.

    Attributes:
        url: The database URL (password hidden when shown).
        engine: The SQLAlchemy engine.
    """

    def __init__(self, engine: Engine, url: URL) -> None:
        self.engine = engine
        self.url = url

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls, target: str | os.PathLike[str] = DEFAULT_DB, create: bool = True, migrations: Migrations | None = None
    ) -> "Store":
        """Open (and with ``create``, create) a store and bring its schema up to date.

        Args:
            target: A SQLite file path or a database URL (``postgresql://…``).
            create: Create a missing SQLite file; when False a missing file is an error.
            migrations: The migrations to apply (the package's by default).

        Raises:
            ConfigError: The URL is malformed, or the SQLite file is missing and ``create`` is
                False.
            StoreError: The database cannot be reached or migrated.
        """
        url = database_url(target)
        shown = url.render_as_string(hide_password=True)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            path = Path(url.database)
            if not path.exists():
                if not create:
                    raise ConfigError(f"{path}: no results store here; run `qa run RECORDINGS` first, or pass --db")
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"{path}: cannot create the store's folder ({exc.strerror or exc})") from exc
        try:
            engine = sqlite_engine(url) if url.get_backend_name() == "sqlite" else create_engine(url, pool_pre_ping=True)
        except (NoSuchModuleError, ImportError) as exc:
            raise StoreError(f"{shown}: the database driver is not installed ({exc}); for PostgreSQL: pip install 'psycopg[binary]'") from exc
        store = cls(engine, url)
        try:
            (migrations or MIGRATIONS).apply(engine)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"{shown}: cannot open the results store ({db_reason(exc)})") from exc
        except StoreError:
            engine.dispose()
            raise
        return store

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.url.get_backend_name()

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, or None for other databases and in-memory stores."""
        if self.dialect == "sqlite" and self.url.database and self.url.database != ":memory:":
            return Path(self.url.database)
        return None

    def __str__(self) -> str:
        path = self.sqlite_path
        return str(path) if path else self.url.render_as_string(hide_password=True)

    # ------------------------------------------------------------------ calls
    def known_calls(self, scorecard_hash: str | Sequence[str] | None = None) -> list[StoredCall]:
        """Every stored call with its transcript's engine and model and whether it has a score
        for ``scorecard_hash`` (or any of several: a run's scorecard and the scorecards its calls
        in other languages are routed to): what a run needs to decide what is already done."""
        c, t, s = schema.calls.c, schema.transcripts.c, schema.call_scores.c
        hashes = scorecard_hashes(scorecard_hash)
        scored = (
            select(s.call_pk).where(s.scorecard_hash.in_(hashes)).distinct().subquery()
            if hashes
            else select(s.call_pk).where(s.call_pk.is_(None)).subquery()
        )
        query = (
            select(
                c.id, c.call_id, c.path, c.content_sha256, c.file_size, c.file_mtime_ns, c.status, c.error,
                c.error_kind, t.engine, t.model, scored.c.call_pk.label("scored"), c.agent_id, c.agent_name,
                c.team, c.started_at,
            )
            .select_from(schema.calls)
            .outerjoin(schema.transcripts, t.call_pk == c.id)
            .outerjoin(scored, scored.c.call_pk == c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [stored_call(row, row.scored is not None) for row in rows]

    def save_call(self, result: CallResult, run_id: int | None = None, pk: int | None = None) -> int:
        """Write one call's row, transcript, characteristics and score in one transaction.

        The call is matched by ``pk`` when given (a renamed or re-identified recording), else
        by ``call_id``. When its content changed, the old transcript and scores are deleted
        with the same transaction. A result without a transcript keeps the stored one (a
        re-score); a failed result keeps older rows of the same content.

        Returns:
            The call's row id.

        Raises:
            StoreError: The database refused the write (nothing of the call is written).
        """
        try:
            with self.engine.begin() as conn:
                return save_call_rows(conn, result, run_id, pk)
        except SQLAlchemyError as exc:
            raise StoreError(f"{self}: cannot save call {result.meta.call_id!r} ({db_reason(exc)})") from exc

    def update_calls(self, changes: Mapping[int, Mapping[str, Any]]) -> None:
        """Update stored calls' metadata or file facts (path, agent, team, size…) in one
        transaction, without touching their results.

        Args:
            changes: Column values per call row id (columns of the ``calls`` table).
        """
        if not changes:
            return
        with self.engine.begin() as conn:
            for pk, values in changes.items():
                conn.execute(update(schema.calls).where(schema.calls.c.id == pk).values(**dict(values), updated_at=now()))

    def transcript(self, call_id: str) -> Transcript:
        """A stored transcript.

        Raises:
            ConfigError: The call is unknown or has no transcript.
        """
        c, t = schema.calls.c, schema.transcripts.c
        with self.engine.connect() as conn:
            doc = conn.execute(
                select(t.transcript).select_from(schema.calls.join(schema.transcripts, t.call_pk == c.id)).where(c.call_id == call_id)
            ).scalar()
        if doc is None:
            raise ConfigError(f"{self}: no transcript for call {call_id!r}")
        return Transcript.from_dict(json.loads(doc))

    def score(self, call_id: str, scorecard_hash: str | None = None) -> CallScore | None:
        """The latest stored score of a call (for one scorecard when given), rebuilt as a record."""
        c, s = schema.calls.c, schema.call_scores.c
        with self.engine.connect() as conn:
            query = select(schema.call_scores, c.call_id).join(schema.calls, s.call_pk == c.id).where(c.call_id == call_id)
            if scorecard_hash:
                query = query.where(s.scorecard_hash == scorecard_hash)
            row = conn.execute(query.order_by(s.id.desc()).limit(1)).mappings().first()
            if row is None:
                return None
            r = schema.criterion_results.c
            crit = conn.execute(
                select(schema.criterion_results)
                .where(and_(r.call_pk == row["call_pk"], r.scorecard_hash == row["scorecard_hash"]))
                .order_by(r.position)
            ).mappings().all()
            ch = schema.characteristics.c
            chars = conn.execute(
                select(ch.data).where(and_(ch.call_pk == row["call_pk"], ch.scorecard_hash == row["scorecard_hash"]))
            ).scalar()
            ev = schema.call_events.c
            events = conn.execute(
                select(schema.call_events)
                .where(and_(ev.call_pk == row["call_pk"], ev.scorecard_hash == row["scorecard_hash"]))
                .order_by(ev.position)
            ).mappings().all()
        return call_score(row, crit, chars, events)

    def calls_to_rescore(
        self, scorecard_hash: str | Sequence[str], since: date | None = None, limit: int | None = None, include_failed: bool = False
    ) -> list[tuple[StoredCall, CallMetadata]]:
        """Calls with a stored transcript but no score for ``scorecard_hash``, oldest first.

        Args:
            scorecard_hash: The scorecard to score against (or several, as for
                :meth:`known_calls`: a score for any of them counts).
            since: Only calls that started on or after this day.
            limit: At most this many.
            include_failed: Also calls whose last scoring failed (``--retry-failed``).
        """
        c, t, s = schema.calls.c, schema.transcripts.c, schema.call_scores.c
        scored = select(s.call_pk).where(s.scorecard_hash.in_(scorecard_hashes(scorecard_hash)))
        query = (
            select(
                c.id, c.call_id, c.path, c.content_sha256, c.file_size, c.file_mtime_ns, c.status, c.error,
                c.error_kind, t.engine, t.model, c.agent_id, c.agent_name, c.team, c.started_at, c.metadata,
            )
            .select_from(schema.calls.join(schema.transcripts, t.call_pk == c.id))
            .where(c.id.not_in(scored))
            .order_by(c.started_at, c.call_id)
        )
        if not include_failed:
            query = query.where(c.status == CallStatus.OK.value)
        if since is not None:
            query = query.where(c.started_at >= datetime.combine(since, time()))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        out = []
        for row in rows:
            out.append((stored_call(row, scored=False), call_metadata(row)))
        return out

    def transcript_json(self, pk: int) -> str:
        """The stored transcript document of a call row.

        Raises:
            ConfigError: The call has no transcript.
        """
        t = schema.transcripts.c
        with self.engine.connect() as conn:
            doc = conn.execute(select(t.transcript).where(t.call_pk == pk)).scalar()
        if doc is None:
            raise ConfigError(f"{self}: call row {pk} has no transcript")
        return str(doc)

    def failures(self, limit: int | None = 50, run_id: int | None = None) -> list[FailedCall]:
        """Calls whose latest processing failed, newest first."""
        c = schema.calls.c
        query = select(c.call_id, c.path, c.error, c.error_kind, c.run_id, c.updated_at).where(c.status == CallStatus.FAILED.value)
        if run_id is not None:
            query = query.where(c.run_id == run_id)
        query = query.order_by(c.updated_at.desc(), c.call_id)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            FailedCall(
                call_id=r.call_id,
                path=r.path,
                error=r.error or "",
                error_kind=None if r.error_kind is None else ErrorKind(r.error_kind),
                run_id=r.run_id,
                updated_at=r.updated_at,
            )
            for r in rows
        ]

    def coverage_reviews(self, limit: int | None = 50) -> list[tuple[str, str, float]]:
        """Scored calls flagged for low speech coverage: (call id, path, coverage), worst first."""
        c = schema.calls.c
        query = (
            select(c.call_id, c.path, c.speech_coverage)
            .where(c.status == CallStatus.OK.value, c.coverage_review.is_(True))
            .order_by(c.speech_coverage, c.call_id)
        )
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [(r.call_id, r.path, float(r.speech_coverage or 0.0)) for r in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        """Rows per table, and calls per status (``calls_ok``, ``calls_failed``)."""
        out: dict[str, int] = {}
        with self.engine.connect() as conn:
            for table in (schema.calls, schema.transcripts, schema.characteristics, schema.call_scores, schema.criterion_results, schema.runs):
                out[table.name] = int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
            for status, n in conn.execute(select(schema.calls.c.status, func.count()).group_by(schema.calls.c.status)):
                out[f"calls_{status}"] = int(n)
        return out

    # ------------------------------------------------------------------ frames
    def load_frames(
        self,
        period_from: date | datetime | None = None,
        period_to: date | datetime | None = None,
        scorecard_hash: str | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The calls and criteria frames that statistics and reports read.

        Each scored call appears once, with its latest score (or its score for
        ``scorecard_hash``); calls without a score, or where no criterion applied, are left
        out. Columns are :data:`~qa_pipeline.callrecord.LOADED_CALL_COLUMNS` (the exported
        ones, then ``events``: a JSON list of the call's holds, silences and interruptions,
        or None for a score stored before the store kept events) and
        :data:`~qa_pipeline.callrecord.CRITERIA_FRAME_COLUMNS`.

        Args:
            period_from: First day (inclusive), or None.
            period_to: Last day (inclusive; a datetime is an exclusive end), or None.
            scorecard_hash: Only scores of this scorecard; None = each call's latest.
        """
        # pandas is imported here: every batch worker imports the store for its records,
        # and half a second of pandas import per worker start buys them nothing.
        import pandas as pd

        rows = score_rows(self.engine, period_from, period_to, scorecard_hash)
        calls = pd.DataFrame(rows.calls, columns=list(LOADED_CALL_COLUMNS))
        criteria = pd.DataFrame(rows.criteria, columns=list(CRITERIA_FRAME_COLUMNS))
        for df in (calls, criteria):
            df["started_at"] = pd.to_datetime(df["started_at"]).astype("datetime64[ns]")
        calls["critical_failed"] = calls["critical_failed"].astype(bool)
        calls["roles_inferred"] = calls["roles_inferred"].astype(bool)
        return calls, criteria

    def export_transcripts(self, folder: str | os.PathLike[str]) -> int:
        """Write the transcript JSON of every ok call that lacks a readable copy in ``folder``
        (``<folder>/<call>.json``), and point the calls at them, so reports can show them.

        Returns:
            The number of files written.
        """
        folder = Path(folder)
        c, t = schema.calls.c, schema.transcripts.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.id, c.call_id, c.transcript_path).where(c.status == CallStatus.OK.value)).all()
        wanted = {}
        for row in rows:
            target = folder / transcript_file_name(row.call_id)
            if row.transcript_path != str(target.resolve()) or not target.is_file():
                wanted[row.id] = target
        written = 0
        for start in range(0, len(wanted), 500):
            chunk = list(wanted)[start : start + 500]
            with self.engine.connect() as conn:
                docs = conn.execute(select(t.call_pk, t.transcript).where(t.call_pk.in_(chunk))).all()
            changes = {}
            for pk, doc in docs:
                target = wanted[pk]
                if not target.is_file():
                    Transcript.from_dict(json.loads(doc)).save(target)
                    written += 1
                changes[pk] = {"transcript_path": str(target.resolve())}
            with self.engine.begin() as conn:
                for pk, values in changes.items():
                    conn.execute(update(schema.calls).where(c.id == pk).values(**values))
        return written
