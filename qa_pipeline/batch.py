"""The nightly batch: every new recording in a folder transcribed, scored and stored, once.

``run_batch`` takes the store's run lock, then:

1. finds the recordings and their metadata (:func:`qa_pipeline.ingest.discover_calls`);
2. plans each call (:func:`plan_run`): a call is *done* when the store holds its recording's
   content hash with a transcript from the same engine and model and a score for the same
   scorecard; such calls are skipped without being decoded (a file whose size and
   modification time are unchanged is not even re-hashed). A call with a matching transcript
   but no score for this scorecard is re-scored from the stored transcript, without ASR.
   Calls that failed before are skipped unless ``retry_failed`` (metadata failures are
   re-checked every run, since fixing the manifest is enough to fix them);
3. transcribes and scores in worker processes, each loading the model and scorecard once (or
   in Ray actors with ``executor="ray"``: :mod:`qa_pipeline.executors.ray_executor`);
4. writes each call in its own transaction as its result arrives, so a crash loses at most
   the calls in flight, and a re-run picks them up;
5. records the run (counts, options, version) and writes a JSON-lines log of it.

One bad recording fails that call only, with the reason (``…: truncated: …``, ``…: silent:
…``). A worker process that dies is replaced; a call that kills two workers is recorded as
failed. A recording whose call id another recording holds fails without touching the stored
call. The run's own output folders are never searched for recordings, and transcript copies or
a run log that cannot be written fail the run (with the reason) but never cost it its calls.

Workers are started with ``spawn`` (they must not inherit the lock or database connections),
so a script that calls :func:`run_batch` needs the usual ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import time
import traceback
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from enum import Enum
from pathlib import Path
from typing import IO, Any, Callable, Mapping

from qa_pipeline import __version__
from qa_pipeline.audio import SILENCE_DB
from qa_pipeline.errors import AudioError, ConfigError, ModelError, QAError, ScorecardError, TranscriptError
from qa_pipeline.ingest import IgnoredFile
from qa_pipeline.log import LOGGER_NAME, get_logger
from qa_pipeline.metadata import CallMetadata, MetadataOptions
from qa_pipeline.options import AudioOptions, TranscribeOptions
from qa_pipeline.pii import RedactionOptions
from qa_pipeline.pii.stored import REDACTION_REASON, drop_other_scores, needs_redaction
from qa_pipeline.scoring import CallScore, ScoringOptions
from qa_pipeline.store import (
    CallResult,
    CallStatus,
    CallTimings,
    ErrorKind,
    RunCounts,
    RunStatus,
    Store,
    StoredCall,
    transcript_file_name,
)
from qa_pipeline.transcript import Transcript

log = get_logger("batch")

# A channel sounding in less than this share of 20 ms frames counts as silent.
SILENT_ACTIVITY = 0.005


EXECUTORS = ("local", "ray")


class Action(str, Enum):
    """What a run does with a call."""

    TRANSCRIBE = "transcribe"
    RESCORE = "rescore"
    FAIL = "fail"  # record a failure found while planning (metadata, unreadable, empty)
    SKIP = "skip"


@dataclass(frozen=True)
class BatchOptions:
    """One batch run.

    Attributes:
        recordings: The recordings folder (None only with ``rescore``).
        scorecard: The scorecard file.
        audio: Decoding and channel options.
        transcribe: Recognition options.
        metadata: Where call metadata comes from.
        scoring: Scoring options.
        workers: Worker processes.
        rescore: Only re-score stored transcripts that lack a score for this scorecard; no
            discovery, no transcription.
        retry_failed: Process calls that failed in earlier runs again.
        since: Only calls that started on or after this day.
        limit: At most this many calls processed (the rest wait for the next run).
        dry_run: Plan only: write nothing.
        cache_dir: Transcript cache folder; None = the default cache.
        use_cache: Read and write the transcript cache.
        transcripts_dir: Where a copy of each new transcript is written for report call
            pages; None = none.
        log_dir: Folder of the run's JSON-lines log; None = no log file.
        min_duration_seconds: Shorter recordings fail as too short to score.
        redaction: Personal-data redaction of new transcripts (on by default), and the
            redacted audio copies.
        executor: Where calls are transcribed and scored: ``local`` (worker processes on this
            machine) or ``ray`` (a Ray cluster, see :mod:`qa_pipeline.executors.ray_executor`).
        ray_address: The Ray cluster for ``ray``: ``auto``, ``HOST:PORT`` or
            ``ray://HOST:PORT``; None = a new local cluster (or ``RAY_ADDRESS``).
        exclude: More folders (or files) never searched for recordings, such as the reports
            folder and the store; the run's transcripts, log, cache and redacted-audio
            folders are left out anyway (see :attr:`output_paths`).
    """

    recordings: Path | None
    scorecard: Path
    audio: AudioOptions = field(default_factory=AudioOptions)
    transcribe: TranscribeOptions = field(default_factory=TranscribeOptions)
    metadata: MetadataOptions = field(default_factory=MetadataOptions)
    scoring: ScoringOptions = field(default_factory=ScoringOptions)
    workers: int = 1
    rescore: bool = False
    retry_failed: bool = False
    since: date | None = None
    limit: int | None = None
    dry_run: bool = False
    cache_dir: Path | None = None
    use_cache: bool = True
    transcripts_dir: Path | None = None
    log_dir: Path | None = None
    min_duration_seconds: float = 1.0
    redaction: RedactionOptions = field(default_factory=RedactionOptions)
    executor: str = "local"
    ray_address: str | None = None
    exclude: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigError("workers must be at least 1")
        if self.limit is not None and self.limit < 0:
            raise ConfigError("limit must not be negative")
        if self.min_duration_seconds < 0:
            raise ConfigError("min_duration_seconds must not be negative")
        if self.recordings is None and not self.rescore:
            raise ConfigError("a recordings folder is needed (only --rescore works without one)")
        if self.executor not in EXECUTORS:
            raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "recordings": None if self.recordings is None else str(self.recordings),
            "scorecard": str(self.scorecard),
            "audio": self.audio.to_dict(),
            "transcribe": self.transcribe.to_dict(),
            "metadata": self.metadata.to_dict(),
            "scoring": self.scoring.to_dict(),
            "workers": self.workers,
            "rescore": self.rescore,
            "retry_failed": self.retry_failed,
            "since": None if self.since is None else self.since.isoformat(),
            "limit": self.limit,
            "dry_run": self.dry_run,
            "cache_dir": None if self.cache_dir is None else str(self.cache_dir),
            "use_cache": self.use_cache,
            "transcripts_dir": None if self.transcripts_dir is None else str(self.transcripts_dir),
            "log_dir": None if self.log_dir is None else str(self.log_dir),
            "min_duration_seconds": self.min_duration_seconds,
            "redaction": self.redaction.to_dict(),
            "executor": self.executor,
            "ray_address": self.ray_address,
            "exclude": [str(p) for p in self.exclude],
        }

    @property
    def output_paths(self) -> tuple[Path, ...]:
        """Where the run writes: never searched for recordings, or a report's audio copies
        would come back as new calls in the next run."""
        paths = [*self.exclude, self.transcripts_dir, self.log_dir, self.redaction.audio_dir]
        if self.use_cache:
            from qa_pipeline.cache import default_cache_dir

            paths.append(self.cache_dir or default_cache_dir())
        return tuple(Path(p).expanduser() for p in paths if p is not None)


@dataclass(frozen=True)
class PlannedCall:
    """A call and what the run will do with it.

    Attributes:
        meta: The call's metadata.
        action: transcribe, rescore, fail or skip.
        reason: Why, in words (``new``, ``already done``, ``failed before: …``).
        sha256: Content hash, when known.
        file_size: Bytes, when known.
        file_mtime_ns: Modification time, when known.
        pk: The stored row to update, if any.
        error: For ``fail``: the message.
        error_kind: For ``fail``: the kind.
        record: For ``fail``: store the failure. False for a recording whose call id another
            recording holds: its row is that call's, and must not be overwritten.
    """

    meta: CallMetadata
    action: Action
    reason: str
    sha256: str | None = None
    file_size: int | None = None
    file_mtime_ns: int | None = None
    pk: int | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None
    record: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.meta.call_id,
            "path": str(self.meta.path),
            "action": self.action.value,
            "reason": self.reason,
            "error": self.error,
        }


@dataclass(frozen=True)
class RunPlan:
    """What a run will do.

    Attributes:
        calls: Every call considered, in order.
        discovered: Recordings found (or stored transcripts considered, for ``rescore``).
        hash_seconds: Time spent hashing files while planning.
        updates: Metadata changes to apply to stored calls that are otherwise done.
        ignored: Audio-named files left out because they are not regular files (FIFOs,
            devices, links to them).
    """

    calls: tuple[PlannedCall, ...]
    discovered: int
    hash_seconds: float = 0.0
    updates: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    ignored: tuple[IgnoredFile, ...] = ()

    def of(self, action: Action) -> list[PlannedCall]:
        return [c for c in self.calls if c.action is action]

    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(_reason_group(c.reason) for c in self.calls if c.action is Action.SKIP))


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


# Worker processes chosen without --workers: one per core up to this many. Each loads its own
# model copy, so memory, not cores, bounds more; on many cores, bigger models use the extra
# cores as inference threads instead (the threads are shared out among the workers).
MAX_AUTO_WORKERS = 4


def auto_workers(options: TranscribeOptions, executor: str = "local") -> int:
    """Worker processes for a run that does not say how many.

    faster-whisper on a CPU: one worker per core (up to :data:`MAX_AUTO_WORKERS`), each with
    an equal share of the cores as inference threads. On two idle cores two single-threaded
    workers ran 10 minutes of calls in 15.3 s against 24.1 s for one worker with two threads
    (``qa bench``, packed decoding): VAD, decoding, feature extraction and word alignment run on one thread,
    and Whisper tiny's small matrices do not spread well over two. On a GPU one worker, which
    keeps the GPU busy with batches. openai-whisper: one worker, whose PyTorch uses all the
    cores (two single-threaded workers were 2.7 times slower). On Ray, one (``--workers``
    counts actors across the cluster).
    """
    if executor != "local" or options.engine == "openai-whisper":
        return 1
    from qa_pipeline.asr.device import available_cores, resolve_device

    if resolve_device(options.device) == "cuda":
        return 1
    return max(1, min(available_cores(), MAX_AUTO_WORKERS))


# --------------------------------------------------------------------------- identity
def model_label(options: TranscribeOptions) -> str:
    """The model name engines record in transcripts for these options, without loading it.

    The bundled model is ``tiny.en``; a local path is recorded as given (user folder
    expanded); a model name as written.
    """
    from qa_pipeline.asr.models import BUNDLED_MODEL_NAME

    model = options.model
    if model is None or model == "bundled":
        return BUNDLED_MODEL_NAME
    path = Path(model).expanduser()
    if path.exists() or os.sep in model or model.startswith("."):
        return str(path)
    return model


# --------------------------------------------------------------------------- planning
def plan_run(store: Store, options: BatchOptions, scorecard_hash: str) -> RunPlan:
    """Decide what a run does with each call, without changing anything.

    Raises:
        AudioError: The recordings folder does not exist.
        ConfigError: A manifest cannot be read.
    """
    if options.rescore:
        return _plan_rescore(store, options, scorecard_hash)
    from qa_pipeline.audio import file_sha256
    from qa_pipeline.ingest import discover_recordings

    if options.recordings is None:
        raise ConfigError("a recordings folder is needed (only --rescore works without one)")
    # Absolute paths, so a run from another folder recognises the same files.
    metas, ignored = discover_recordings(
        Path(options.recordings).expanduser().resolve(), options.metadata, options.output_paths
    )
    known = store.known_calls(scorecard_hash)
    by_path = {k.path: k for k in known}
    by_id = {k.call_id: k for k in known}
    owners = _call_id_owners(metas, by_id)
    by_sha = {k.content_sha256: k for k in known}
    engine, model = options.transcribe.engine, model_label(options.transcribe)
    planned: list[PlannedCall] = []
    updates: dict[int, dict[str, Any]] = {}
    seen_sha: dict[str, Path] = {}
    hash_seconds = 0.0
    work = 0

    def add(item: PlannedCall) -> None:
        nonlocal work
        if item.action is not Action.SKIP:
            if options.limit is not None and work >= options.limit:
                item = replace(item, action=Action.SKIP, reason=f"beyond --limit {options.limit}")
            else:
                work += 1
        planned.append(item)

    for meta in metas:
        owner = owners.get(meta.call_id)
        if owner is not None and owner != meta.path:
            error = (f"{meta.path}: call_id {meta.call_id!r} is already used by {owner}; "
                     "give each recording its own call_id")
            add(PlannedCall(meta, Action.FAIL, "duplicate call id", error=error, error_kind=ErrorKind.METADATA, record=False))
            continue
        if owner is not None and meta.problem == f"call_id {meta.call_id!r} is already used by {_first_other(metas, meta)}":
            # The stored call keeps its id: the duplicate is the other recording.
            meta = replace(meta, problem=None)
        if options.since is not None and meta.started_at.date() < options.since:
            add(PlannedCall(meta, Action.SKIP, f"started before --since {options.since}"))
            continue
        path_key = str(meta.path)
        earlier = by_path.get(path_key) or by_id.get(meta.call_id)
        try:
            st = meta.path.stat()
            size, mtime = st.st_size, st.st_mtime_ns
            if size == 0:
                raise AudioError(f"{meta.path}: empty file (0 bytes), zero length")
            if earlier is not None and earlier.path == path_key and (earlier.file_size, earlier.file_mtime_ns) == (size, mtime):
                sha = earlier.content_sha256
            else:
                started = time.perf_counter()
                try:
                    sha = file_sha256(meta.path)
                finally:
                    hash_seconds += time.perf_counter() - started
        except (OSError, AudioError) as exc:
            error = str(exc) if isinstance(exc, AudioError) else f"{meta.path}: cannot read file ({exc.strerror or exc})"
            add(_unreadable(meta, error, earlier, options))
            continue
        if sha in seen_sha:
            add(PlannedCall(meta, Action.SKIP, f"same audio as {seen_sha[sha]}", sha, size, mtime))
            continue
        seen_sha[sha] = meta.path
        stored = by_sha.get(sha)
        if stored is not None and stored.call_id != meta.call_id:
            other = by_id.get(meta.call_id)
            # Another file still holds this audio, or this call id already belongs to other
            # audio: a duplicate. Otherwise the recording was renamed or re-identified.
            if (Path(stored.path).exists() and stored.path != path_key) or other is not None:
                add(PlannedCall(meta, Action.SKIP, f"same audio as call {stored.call_id} ({stored.path})", sha, size, mtime))
                continue
        if stored is None:
            stored = by_id.get(meta.call_id)
        item = _plan_one(meta, stored, sha, size, mtime, engine, model, options)
        if item.action is Action.SKIP and stored is not None and stored.content_sha256 == sha:
            change = _metadata_change(stored, meta, size, mtime, by_id)
            if change:
                updates[stored.pk] = change
        add(item)
    return RunPlan(tuple(planned), len(metas), hash_seconds, updates, tuple(ignored))


def _call_id_owners(metas: list[CallMetadata], by_id: Mapping[str, StoredCall]) -> dict[str, Path]:
    """For each call id given to more than one recording, the recording that keeps it.

    That is the one the store already holds under the id, else the first found; the others
    fail without touching the stored call, so the same files give the same outcome every run.
    """
    paths: dict[str, list[Path]] = {}
    for meta in metas:
        paths.setdefault(meta.call_id, []).append(meta.path)
    owners = {}
    for call_id, group in paths.items():
        if len(group) < 2:
            continue
        stored = by_id.get(call_id)
        owners[call_id] = next((p for p in group if stored is not None and str(p) == stored.path), group[0])
    return owners


def _first_other(metas: list[CallMetadata], meta: CallMetadata) -> Path | None:
    return next((m.path for m in metas if m.call_id == meta.call_id and m.path != meta.path), None)


def _plan_one(
    meta: CallMetadata,
    stored: StoredCall | None,
    sha: str,
    size: int,
    mtime: int,
    engine: str,
    model: str,
    options: BatchOptions,
) -> PlannedCall:
    pk = None if stored is None else stored.pk
    if meta.problem:
        if stored is not None and stored.content_sha256 == sha and stored.status is CallStatus.OK:
            # Don't throw away a scored call because its metadata went missing later.
            return PlannedCall(meta, Action.SKIP, f"already done (metadata now incomplete: {meta.problem})", sha, size, mtime, pk)
        if (
            stored is not None
            and stored.content_sha256 == sha
            and stored.error == f"{meta.path}: {meta.problem}"
            and not options.retry_failed
        ):
            return PlannedCall(meta, Action.SKIP, f"failed before: {stored.error}", sha, size, mtime, pk)
        return PlannedCall(meta, Action.FAIL, "metadata", sha, size, mtime, pk, f"{meta.path}: {meta.problem}", ErrorKind.METADATA)
    if stored is None or stored.content_sha256 != sha:
        return PlannedCall(meta, Action.TRANSCRIBE, "new" if stored is None else "recording changed", sha, size, mtime, pk)
    same_asr = stored.engine == engine and stored.model == model
    if stored.status is CallStatus.FAILED and stored.error_kind is not ErrorKind.METADATA and not options.retry_failed:
        return PlannedCall(meta, Action.SKIP, f"failed before: {stored.error}", sha, size, mtime, pk)
    if not same_asr:
        reason = "retry" if stored.status is CallStatus.FAILED else ("engine or model changed" if stored.engine else "no transcript")
        return PlannedCall(meta, Action.TRANSCRIBE, reason, sha, size, mtime, pk)
    if stored.status is CallStatus.FAILED or not stored.scored:
        reason = "retry" if stored.status is CallStatus.FAILED else "scorecard changed"
        return PlannedCall(meta, Action.RESCORE, reason, sha, size, mtime, pk)
    return PlannedCall(meta, Action.SKIP, "already done", sha, size, mtime, pk)


def _unreadable(meta: CallMetadata, error: str, earlier: StoredCall | None, options: BatchOptions) -> PlannedCall:
    """A recording that cannot be read or is empty: a failure, unless known already."""
    if earlier is not None and earlier.status is CallStatus.OK:
        # Keep the scored result of a recording that has since been damaged or emptied.
        log.warning("%s: keeping the stored result; the file now fails: %s", meta.path, error)
        return PlannedCall(meta, Action.SKIP, f"already done (the file now fails: {error})", pk=earlier.pk)
    if earlier is not None and earlier.error == error and not options.retry_failed:
        return PlannedCall(meta, Action.SKIP, f"failed before: {error}", pk=earlier.pk)
    return PlannedCall(
        meta, Action.FAIL, ErrorKind.AUDIO.value, _placeholder_sha("unread", meta.call_id), None, None,
        None if earlier is None else earlier.pk, error, ErrorKind.AUDIO,
    )


def _placeholder_sha(prefix: str, call_id: str) -> str:
    # A recording without readable content still needs a unique content key in the store.
    import hashlib

    return f"{prefix}-{hashlib.sha256(call_id.encode()).hexdigest()}"[:64]


def _metadata_change(
    stored: StoredCall, meta: CallMetadata, size: int, mtime: int, by_id: Mapping[str, StoredCall]
) -> dict[str, Any]:
    change: dict[str, Any] = {}
    if stored.path != str(meta.path):
        change["path"] = str(meta.path)
    if stored.file_size != size or stored.file_mtime_ns != mtime:
        change.update(file_size=size, file_mtime_ns=mtime)
    if meta.problem is None:
        for name in ("agent_id", "agent_name", "team", "started_at"):
            if getattr(stored, name) != getattr(meta, name):
                change[name] = getattr(meta, name)
        if stored.call_id != meta.call_id and meta.call_id not in by_id:
            change["call_id"] = meta.call_id
    return change


def _plan_rescore(store: Store, options: BatchOptions, scorecard_hash: str) -> RunPlan:
    from qa_pipeline.pii.stored import calls_to_redact

    rows = store.calls_to_rescore(scorecard_hash, options.since, options.limit, include_failed=options.retry_failed)
    planned = [
        PlannedCall(meta, Action.RESCORE, "scorecard changed" if k.status is CallStatus.OK else "retry",
                    k.content_sha256, k.file_size, k.file_mtime_ns, k.pk)
        for k, meta in rows
    ]
    # Transcripts stored with less redaction than asked for are redacted and re-scored even
    # when already scored: that is how a store is cleaned of personal data afterwards.
    queued = {item.pk for item in planned}
    for k, meta in calls_to_redact(store, options.redaction, options.since, include_failed=options.retry_failed):
        if options.limit is not None and len(planned) >= options.limit:
            break
        if k.pk not in queued:
            planned.append(PlannedCall(meta, Action.RESCORE, REDACTION_REASON, k.content_sha256, k.file_size,
                                       k.file_mtime_ns, k.pk))
    return RunPlan(tuple(planned), len(planned))


def _reason_group(reason: str) -> str:
    for prefix in ("failed before", "same audio as", "already done", "started before", "beyond --limit"):
        if reason.startswith(prefix):
            return prefix
    return reason


# --------------------------------------------------------------------------- workers
@dataclass(frozen=True)
class WorkerConfig:
    """What each worker process loads once.

    Attributes:
        scorecard: The scorecard file.
        scorecard_hash: Its content hash as the run saw it (a changed file is refused).
        audio: Decoding options.
        transcribe: Recognition options (as recorded and used for cache keys).
        scoring: Scoring options.
        cache_dir: Transcript cache, or None for none.
        load_engine: Load the recogniser (not needed to re-score).
        engine_threads: Inference threads for this worker's engine.
        min_duration_seconds: Shortest recording scored.
        redaction: Personal-data redaction of new transcripts and audio copies.
        engine_device: The device every worker's engine uses, resolved once for the run
            (``cpu`` or ``cuda``); None = resolve ``transcribe.device`` in the worker.
        parent_pid: The driver process of a local worker, which ends when it is gone (see
            :mod:`qa_pipeline.executors.lifeline`); None for Ray actors, which Ray ends with
            their driver.
    """

    scorecard: str
    scorecard_hash: str
    audio: AudioOptions
    transcribe: TranscribeOptions
    scoring: ScoringOptions
    cache_dir: str | None
    load_engine: bool
    engine_threads: int
    min_duration_seconds: float
    redaction: RedactionOptions = field(default_factory=RedactionOptions)
    engine_device: str | None = None
    parent_pid: int | None = None


@dataclass(frozen=True)
class CallTask:
    """One call for a worker: transcribe ``path``, or score ``transcript_json``."""

    call_id: str
    path: str
    transcript_json: str | None = None
    sha256: str | None = None  # hashed while planning: the worker need not read the file again


@dataclass(frozen=True)
class CallOutcome:
    """What a worker returns for one call.

    Attributes:
        call_id: The call.
        ok: Transcribed and scored.
        transcript: A new transcript (None when re-scored from the store, or on failure).
        transcript_json: Its JSON, serialised in the worker so the driver only writes it.
        score: The score, when ok.
        audio_seconds: The recording's length (0 when unknown).
        timings: Seconds per stage.
        error: Why it failed.
        error_kind: The kind of failure.
        fatal: The worker could not start at all (the run stops).
        logs: Log records the worker produced for this call.
        playback_path: The redacted copy of the recording written for it; ``""`` when the
            call was transcribed without one; None when it was re-scored.
    """

    call_id: str
    ok: bool
    transcript: Transcript | None = None
    transcript_json: str | None = None
    score: CallScore | None = None
    audio_seconds: float = 0.0
    timings: CallTimings = CallTimings()
    error: str | None = None
    error_kind: ErrorKind | None = None
    fatal: bool = False
    logs: tuple[Mapping[str, Any], ...] = ()
    playback_path: str | None = None


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append({"level": record.levelname, "logger": record.name, "message": record.getMessage()})


@dataclass
class _WorkerState:
    config: WorkerConfig
    handler: _ListHandler
    scorecard: Any = None
    engine: Any = None
    cache: Any = None
    fatal: str | None = None
    agent_phrases: tuple[str, ...] = ()  # the scorecard's agent phrases: evidence of who is the agent


_STATE: _WorkerState | None = None


def init_worker(config: WorkerConfig) -> None:
    """Process-pool initializer: load the scorecard and the engine once for this worker.

    A failure is kept and reported with the first task (the run stops with its message)
    rather than breaking the pool, which would hide the reason.
    """
    global _STATE
    if config.parent_pid is not None:
        from qa_pipeline.executors.lifeline import die_with_parent

        # A SIGKILLed qa run must not leave its workers (a model in memory each) running.
        die_with_parent(config.parent_pid)
    handler = _ListHandler()
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    state = _WorkerState(config, handler)
    _STATE = state
    try:
        from qa_pipeline.cache import TranscriptCache
        from qa_pipeline.scorecard import load_scorecard

        state.scorecard = load_scorecard(config.scorecard)
        if state.scorecard.content_hash != config.scorecard_hash:
            raise ScorecardError(f"{config.scorecard}: the scorecard changed while the run was starting; run again")
        from qa_pipeline.roles import scorecard_agent_phrases

        state.agent_phrases = scorecard_agent_phrases(state.scorecard)
        if config.load_engine:
            # Before the engine loads MKL (CTranslate2's GEMM library on Intel CPUs): strict
            # conditional numerical reproducibility makes its GEMM results independent of the
            # thread count, which differs between executors and worker counts. Other CPUs use
            # oneDNN, whose results measured the same with 1, 2 and 8 threads.
            os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")
            from qa_pipeline.asr import create_engine

            engine_options = replace(config.transcribe, cpu_threads=config.engine_threads)
            if config.engine_device is not None:
                engine_options = replace(engine_options, device=config.engine_device)
            state.engine = create_engine(engine_options)
        state.cache = TranscriptCache(config.cache_dir) if config.cache_dir is not None else None
    except QAError as exc:
        state.fatal = str(exc)
    except Exception as exc:  # noqa: BLE001 - reported to the driver, which stops the run with it
        state.fatal = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"


def process_call(task: CallTask) -> CallOutcome:
    """Transcribe (or take the stored transcript) and score one call, in a worker."""
    from qa_pipeline.pii import write_redacted_copy
    from qa_pipeline.pipeline import StageTimings, transcribe_call
    from qa_pipeline.role_step import assign_roles
    from qa_pipeline.scorecard_routing import scorecard_for_call
    from qa_pipeline.scoring import score_transcript

    state = _STATE
    if state is None or state.fatal is not None:
        return CallOutcome(task.call_id, False, error=state.fatal if state else "worker not initialised", fatal=True)
    state.handler.records.clear()
    stage = StageTimings()
    score_s = 0.0
    audio_seconds = 0.0
    playback: str | None = None
    try:
        if task.transcript_json is not None:
            stored = Transcript.from_dict(json.loads(task.transcript_json))
            transcript = redact_stored(stored, state.config.redaction)
            # The scorecard may have changed since: its agent phrases decide the roles again.
            transcript = assign_roles(transcript, state.agent_phrases, state.config.audio.roles_review_below)
            stage.cached = True
            if state.cache is not None and task.sha256 and state.config.redaction.enabled:
                # Cached transcripts made with other redaction settings may hold what is now redacted.
                state.cache.drop(task.sha256, keep_redaction=state.config.redaction.cache_key())
            new_transcript = None if transcript is stored else transcript
        else:
            cfg = state.config
            transcript = transcribe_call(
                task.path, state.engine, cfg.audio, cfg.transcribe, task.call_id, state.cache, stage, sha256=task.sha256,
                redaction=cfg.redaction,
            )
            transcript = assign_roles(transcript, state.agent_phrases, cfg.audio.roles_review_below)
            copy = write_redacted_copy(task.path, transcript, cfg.redaction)
            playback = "" if copy is None else str(Path(copy).resolve())
            new_transcript = transcript
            audio_seconds = transcript.duration
            check_scorable(transcript, Path(task.path), cfg.audio, cfg.min_duration_seconds, stage.activity)
        audio_seconds = transcript.duration
        started = time.perf_counter()
        card = scorecard_for_call(task.call_id, transcript.language, state.scorecard)
        score = score_transcript(transcript, card, state.config.scoring)
        score_s = time.perf_counter() - started
        document = None if new_transcript is None else transcript_document(new_transcript)
        return CallOutcome(
            task.call_id, True, new_transcript, document, score, audio_seconds, _timings(stage, score_s),
            logs=_logs(state), playback_path=playback,
        )
    except AudioError as exc:
        return _failed(task, exc, ErrorKind.AUDIO, stage, audio_seconds, state)
    except ModelError as exc:
        return _failed(task, exc, ErrorKind.MODEL, stage, audio_seconds, state)
    except (ScorecardError, ConfigError) as exc:
        return _failed(task, exc, ErrorKind.SCORING, stage, audio_seconds, state)
    except TranscriptError as exc:
        return _failed(task, exc, ErrorKind.INTERNAL, stage, audio_seconds, state)
    except Exception as exc:  # noqa: BLE001 - one call's bug must not stop the batch; recorded with its traceback
        outcome = _failed(task, exc, ErrorKind.INTERNAL, stage, audio_seconds, state)
        tb = {"level": "ERROR", "logger": "qa_pipeline.batch", "message": traceback.format_exc()}
        return replace(outcome, error=f"{task.path}: internal error: {type(exc).__name__}: {exc}", logs=outcome.logs + (tb,))


def redact_stored(transcript: Transcript, options: RedactionOptions) -> Transcript:
    """Apply the run's redaction to a stored transcript before it is re-scored.

    A store written before redaction was turned on, or with fewer entities, gets its personal
    data removed by ``qa run --rescore`` without recognising the audio again. Redaction only
    removes: entities redacted earlier stay redacted, and their counts are kept.

    Returns:
        ``transcript`` itself when there is nothing to change, else the redacted transcript.
    """
    if not options.enabled:
        return transcript
    from qa_pipeline.pii import redact_transcript, redaction_record

    earlier = redaction_record(transcript) or {}
    result = redact_transcript(transcript, options)
    if not result.spans and not needs_redaction(transcript.options, options):
        return transcript
    record = redaction_record(result.transcript) or {}
    counts = Counter({str(k): int(v) for k, v in dict(earlier.get("counts") or {}).items()})
    counts.update(result.counts())
    record["counts"] = dict(sorted(counts.items()))
    record["entities"] = sorted(set(record.get("entities", ())) | set(earlier.get("entities", ())))
    return replace(result.transcript, options={**result.transcript.options, "redaction": record})


def transcript_document(transcript: Transcript) -> str:
    """A transcript's compact JSON, as stored and as copied for reports."""
    return json.dumps(transcript.to_dict(), ensure_ascii=False, separators=(",", ":"))


