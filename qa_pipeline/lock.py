"""One batch run per store at a time.

SQLite stores are locked with ``flock`` on a file beside the database (``qa.db.lock``);
PostgreSQL stores with a session advisory lock. Both are released by the operating system or
the server when the process dies, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from qa_pipeline.errors import LockedError, StoreError
from qa_pipeline.log import get_logger
from qa_pipeline.store import Store

log = get_logger("lock")

# An arbitrary constant naming "the qa run lock" among the server's advisory locks.
ADVISORY_KEY = 0x5141_5255_4E00  # "QARUN"


class RunLock:
    """The run lock of one store; use as a context manager or call :meth:`acquire` /
    :meth:`release`.

    Args:
        store: The store to lock.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._file: IO[str] | None = None
        self._conn: Any = None

    @property
    def lock_path(self) -> Path | None:
        """The lock file of a SQLite store; None for PostgreSQL and in-memory stores."""
        db = self.store.sqlite_path
        return None if db is None else db.with_name(db.name + ".lock")

    def acquire(self) -> "RunLock":
        """Take the lock without waiting.

        Raises:
            LockedError: Another run holds it; the message names the store and, where known,
                the process.
            StoreError: The lock file or the database cannot be used.
        """
        if self.store.dialect == "postgresql":
            self._acquire_advisory()
        elif self.lock_path is not None:
            self._acquire_file(self.lock_path)
        return self

    def _acquire_file(self, path: Path) -> None:
        try:
            f = path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise StoreError(f"{path}: cannot open the run lock file ({exc.strerror or exc})") from exc
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip()
            f.close()
            who = f" (held by {holder})" if holder else ""
            raise LockedError(f"{self.store}: another qa run is using this store{who}; lock file {path}") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}\n")
        f.flush()
        self._file = f

    def _acquire_advisory(self) -> None:
        try:
            conn = self.store.engine.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar()
            # Leave no transaction open on the lock's connection: the lock is session-wide.
            conn.commit()
        except SQLAlchemyError as exc:
            raise StoreError(f"{self.store}: cannot take the run lock ({exc})") from exc
        if not got:
            holder = self._advisory_holder(conn)
            conn.close()
            who = f" (held by server process {holder})" if holder else ""
            raise LockedError(f"{self.store}: another qa run is using this store{who}")
        self._conn = conn

    def _advisory_holder(self, conn: Any) -> int | None:
        try:
            return conn.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND ((classid::bigint << 32) | objid::bigint) = :key LIMIT 1"
                ),
                {"key": ADVISORY_KEY},
            ).scalar()
        except SQLAlchemyError:
            log.debug("could not look up the advisory lock holder", exc_info=True)
            return None

    def release(self) -> None:
        """Give the lock back (idempotent)."""
        if self._file is not None:
            try:
                self._file.seek(0)
                self._file.truncate()
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            finally:
                self._file.close()
                self._file = None
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                self._conn.commit()
            except SQLAlchemyError:
                # Closing the session below releases the lock anyway.
                log.warning("could not release the advisory lock explicitly", exc_info=True)
            finally:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def run_lock(store: Store) -> RunLock:
    """The run lock of a store (not yet taken; use ``with run_lock(store):``)."""
    return RunLock(store)
