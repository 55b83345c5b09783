"""The results store: calls, transcripts, characteristics, scores and runs in one database.

A SQLite file by default (WAL journal, so readers such as ``qa status`` never block a running
batch) or PostgreSQL by URL. Every call is written in one transaction: a crash leaves either
all of a call's rows or none of them.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from sqlalchemy import Connection, Engine, and_, bindparam, create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from qa_pipeline import __version__
from qa_pipeline.callrecord import (
    CRITERIA_FRAME_COLUMNS,
    EVENTS_COLUMN,
    FRAME_EVENT_KINDS,
    LOADED_CALL_COLUMNS,
    STYLE_FRAME_COLUMNS,
    CallEvent,
)
from qa_pipeline.errors import ConfigError, StoreError
from qa_pipeline.log import get_logger
from qa_pipeline.metadata import CallMetadata
from qa_pipeline.scoring import CallScore
from qa_pipeline.store import schema
from qa_pipeline.store.migrations import MIGRATIONS, Migrations
from qa_pipeline.store.records import (
    CallResult,
    CallStatus,
    ErrorKind,
    FailedCall,
    RunCounts,
    RunRecord,
    RunStatus,
    StoredCall,
)
from qa_pipeline.transcript import Transcript

if TYPE_CHECKING:
    import pandas as pd

log = get_logger("store")

DEFAULT_DB = "qa.db"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def database_url(target: str | os.PathLike[str]) -> URL:
    """The SQLAlchemy URL of a store given as a file path or a database URL.

    ``qa.db`` and ``/data/qa.db`` are SQLite files; ``sqlite:///qa.db`` likewise;
    ``postgresql://user@host/db`` uses the psycopg (v3) driver.

    Raises:
        ConfigError: The URL is malformed or names an unsupported database.
    """
    text = os.fspath(target)
    if "://" not in text:
        return URL.create("sqlite", database=str(Path(text).expanduser().resolve()))
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise ConfigError(f"--db: {text!r} is not a database URL or a file path ({exc})") from exc
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url
    if backend == "sqlite":
        if url.database and url.database != ":memory:":
            url = url.set(database=str(Path(url.database).expanduser().resolve()))
        return url
    raise ConfigError(f"--db: unsupported database {backend!r}; use a SQLite file path or a postgresql:// URL")


def _sqlite_engine(url: URL) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own transaction handling skips BEGIN before DDL, which would make
        # migrations non-transactional; transactions are begun explicitly below instead.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process; only a power cut may lose the last
        # commits, never corrupt the file.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


@dataclass(frozen=True)
class _ScoreRows:
    calls: list[dict[str, Any]]
    criteria: list[dict[str, Any]]


class Store:
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
            engine = _sqlite_engine(url) if url.get_backend_name() == "sqlite" else create_engine(url, pool_pre_ping=True)
        except (NoSuchModuleError, ImportError) as exc:
            raise StoreError(f"{shown}: the database driver is not installed ({exc}); for PostgreSQL: pip install 'psycopg[binary]'") from exc
        store = cls(engine, url)
        try:
            (migrations or MIGRATIONS).apply(engine)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"{shown}: cannot open the results store ({_reason(exc)})") from exc
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

    # ------------------------------------------------------------------ runs
    def start_run(self, recordings: str | None, options: Mapping[str, Any], log_path: str | None = None) -> int:
        """Record the start of a run and return its number."""
        with self.engine.begin() as conn:
            res = conn.execute(
                insert(schema.runs).values(
                    started_at=_now(),
                    status=RunStatus.RUNNING.value,
                    recordings=recordings,
                    version=__version__,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    options=json.dumps(dict(options), sort_keys=True, default=str),
                    log_path=log_path,
                )
            )
            return int(res.inserted_primary_key[0])

    def set_run_log(self, run_id: int, log_path: str) -> None:
        """Record where a run's log file is."""
        with self.engine.begin() as conn:
            conn.execute(update(schema.runs).where(schema.runs.c.id == run_id).values(log_path=log_path))

    def finish_run(
        self, run_id: int, status: RunStatus, counts: RunCounts, wall_seconds: float, error: str | None = None
    ) -> None:
        """Record the end of a run."""
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.runs)
                .where(schema.runs.c.id == run_id)
                .values(status=status.value, ended_at=_now(), wall_seconds=wall_seconds, error=error, **counts.to_dict())
            )

    def mark_interrupted_runs(self) -> list[int]:
        """Mark runs still ``running`` as ``interrupted`` (call only while holding the run lock).

        Returns:
            The run numbers marked.
        """
        c = schema.calls.c
        with self.engine.begin() as conn:
            ids = list(conn.execute(select(schema.runs.c.id).where(schema.runs.c.status == RunStatus.RUNNING.value)).scalars())
            for run_id in ids:
                # A killed run never wrote its counts: what it stored is still there to count.
                stored = dict(conn.execute(
                    select(c.status, func.count()).where(c.run_id == run_id).group_by(c.status)
                ).all())
                conn.execute(
                    update(schema.runs)
                    .where(schema.runs.c.id == run_id)
                    .values(
                        status=RunStatus.INTERRUPTED.value,
                        error="the run was killed before it finished",
                        succeeded=int(stored.get(CallStatus.OK.value, 0)),
                        failed=int(stored.get(CallStatus.FAILED.value, 0)),
                    )
                )
        return ids

    def set_run_counts(self, run_id: int, counts: RunCounts) -> None:
        """Record a run's counts so far (what it found and skipped, once planned), for a run
        that is killed before it finishes."""
        with self.engine.begin() as conn:
            conn.execute(update(schema.runs).where(schema.runs.c.id == run_id).values(**counts.to_dict()))

    def runs(self, limit: int = 10) -> list[RunRecord]:
        """The latest runs, newest first."""
        r = schema.runs.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.runs).order_by(r.id.desc()).limit(limit)).mappings().all()
        return [_run_record(row) for row in rows]

    def run(self, run_id: int) -> RunRecord:
        """One run.

        Raises:
            ConfigError: There is no such run.
        """
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.runs).where(schema.runs.c.id == run_id)).mappings().first()
        if row is None:
            raise ConfigError(f"{self}: no run {run_id}")
        return _run_record(row)

    # ------------------------------------------------------------------ calls
    def known_calls(self, scorecard_hash: str | Sequence[str] | None = None) -> list[StoredCall]:
        """Every stored call with its transcript's engine and model and whether it has a score
        for ``scorecard_hash`` (or any of several: a run's scorecard and the scorecards its calls
        in other languages are routed to): what a run needs to decide what is already done."""
        c, t, s = schema.calls.c, schema.transcripts.c, schema.call_scores.c
        hashes = _hashes(scorecard_hash)
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
        return [_stored_call(row, row.scored is not None) for row in rows]

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
                return self._save_call(conn, result, run_id, pk)
        except SQLAlchemyError as exc:
            raise StoreError(f"{self}: cannot save call {result.meta.call_id!r} ({_reason(exc)})") from exc

    def _save_call(self, conn: Connection, result: CallResult, run_id: int | None, pk: int | None) -> int:
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
            "updated_at": _now(),
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
                    "created_at": _now(),
                    "run_id": run_id,
                },
            )
        if result.score is not None:
            _write_score(conn, pk, result.score, run_id, fresh=old_sha != result.content_sha256)
        return pk

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
                conn.execute(update(schema.calls).where(schema.calls.c.id == pk).values(**dict(values), updated_at=_now()))

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
                "events": [_event_dict(e) for e in events],
            }
        )

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
        scored = select(s.call_pk).where(s.scorecard_hash.in_(_hashes(scorecard_hash)))
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
            out.append((_stored_call(row, scored=False), _call_metadata(row)))
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

        rows = self._score_rows(period_from, period_to, scorecard_hash)
        calls = pd.DataFrame(rows.calls, columns=list(LOADED_CALL_COLUMNS))
        criteria = pd.DataFrame(rows.criteria, columns=list(CRITERIA_FRAME_COLUMNS))
        for df in (calls, criteria):
            df["started_at"] = pd.to_datetime(df["started_at"]).astype("datetime64[ns]")
        calls["critical_failed"] = calls["critical_failed"].astype(bool)
        calls["roles_inferred"] = calls["roles_inferred"].astype(bool)
        return calls, criteria

    def _score_rows(
        self, period_from: date | datetime | None, period_to: date | datetime | None, scorecard_hash: str | None
    ) -> _ScoreRows:
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
        start, end = _bounds(period_from, period_to)
        if start is not None:
            query = query.where(c.started_at >= start)
        if end is not None:
            query = query.where(c.started_at < end)
        calls: list[dict[str, Any]] = []
        criteria: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
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
                return _ScoreRows(calls, criteria)
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
                select(ev.call_pk, ev.scorecard_hash, *(getattr(ev, k) for k in _EVENT_FIELDS))
                .join(schema.call_scores, and_(s.call_pk == ev.call_pk, s.scorecard_hash == ev.scorecard_hash))
                .where(s.id.in_(chosen), s.total.is_not(None), ev.kind.in_(FRAME_EVENT_KINDS))
                .order_by(ev.call_pk, ev.position)
            )
            events: dict[int, list[dict[str, Any]]] = {}
            for row in conn.execute(event_query):
                call = by_pk.get(row.call_pk)
                if call is not None and call["scorecard_hash"] == row.scorecard_hash:
                    events.setdefault(row.call_pk, []).append(_event_dict(row._mapping))
            for pk, found in events.items():
                by_pk[pk][EVENTS_COLUMN] = json.dumps(found, ensure_ascii=False)
        return _ScoreRows(calls, criteria)

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