def check_scorable(
    transcript: Transcript, path: Path, audio: AudioOptions, min_duration_seconds: float, activity: float | None = None
) -> None:
    """Refuse recordings that cannot be scored meaningfully, with the specific reason.

    Args:
        transcript: The call's transcript.
        path: The recording, for messages (and decoded only when ``activity`` is unknown).
        audio: How to decode it.
        min_duration_seconds: Shorter calls are refused.
        activity: The loudest channel's share of sounding frames, when the transcription
            measured it (a fresh transcript without words); None after a cache hit.

    Raises:
        AudioError: Too short, silent, or sound without speech (music, tones, noise).
    """
    duration = transcript.duration
    if duration < min_duration_seconds:
        raise AudioError(f"{path}: too short to score: {duration:.2f}s of audio (minimum {min_duration_seconds:g}s)")
    if transcript.turns:
        return
    if activity is None:
        from qa_pipeline.audio import channel_activity, load_audio

        decoded = load_audio(path, audio)
        activity = max(channel_activity(ch, decoded.sample_rate, SILENCE_DB) for ch in decoded.channels)
    if activity < SILENT_ACTIVITY:
        raise AudioError(f"{path}: silent: no sound above {SILENCE_DB:g} dBFS in {duration:.1f}s of audio")
    raise AudioError(
        f"{path}: no speech recognised: {duration:.1f}s of sound without words (music, tones or noise only)"
    )


