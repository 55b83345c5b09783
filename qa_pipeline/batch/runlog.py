"""What a batch run records and reports as it goes: the JSON-lines run log, the progress
handed to progress bars, and the summary (and failures) handed back to the caller."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable, Mapping

from qa_pipeline.batch.plan import RunPlan
from qa_pipeline.log import get_logger
from qa_pipeline.store import ErrorKind, RunCounts, RunStatus

log = get_logger("batch")


@dataclass(frozen=True)
class CallFailure:
    """A call that failed in this run.

    Attributes:
        call_id: The call.
        path: The recording.
        error: Why (names the file).
        error_kind: The kind of failure.
    """

    call_id: str
    path: str
    error: str
    error_kind: ErrorKind

    def to_dict(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "path": self.path, "error": self.error, "error_kind": self.error_kind.value}


@dataclass(frozen=True)
class BatchProgress:
    """Where a run stands, for progress bars.

    Attributes:
        total: Calls to process in this run.
        done: Calls processed (succeeded or failed).
        failed: Calls that failed.
        skipped: Calls left alone.
        audio_seconds: Audio processed so far.
        elapsed_seconds: Wall time since processing started.
        call_id: The call just finished, or None.
        phase: ``loading model`` while the workers load the recogniser (no call can finish
            before), then ``calls``.
        current: The calls being worked on now (at most one per worker).
        calls_seconds: Wall time since the first call finished after loading (the span the
            call rate is measured over).
        calls_done: Calls finished within ``calls_seconds`` (after that first one).
    """

    total: int
    done: int
    failed: int
    skipped: int
    audio_seconds: float
    elapsed_seconds: float
    call_id: str | None = None
    phase: str = "calls"
    current: tuple[str, ...] = ()
    calls_seconds: float = 0.0
    calls_done: int = 0

    @property
    def speed(self) -> float:
        """Audio seconds per wall second (× real time)."""
        return self.audio_seconds / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    @property
    def calls_per_second(self) -> float | None:
        """Calls finished per second once the model is loaded; None until it can be measured."""
        if self.calls_done < 1 or self.calls_seconds <= 0:
            return None
        return self.calls_done / self.calls_seconds

    @property
    def remaining_seconds(self) -> float | None:
        """Estimated seconds until every call is done, at the current rate; None when unknown."""
        rate = self.calls_per_second
        return None if rate is None else max(self.total - self.done, 0) / rate


ProgressHook = Callable[[BatchProgress], None]


@dataclass(frozen=True)
class RunSummary:
    """What a run did.

    Attributes:
        run_id: The run's number (None for a dry run).
        status: ok, failed (some calls failed) or error.
        counts: Counts as stored in the run record.
        failures: Calls that failed in this run.
        skipped: Skipped calls by reason.
        wall_seconds: Duration.
        log_path: The JSON-lines log, if written.
        plan: The plan (for a dry run: what would be done).
        dry_run: Nothing was written.
        problems: Output the run could not write (transcript copies, its log); the calls are
            stored all the same, and the run counts as failed.
    """

    run_id: int | None
    status: RunStatus
    counts: RunCounts
    failures: tuple[CallFailure, ...]
    skipped: Mapping[str, int]
    wall_seconds: float
    log_path: Path | None
    plan: RunPlan
    dry_run: bool = False
    problems: tuple[str, ...] = ()

    @property
    def speed(self) -> float:
        """Audio seconds per wall second."""
        return self.counts.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status.value,
            "counts": self.counts.to_dict(),
            "failures": [f.to_dict() for f in self.failures],
            "skipped": dict(self.skipped),
            "wall_seconds": round(self.wall_seconds, 3),
            "log_path": None if self.log_path is None else str(self.log_path),
            "dry_run": self.dry_run,
            "ignored": [i.to_dict() for i in self.plan.ignored],
            "problems": list(self.problems),
        }


class RunLog:
    """The run's JSON-lines log: one object per line, flushed as written.

    Args:
        path: The file, or None to write nothing.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.problem: str | None = None
        self._file: IO[str] | None = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._file = path.open("a", encoding="utf-8")
            except OSError as exc:
                self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        # A log that cannot be written must not cost the run its calls: it stops logging, and
        # the run reports why and counts as failed.
        self.problem = f"{self.path}: cannot write the run log ({exc.strerror or exc})"
        self.path = None
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                log.debug("closing the failed run log failed too", exc_info=True)
            self._file = None

    def write(self, event: str, **fields: Any) -> None:
        if self._file is None:
            return
        record = {"ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "event": event, **fields}
        try:
            self._file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            self._file.flush()
        except OSError as exc:
            self._fail(exc)

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError as exc:
                self._fail(exc)
            self._file = None


class LogBridge(logging.Handler):
    """Copies the driver's own warnings into the run log."""

    def __init__(self, run_log: RunLog) -> None:
        super().__init__(logging.WARNING)
        self.run_log = run_log

    def emit(self, record: logging.LogRecord) -> None:
        self.run_log.write("log", level=record.levelname, logger=record.name, message=record.getMessage())