UNASSIGNED_TEAM = "unassigned"


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


def _write_score(conn: Connection, pk: int, score: CallScore, run_id: int | None, fresh: bool = False) -> None:
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
            "scored_at": _now(),
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
        {"call_pk": pk, "scorecard_hash": card, "position": position, **_event_row(e)}
        for position, e in enumerate(score.events)
    ]
    if events:
        conn.execute(_INSERT_EVENTS, events)


# The event fields kept in call_events, in CallEvent.to_dict's order.
_EVENT_FIELDS: tuple[str, ...] = ("kind", "start_s", "end_s", "who", "source", "text", "announced_s", "thanked_s")


def _event_row(event: CallEvent) -> dict[str, Any]:
    d = event.to_dict()
    return {k: d[k] for k in _EVENT_FIELDS}


def _event_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored event row as :meth:`CallEvent.from_dict` reads it."""
    return {k: row[k] for k in _EVENT_FIELDS}


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


def _bounds(period_from: date | datetime | None, period_to: date | datetime | None) -> tuple[datetime | None, datetime | None]:
    start = end = None
    if period_from is not None:
        start = period_from if isinstance(period_from, datetime) else datetime.combine(period_from, time())
    if period_to is not None:
        end = period_to if isinstance(period_to, datetime) else datetime.combine(period_to + timedelta(days=1), time())
    return start, end


def _call_metadata(row: Any) -> CallMetadata:
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


def _stored_call(row: Any, scored: bool) -> StoredCall:
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


def _run_record(row: Mapping[str, Any]) -> RunRecord:
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


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]


def _hashes(scorecard_hash: str | Sequence[str] | None) -> tuple[str, ...]:
    if not scorecard_hash:
        return ()
    return (scorecard_hash,) if isinstance(scorecard_hash, str) else tuple(scorecard_hash)