def _timings(stage: Any, score_s: float) -> CallTimings:
    return CallTimings(stage.hash, stage.decode, stage.asr, stage.merge, score_s, bool(stage.cached), stage.vad)


def _logs(state: _WorkerState) -> tuple[Mapping[str, Any], ...]:
    return tuple(state.handler.records)


def _failed(task: CallTask, exc: BaseException, kind: ErrorKind, stage: Any, audio_seconds: float, state: _WorkerState) -> CallOutcome:
    message = str(exc)
    if task.path not in message:
        message = f"{task.path}: {message}"
    return CallOutcome(task.call_id, False, audio_seconds=audio_seconds, timings=_timings(stage, 0.0), error=message,
                       error_kind=kind, logs=_logs(state))


# --------------------------------------------------------------------------- the run
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


class _LogBridge(logging.Handler):
    """Copies the driver's own warnings into the run log."""

    def __init__(self, run_log: RunLog) -> None:
        super().__init__(logging.WARNING)
        self.run_log = run_log

    def emit(self, record: logging.LogRecord) -> None:
        self.run_log.write("log", level=record.levelname, logger=record.name, message=record.getMessage())


def run_batch(store: Store, options: BatchOptions, progress: ProgressHook | None = None) -> RunSummary:
    """Run the batch over a recordings folder (see the module docstring).

    Args:
        store: The results store.
        options: What to run.
        progress: Called after each call with a :class:`BatchProgress`.

    Returns:
        The run's summary; ``status`` is ``failed`` when some calls failed.

    Raises:
        LockedError: Another run holds the store's lock.
        ConfigError: The scorecard, options or a worker's model cannot be used.
        AudioError: The recordings folder does not exist.
        StoreError: The store cannot be written.
    """
    from qa_pipeline.lock import run_lock
    from qa_pipeline.scorecard import load_scorecard

    if options.executor == "ray":
        from qa_pipeline.executors.ray_executor import require_ray

        require_ray()
    try:
        card = load_scorecard(options.scorecard)
    except ScorecardError as exc:
        raise ConfigError(f"scorecard: {exc}") from exc
    if options.dry_run:
        started = time.perf_counter()
        plan = plan_run(store, options, card.content_hash)
        counts = _planned_counts(plan)
        return RunSummary(None, RunStatus.OK, counts, (), plan.skipped_by_reason(), time.perf_counter() - started, None, plan, True)
    with run_lock(store):
        return _locked_run(store, options, card, progress)


