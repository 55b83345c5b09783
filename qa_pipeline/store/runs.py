"""The runs table: a run's start, counts, end, and runs read back.

:class:`RunsMixin` gives :class:`~qa_pipeline.store.Store` these methods; it needs the store's
``engine``.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any, Mapping

from sqlalchemy import Engine, delete, func, insert, select, update

from qa_pipeline import __version__
from qa_pipeline.errors import ConfigError
from qa_pipeline.store import schema
from qa_pipeline.store.records import CallStatus, ErrorKind, FailedCall, RunCounts, RunRecord, RunStatus
from qa_pipeline.store.rows import now, run_record


class RunsMixin:
    """Run bookkeeping methods of :class:`~qa_pipeline.store.Store`."""

    engine: Engine

    def start_run(self, recordings: str | None, options: Mapping[str, Any], log_path: str | None = None) -> int:
        """Record the start of a run and return its number."""
        with self.engine.begin() as conn:
            res = conn.execute(
                insert(schema.runs).values(
                    started_at=now(),
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
                .values(status=status.value, ended_at=now(), wall_seconds=wall_seconds, error=error, **counts.to_dict())
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
        return [run_record(row) for row in rows]

    def run(self, run_id: int) -> RunRecord:
        """One run.

        Raises:
            ConfigError: There is no such run.
        """
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.runs).where(schema.runs.c.id == run_id)).mappings().first()
        if row is None:
            raise ConfigError(f"{self}: no run {run_id}")
        return run_record(row)

    def save_rejection(self, run_id: int, call_id: str, path: str, error: str, kind: ErrorKind) -> None:
        """Record a recording the run failed but could not store as a call.

        Its call id belongs to another stored recording, whose row must stay as it is. Only
        the latest run's rejections of a recording are kept: the same file refused every night
        is listed once.
        """
        t = schema.run_rejections
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.path == path, t.c.call_id == call_id))
            conn.execute(insert(t).values(run_id=run_id, call_id=call_id, path=path, error=error,
                                          error_kind=kind.value, created_at=now()))

    def rejections(self, limit: int | None = 50) -> list[FailedCall]:
        """Recordings the latest run refused, newest first.

        A recording fixed since (renamed, given its own call id) is not refused again, so it
        drops out with the next run.
        """
        t = schema.run_rejections.c
        with self.engine.connect() as conn:
            latest = conn.execute(select(func.max(schema.runs.c.id))).scalar()
            if latest is None:
                return []
            query = select(schema.run_rejections).where(t.run_id == latest).order_by(t.created_at.desc(), t.path)
            if limit is not None:
                query = query.limit(limit)
            rows = conn.execute(query).all()
        return [
            FailedCall(call_id=r.call_id, path=r.path, error=r.error, error_kind=ErrorKind(r.error_kind),
                       run_id=r.run_id, updated_at=r.created_at)
            for r in rows
        ]
