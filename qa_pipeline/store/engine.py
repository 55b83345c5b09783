"""Where a results store lives and how its engine is made: file paths and URLs, SQLite settings.

A store is a SQLite file by default (WAL journal, so readers such as ``qa status`` never block a
running batch) or PostgreSQL by URL.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from qa_pipeline.errors import ConfigError

DEFAULT_DB = "qa.db"

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


def sqlite_engine(url: URL) -> Engine:
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



def db_reason(exc: SQLAlchemyError) -> str:
    """The first line of what the database said, for an error message."""
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]