def _planned_counts(plan: RunPlan) -> RunCounts:
    return RunCounts(
        discovered=plan.discovered,
        skipped=len(plan.of(Action.SKIP)),
        transcribed=len(plan.of(Action.TRANSCRIBE)),
        rescored=len(plan.of(Action.RESCORE)),
        failed=len(plan.of(Action.FAIL)),
    )


def _locked_run(store: Store, options: BatchOptions, card: Any, progress: ProgressHook | None) -> RunSummary:
    started = time.perf_counter()
    interrupted = store.mark_interrupted_runs()
    run_id = store.start_run(None if options.recordings is None else str(options.recordings), options.to_dict())
    log_path = None if options.log_dir is None else Path(options.log_dir) / f"run-{run_id:06d}.jsonl"
    run_log = RunLog(log_path)
    if run_log.path is not None:
        store.set_run_log(run_id, str(run_log.path))
    bridge = _LogBridge(run_log)
    logging.getLogger(LOGGER_NAME).addHandler(bridge)
    runner = _Runner(store, options, card, run_id, run_log, progress)
    plan: RunPlan | None = None
    try:
        run_log.write("run_start", run_id=run_id, version=__version__, store=str(store), options=options.to_dict(),
                      scorecard={"name": card.name, "hash": card.content_hash}, interrupted_runs=interrupted)
        plan = plan_run(store, options, card.content_hash)
        summary = runner.run(plan, started)
        run_log.write("run_end", **summary.to_dict())
        return summary
    except BaseException as exc:
        counts = runner.counts(0 if plan is None else plan.discovered)
        message = str(exc) or type(exc).__name__
        if isinstance(exc, KeyboardInterrupt):
            message = "interrupted by the user"
        store.finish_run(run_id, RunStatus.ERROR, counts, time.perf_counter() - started, message)
        run_log.write("run_end", run_id=run_id, status=RunStatus.ERROR.value, error=message, counts=counts.to_dict())
        raise
    finally:
        logging.getLogger(LOGGER_NAME).removeHandler(bridge)
        run_log.close()


