"""The results store: calls, transcripts, characteristics, criterion results, scores and runs.

Open one with :meth:`Store.open` (a SQLite file path or a ``postgresql://`` URL); the schema is
migrated on open. :func:`read_frames` gives statistics and reports their two tables.
"""

from __future__ import annotations

import os
from datetime import date, datetime

from qa_pipeline.callrecord import CALL_FRAME_COLUMNS, CRITERIA_FRAME_COLUMNS, LOADED_CALL_COLUMNS
from qa_pipeline.store.records import (
    CallResult,
    CallStatus,
    CallTimings,
    ErrorKind,
    FailedCall,
    RunCounts,
    RunRecord,
    RunStatus,
    StoredCall,
)
from qa_pipeline.store.store import (
    DEFAULT_DB,
    Store,
    database_url,
    transcript_file_name,
)

__all__ = [
    "CALL_FRAME_COLUMNS",
    "CRITERIA_FRAME_COLUMNS",
    "DEFAULT_DB",
    "LOADED_CALL_COLUMNS",
    "CallResult",
    "CallStatus",
    "CallTimings",
    "ErrorKind",
    "FailedCall",
    "RunCounts",
    "RunRecord",
    "RunStatus",
    "Store",
    "StoredCall",
    "database_url",
    "read_frames",
    "transcript_file_name",
]


def read_frames(
    target: str | os.PathLike[str] = DEFAULT_DB,
    period_from: date | datetime | None = None,
    period_to: date | datetime | None = None,
):  # -> qa_pipeline.stats.Frames (imported lazily: statistics pull in scipy)
    """The prepared statistics frames of a store's scored calls.

    Args:
        target: SQLite file path or database URL.
        period_from: First day (inclusive), or None.
        period_to: Last day (inclusive), or None.

    Raises:
        ConfigError: There is no store at ``target``.
        ReportError: The store holds no scored calls.
    """
    from qa_pipeline.errors import ReportError
    from qa_pipeline.stats import prepare_frames

    with Store.open(target, create=False) as store:
        calls, criteria = store.load_frames(period_from, period_to)
        where = str(store)
    if calls.empty:
        raise ReportError(f"{where}: no scored calls yet; run `qa run RECORDINGS` first")
    return prepare_frames(calls, criteria, source=where)
