"""Planning a batch run: what happens to each recording, decided without changing anything.

A call is *done* when the store holds its recording's content hash with a transcript from the
same engine and model and a score for the same scorecard; such calls are skipped without being
decoded (a file whose size and modification time are unchanged is not even re-hashed). A call
with a matching transcript but no score for this scorecard is re-scored from the stored
transcript, without ASR. Calls that failed before are skipped unless ``retry_failed``
(metadata failures are re-checked every run, since fixing the manifest is enough to fix them).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any, Mapping, Sequence

from qa_pipeline.batch.options import BatchOptions, model_label
from qa_pipeline.errors import AudioError, ConfigError
from qa_pipeline.ingest import IgnoredFile
from qa_pipeline.log import get_logger
from qa_pipeline.metadata import CallMetadata
from qa_pipeline.pii.stored import REDACTION_REASON
from qa_pipeline.store import CallStatus, ErrorKind, Store, StoredCall

# The batch's modules log under one name: the run log and operators' filters know it.
log = get_logger("batch")


class Action(str, Enum):
    """What a run does with a call."""

    TRANSCRIBE = "transcribe"
    RESCORE = "rescore"
    FAIL = "fail"  # record a failure found while planning (metadata, unreadable, empty)
    SKIP = "skip"


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


def plan_run(store: Store, options: BatchOptions, scorecard_hash: str | Sequence[str]) -> RunPlan:
    """Decide what a run does with each call, without changing anything.

    ``scorecard_hash`` is the run scorecard's content hash, or that and the hashes of the
    scorecards calls in other languages are routed to: a call scored by any of them is done.

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
        meta, Action.FAIL, ErrorKind.AUDIO.value, placeholder_sha("unread", meta.call_id), None, None,
        None if earlier is None else earlier.pk, error, ErrorKind.AUDIO,
    )


def placeholder_sha(prefix: str, call_id: str) -> str:
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


def _plan_rescore(store: Store, options: BatchOptions, scorecard_hash: str | Sequence[str]) -> RunPlan:
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