class _Runner:
    """Executes a plan: workers, saving, counting, progress."""

    def __init__(self, store: Store, options: BatchOptions, card: Any, run_id: int, run_log: RunLog, progress: ProgressHook | None) -> None:
        self.store = store
        self.options = options
        self.card = card
        self.run_id = run_id
        self.log = run_log
        self.progress = progress
        self.failures: list[CallFailure] = []
        self.problems: list[str] = []
        self.succeeded = 0
        self.transcribed = 0
        self.from_cache = 0
        self.rescored = 0
        self.audio_seconds = 0.0
        self.skipped = 0
        self.total = 0
        self.t0 = time.perf_counter()

    def counts(self, discovered: int) -> RunCounts:
        return RunCounts(
            discovered, self.skipped, self.transcribed, self.rescored, self.succeeded, len(self.failures),
            self.audio_seconds, from_cache=self.from_cache,
        )

    def run(self, plan: RunPlan, started: float) -> RunSummary:
        skipped = plan.of(Action.SKIP)
        self.skipped = len(skipped)
        self.log.write("plan", discovered=plan.discovered, hash_seconds=round(plan.hash_seconds, 3),
                       **{a.value: len(plan.of(a)) for a in Action}, skipped_by_reason=plan.skipped_by_reason())
        for item in skipped:
            if item.reason.startswith("failed before"):
                self.log.write("skip", call_id=item.meta.call_id, path=str(item.meta.path), reason=item.reason)
        for ignored in plan.ignored:
            # Reading a FIFO or a device could block or never end: left out, but never silently.
            log.warning("%s: skipped: %s", ignored.path, ignored.reason)
        if plan.updates:
            self.store.update_calls(plan.updates)
            self.log.write("metadata_updated", calls=len(plan.updates))
        failures = plan.of(Action.FAIL)
        work = [c for c in plan.calls if c.action in (Action.TRANSCRIBE, Action.RESCORE)]
        self.store.set_run_counts(self.run_id, self.counts(plan.discovered))
        self.total = len(failures) + len(work)
        self.t0 = time.perf_counter()
        self.phase, self.in_flight, self.slots = "calls", {}, 1
        self.rate_t0, self.rate_done0 = self.t0, 0
        self._report(None)
        for item in failures:
            self._save_failure(item, item.error or "failed", item.error_kind or ErrorKind.INTERNAL, CallTimings())
        if work:
            self._execute(work)
        counts = self.counts(plan.discovered)
        problems = self.output_problems()
        status = RunStatus.FAILED if self.failures or problems else RunStatus.OK
        wall = time.perf_counter() - started
        self.store.finish_run(self.run_id, status, counts, wall, "; ".join(problems) or None)
        return RunSummary(self.run_id, status, counts, tuple(self.failures), plan.skipped_by_reason(), wall, self.log.path, plan,
                          problems=tuple(problems))

    def output_problems(self) -> list[str]:
        """What the run could not write, the run log included."""
        return self.problems + ([self.log.problem] if self.log.problem else [])

    # -- workers
    def _worker_config(self, load_engine: bool) -> WorkerConfig:
        opts = self.options
        threads = opts.transcribe.cpu_threads
        if threads == 0 and opts.workers > 1:
            from qa_pipeline.asr.device import available_cores

            # Workers share the cores they may run on instead of each starting one thread per core.
            threads = max(1, available_cores() // opts.workers)
        cache_dir = None
        if opts.use_cache:
            from qa_pipeline.cache import default_cache_dir

            cache_dir = str(opts.cache_dir or default_cache_dir())
        return WorkerConfig(
            scorecard=str(opts.scorecard),
            scorecard_hash=self.card.content_hash,
            audio=opts.audio,
            transcribe=opts.transcribe,
            scoring=opts.scoring,
            cache_dir=cache_dir,
            load_engine=load_engine,
            engine_threads=threads,
            min_duration_seconds=opts.min_duration_seconds,
            redaction=opts.redaction,
        )

    def _execute(self, work: list[PlannedCall]) -> None:
        if self.options.executor == "ray":
            from qa_pipeline.executors.ray_executor import execute_on_ray

            config = self._worker_config(load_engine=any(c.action is Action.TRANSCRIBE for c in work))
            execute_on_ray(work, config, self.options, self._task, self._save_outcome, self._strike)
            return
        self._execute_local(work)

    def _execute_local(self, work: list[PlannedCall]) -> None:
        config = replace(self._worker_config(load_engine=any(c.action is Action.TRANSCRIBE for c in work)), parent_pid=os.getpid())
        if config.load_engine and config.transcribe.engine == "faster-whisper":
            from qa_pipeline.asr.device import resolve_device

            # Resolved here, once: a worker that resolved "auto" on its own could end up on
            # another device than its neighbours (one that cannot see the GPU falls back to
            # the CPU), and int8 on a CPU and float16 on a GPU time words differently.
            config = replace(config, engine_device=resolve_device(config.transcribe.device))
        pending = deque(work)
        strikes: Counter[str] = Counter()
        workers = max(1, min(self.options.workers, len(work)))
        window = 2 * workers
        self.slots = workers
        if config.load_engine:
            # Nothing can finish while the workers load the model: say so instead of a still bar.
            self.phase = "loading model"
            self._report(None)
        # Spawned, not forked: a worker must not inherit the lock file or database connections.
        context = mp.get_context("spawn")
        while pending:
            in_flight: dict[Future[CallOutcome], PlannedCall] = {}
            self.in_flight = in_flight
            broken = False
            with ProcessPoolExecutor(workers, mp_context=context, initializer=init_worker, initargs=(config,)) as pool:
                while (pending or in_flight) and not broken:
                    while pending and len(in_flight) < window:
                        item = pending.popleft()
                        in_flight[pool.submit(process_call, self._task(item))] = item
                    self._report(None)
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for fut in done:
                        item = in_flight.pop(fut)
                        try:
                            outcome = fut.result()
                        except BrokenProcessPool:
                            broken = True
                            self._strike(item, strikes, pending)
                            continue
                        if outcome.fatal:
                            pool.shutdown(wait=False, cancel_futures=True)
                            raise ConfigError(f"cannot start a worker: {outcome.error}")
                        if self.phase != "calls":
                            # The model is loaded: the rate counts the calls finishing from here on
                            # (this first one spent its time loading).
                            self.phase = "calls"
                            self.rate_t0, self.rate_done0 = time.perf_counter(), self.succeeded + len(self.failures) + 1
                        self._save_outcome(item, outcome)
                if broken:
                    # Every call still in flight went down with the pool.
                    for fut, item in in_flight.items():
                        self._strike(item, strikes, pending)
                    log.warning("a worker process died; starting new workers for the remaining %d call(s)", len(pending))

    def _strike(self, item: PlannedCall, strikes: Counter[str], pending: deque[PlannedCall]) -> None:
        strikes[item.meta.call_id] += 1
        if strikes[item.meta.call_id] >= 2:
            self._save_failure(
                item,
                f"{item.meta.path}: the worker process died twice while processing this call "
                "(the decoder or recogniser crashed on it, or the machine ran out of memory)",
                ErrorKind.CRASH,
                CallTimings(),
            )
        else:
            pending.appendleft(item)

    def _task(self, item: PlannedCall) -> CallTask:
        doc = None
        if item.action is Action.RESCORE:
            if item.pk is None:
                raise ConfigError(f"{item.meta.call_id}: nothing stored to re-score")
            doc = self.store.transcript_json(item.pk)
        return CallTask(item.meta.call_id, str(item.meta.path), doc, item.sha256)

    # -- saving
    def _save_outcome(self, item: PlannedCall, outcome: CallOutcome) -> None:
        for record in outcome.logs:
            self.log.write("log", call_id=item.meta.call_id, **record)
        if not outcome.ok:
            self.audio_seconds += outcome.audio_seconds
            self._save_failure(item, outcome.error or "failed", outcome.error_kind or ErrorKind.INTERNAL, outcome.timings)
            return
        store_started = time.perf_counter()
        transcript_path = None
        document = outcome.transcript_json
        if outcome.transcript is not None and document is None:
            document = transcript_document(outcome.transcript)
        if document is not None and self.options.transcripts_dir is not None and not self.problems:
            target = Path(self.options.transcripts_dir) / transcript_file_name(item.meta.call_id)
            try:
                transcript_path = str(_write_atomic(target, document).resolve())
            except OSError as exc:
                # The call is stored with its transcript all the same; the report writes the
                # missing copies once the folder can be written.
                self.problems.append(f"{target.parent}: cannot write transcript copies ({exc.strerror or exc})")
                log.warning("%s", self.problems[-1])
        result = CallResult(
            meta=item.meta,
            content_sha256=item.sha256 or "",
            file_size=item.file_size,
            file_mtime_ns=item.file_mtime_ns,
            status=CallStatus.OK,
            transcript=outcome.transcript,
            score=outcome.score,
            timings=outcome.timings,
            transcript_path=transcript_path,
            transcript_json=document,
            playback_path=outcome.playback_path,
        )
        self.store.save_call(result, self.run_id, item.pk)
        if item.reason == REDACTION_REASON and outcome.score is not None:
            drop_other_scores(self.store, item.meta.call_id, outcome.score.scorecard_hash)
        store_s = time.perf_counter() - store_started
        self.succeeded += 1
        if item.action is Action.RESCORE:
            self.rescored += 1
        else:
            self.transcribed += 1
            self.from_cache += outcome.timings.cached
        self.audio_seconds += outcome.audio_seconds
        score = outcome.score
        self.log.write(
            "call",
            call_id=item.meta.call_id,
            path=str(item.meta.path),
            action=item.action.value,
            reason=item.reason,
            status=CallStatus.OK.value,
            score=None if score is None else score.total,
            audio_seconds=round(outcome.audio_seconds, 3),
            timings=outcome.timings.to_dict(),
            store_s=round(store_s, 4),
        )
        self._report(item.meta.call_id)

    def _save_failure(self, item: PlannedCall, error: str, kind: ErrorKind, timings: CallTimings) -> None:
        result = CallResult(
            meta=item.meta,
            content_sha256=item.sha256 or _placeholder_sha("unread", item.meta.call_id),
            file_size=item.file_size,
            file_mtime_ns=item.file_mtime_ns,
            status=CallStatus.FAILED,
            timings=timings,
            error=error,
            error_kind=kind,
        )
        if item.record:
            self.store.save_call(result, self.run_id, item.pk)
        if item.action is Action.TRANSCRIBE:
            self.transcribed += 1
        elif item.action is Action.RESCORE:
            self.rescored += 1
        self.failures.append(CallFailure(item.meta.call_id, str(item.meta.path), error, kind))
        self.log.write("call", call_id=item.meta.call_id, path=str(item.meta.path), action=item.action.value,
                       reason=item.reason, status=CallStatus.FAILED.value, error=error, error_kind=kind.value,
                       timings=timings.to_dict())
        self._report(item.meta.call_id)

    def _report(self, call_id: str | None) -> None:
        if self.progress is None:
            return
        now = time.perf_counter()
        done = self.succeeded + len(self.failures)
        # Submitted first, started first: the oldest calls in flight are the ones being worked on.
        current = tuple(item.meta.call_id for item in list(self.in_flight.values())[: self.slots])
        self.progress(
            BatchProgress(
                total=self.total,
                done=done,
                failed=len(self.failures),
                skipped=self.skipped,
                audio_seconds=self.audio_seconds,
                elapsed_seconds=now - self.t0,
                call_id=call_id,
                phase=self.phase,
                current=current,
                calls_seconds=now - self.rate_t0,
                calls_done=done - self.rate_done0,
            )
        )


def _write_atomic(path: Path, text: str) -> Path:
    # A crash never leaves half a file for the report to trip over, nor does a full disk.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------- reports
def refresh_reports(
    store: Store,
    reports_dir: str | os.PathLike[str],
    pdf: bool = False,
    title: str = "Call quality report",
    workers: int = 1,
    targets: Any = (),
    abilities: Any = None,
) -> Any:
    """Rebuild the report site from the store's scored calls.

    ``targets`` are the goals to show (:class:`~qa_pipeline.stats.Target`; ``[goals]`` of
    ``qa.toml``), so a nightly run keeps them on the site; ``abilities`` the scorecard's
    ability grouping for the ability profiles.

    Writes missing transcript copies to ``<reports_dir>/transcripts/`` for call pages, then
    the site (see :func:`qa_pipeline.report.render_site`).

    Returns:
        The :class:`~qa_pipeline.report.SiteResult`, or None when the store holds no scored
        call yet.

    Raises:
        ReportError: The report cannot be written.
    """
    from qa_pipeline.errors import ReportError
    from qa_pipeline.report import ReportOptions, render_site
    from qa_pipeline.stats import analyse, prepare_frames

    reports_dir = Path(reports_dir)
    try:
        store.export_transcripts(reports_dir / "transcripts")
    except OSError as exc:
        where = exc.filename or reports_dir / "transcripts"
        raise ReportError(f"{where}: cannot write transcript copies ({exc.strerror or exc})") from exc
    calls, criteria = store.load_frames()
    if calls.empty:
        return None
    frames = prepare_frames(calls, criteria, source=str(store))
    from qa_pipeline.calibration import calibration_report

    # None when no human evaluations were imported: the site then has no calibration page.
    calibration = calibration_report(store)
    from qa_pipeline.report.coverage import coverage

    analysis = analyse(frames, targets=tuple(targets), abilities=abilities)
    return render_site(
        analysis, reports_dir, ReportOptions(title=title, pdf=pdf, workers=workers), calibration=calibration,
        coverage=coverage(frames.calls["started_at"], analysis.period),
    )
