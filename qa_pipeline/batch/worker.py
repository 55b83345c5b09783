"""The batch's worker code: what one worker process (or Ray actor) loads once, and how it
turns one call into an outcome.

:func:`init_worker` loads the scorecard and the recogniser for the process;
:func:`process_call` transcribes a recording (or takes the stored transcript), assigns roles,
redacts and scores it, and returns a :class:`CallOutcome` that the driver stores. Executors
(:mod:`qa_pipeline.executors`) decide where these run; the code is the same everywhere, so
verdicts do not depend on the executor.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from qa_pipeline.audio_channels import SILENCE_DB
from qa_pipeline.batch.options import BatchOptions
from qa_pipeline.errors import AudioError, ConfigError, ModelError, QAError, ScorecardError, TranscriptError
from qa_pipeline.log import LOGGER_NAME
from qa_pipeline.options import AudioOptions, TranscribeOptions
from qa_pipeline.pii import RedactionOptions
from qa_pipeline.pii.stored import needs_redaction
from qa_pipeline.scoring import CallScore, ScoringOptions
from qa_pipeline.store import CallTimings, ErrorKind
from qa_pipeline.transcript import Transcript

# A channel sounding in less than this share of 20 ms frames counts as silent.
SILENT_ACTIVITY = 0.005


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


def worker_config(options: BatchOptions, scorecard_hash: str, load_engine: bool) -> WorkerConfig:
    """What every worker of a run loads, whatever the executor.

    Args:
        options: The run's options.
        scorecard_hash: The scorecard's content hash as the driver loaded it.
        load_engine: Whether any call needs the recogniser (re-scoring alone does not).
    """
    threads = options.transcribe.cpu_threads
    if threads == 0 and options.workers > 1:
        from qa_pipeline.asr.device import available_cores

        # Workers share the cores they may run on instead of each starting one thread per core.
        threads = max(1, available_cores() // options.workers)
    cache_dir = None
    if options.use_cache:
        from qa_pipeline.cache import default_cache_dir

        cache_dir = str(options.cache_dir or default_cache_dir())
    return WorkerConfig(
        scorecard=str(options.scorecard),
        scorecard_hash=scorecard_hash,
        audio=options.audio,
        transcribe=options.transcribe,
        scoring=options.scoring,
        cache_dir=cache_dir,
        load_engine=load_engine,
        engine_threads=threads,
        min_duration_seconds=options.min_duration_seconds,
        redaction=options.redaction,
    )


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
            from qa_pipeline.asr import create_engine
            from qa_pipeline.asr.device import reproducible_gemm

            reproducible_gemm()

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
        from qa_pipeline.audio import load_audio
        from qa_pipeline.audio_channels import channel_activity

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
