"""Typed records the store writes and reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Mapping

from qa_pipeline.metadata import CallMetadata
from qa_pipeline.scoring import CallScore
from qa_pipeline.transcript import Transcript


class CallStatus(str, Enum):
    """Outcome of a call's latest processing."""

    OK = "ok"
    FAILED = "failed"


class ErrorKind(str, Enum):
    """What kind of problem failed a call (decides whether a later run retries it)."""

    METADATA = "metadata"  # re-checked on every run: fixing the manifest is enough
    AUDIO = "audio"  # the recording cannot be decoded, is silent, too short…
    MODEL = "model"  # the recogniser cannot handle it (e.g. language)
    SCORING = "scoring"  # the scorecard cannot score it (e.g. language not covered)
    CRASH = "crash"  # the worker process died on it
    INTERNAL = "internal"  # an unexpected error (a bug): the log holds the traceback


class RunStatus(str, Enum):
    """State of a batch run."""

    RUNNING = "running"
    OK = "ok"  # every call processed in the run succeeded
    FAILED = "failed"  # some calls failed
    ERROR = "error"  # the run stopped on an error before finishing
    INTERRUPTED = "interrupted"  # killed; marked so by the next run


@dataclass(frozen=True)
class CallTimings:
    """Seconds spent on one call per stage.

    Attributes:
        hash_s: Hashing the file.
        decode_s: Decoding audio.
        asr_s: Speech recognition.
        merge_s: Roles and turn merging.
        score_s: Scoring.
        cached: The transcript came from the transcript cache or the store.
        vad_s: Of ``asr_s``, the time spent finding speech (0 when the engine does not report
            it). Kept in run logs, not in the store's columns.
    """

    hash_s: float = 0.0
    decode_s: float = 0.0
    asr_s: float = 0.0
    merge_s: float = 0.0
    score_s: float = 0.0
    cached: bool = False
    vad_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "hash_s": round(self.hash_s, 4),
            "decode_s": round(self.decode_s, 4),
            "asr_s": round(self.asr_s, 4),
            "merge_s": round(self.merge_s, 4),
            "score_s": round(self.score_s, 4),
            "cached": self.cached,
            "vad_s": round(self.vad_s, 4),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CallTimings":
        keys = ("hash_s", "decode_s", "asr_s", "merge_s", "score_s", "cached", "vad_s")
        return cls(**{k: data[k] for k in keys if k in data})


@dataclass(frozen=True)
class CallResult:
    """Everything stored for one call in one transaction.

    Attributes:
        meta: Who took the call, when, and the file.
        content_sha256: The recording's content hash.
        file_size: Bytes, for skipping the hash on unchanged files.
        file_mtime_ns: Modification time, for the same.
        status: ok or failed.
        transcript: A new transcript; None keeps the stored one (re-scoring) or has none.
        score: The score against the run's scorecard; None for a failure.
        timings: Seconds per stage.
        error: Why the call failed (names the file), or None.
        error_kind: The kind of failure, or None.
        transcript_path: Where a copy of the transcript JSON was written for reports.
        transcript_json: The transcript's JSON when already serialised (by a worker);
            made from ``transcript`` when None.
        playback_path: The copy of the recording with personal data toned out, which
            reports play instead of it; ``""`` when the call was transcribed without one
            (an older copy is forgotten); None keeps what is stored (re-scoring).
    """

    meta: CallMetadata
    content_sha256: str
    file_size: int | None
    file_mtime_ns: int | None
    status: CallStatus
    transcript: Transcript | None = None
    score: CallScore | None = None
    timings: CallTimings = CallTimings()
    error: str | None = None
    error_kind: ErrorKind | None = None
    transcript_path: str | None = None
    transcript_json: str | None = None
    playback_path: str | None = None


@dataclass(frozen=True)
class StoredCall:
    """What the store knows about a call, for deciding what a run must do.

    Attributes:
        pk: Row id.
        call_id: The call's identifier.
        path: The recording's path when last seen.
        content_sha256: Its content hash.
        file_size: Its size when last seen.
        file_mtime_ns: Its modification time when last seen.
        status: ok or failed.
        error: The failure message, if failed.
        error_kind: The failure kind, if failed.
        engine: Engine of the stored transcript, if any.
        model: Model of the stored transcript, if any.
        scored: The call has a score for the scorecard asked about.
        agent_id: Stored agent.
        agent_name: Stored agent name.
        team: Stored team.
        started_at: Stored start time.
    """

    pk: int
    call_id: str
    path: str
    content_sha256: str
    file_size: int | None
    file_mtime_ns: int | None
    status: CallStatus
    error: str | None
    error_kind: ErrorKind | None
    engine: str | None
    model: str | None
    scored: bool
    agent_id: str | None
    agent_name: str | None
    team: str | None
    started_at: datetime | None


@dataclass(frozen=True)
class RunCounts:
    """What a run did.

    Attributes:
        discovered: Recordings found.
        skipped: Calls left alone (already done, earlier failures, outside --since…).
        transcribed: Calls to transcribe: recognised, or taken from the transcript cache.
        from_cache: Of those, the calls whose transcript came from the cache.
        rescored: Calls scored from their stored transcript.
        succeeded: Calls stored as ok in this run.
        failed: Calls stored as failed in this run.
        audio_seconds: Audio of the calls processed.
    """

    discovered: int = 0
    skipped: int = 0
    transcribed: int = 0
    rescored: int = 0
    succeeded: int = 0
    failed: int = 0
    audio_seconds: float = 0.0
    # Last, so positional construction of the fields above keeps its meaning.
    from_cache: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "discovered": self.discovered,
            "skipped": self.skipped,
            "transcribed": self.transcribed,
            "from_cache": self.from_cache,
            "rescored": self.rescored,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "audio_seconds": round(self.audio_seconds, 3),
        }


@dataclass(frozen=True)
class RunRecord:
    """A batch run as stored.

    Attributes:
        id: Run number.
        started_at: Start (naive UTC).
        ended_at: End, or None while running or when killed.
        status: See :class:`RunStatus`.
        recordings: The recordings folder.
        version: qa_pipeline version.
        options: The run's options.
        counts: What it did.
        wall_seconds: Duration.
        log_path: The run's JSON-lines log.
        error: Why the run stopped, for ``error`` runs.
    """

    id: int
    started_at: datetime
    ended_at: datetime | None
    status: RunStatus
    recordings: str | None
    version: str
    options: Mapping[str, Any]
    counts: RunCounts
    wall_seconds: float | None
    log_path: str | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "status": self.status.value,
            "recordings": self.recordings,
            "version": self.version,
            "options": dict(self.options),
            "counts": self.counts.to_dict(),
            "wall_seconds": self.wall_seconds,
            "log_path": self.log_path,
            "error": self.error,
        }


@dataclass(frozen=True)
class FailedCall:
    """A call whose latest processing failed.

    Attributes:
        call_id: The call.
        path: The recording.
        error: Why (names the file).
        error_kind: The kind of failure.
        run_id: The run that recorded it.
        updated_at: When (naive UTC).
    """

    call_id: str
    path: str
    error: str
    error_kind: ErrorKind | None
    run_id: int | None
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "path": self.path,
            "error": self.error,
            "error_kind": None if self.error_kind is None else self.error_kind.value,
            "run_id": self.run_id,
            "updated_at": self.updated_at.isoformat(),
        }
