"""From a recording to a speaker-attributed transcript.

``transcribe_call`` is the one path the CLI, the batch runner, the benchmarks and notebooks
share: decode once, transcribe each party's channel separately (diarize a mono one into
voices), merge turns, redact, cache; roles are then decided by the role step
(:mod:`qa_pipeline.role_step`), which a caller with a scorecard runs again with its phrases.
Overlapping speech survives because channels are recognised independently and turns keep
their true times.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from qa_pipeline.alignment import refine_word_starts
from qa_pipeline.asr.base import ChannelResult, Engine
from qa_pipeline.asr.coverage import recover_speech
from qa_pipeline.asr.language import (
    detected_language,
    enforce_gate,
    identify_language,
    looks_foreign,
    screened_english,
)
from qa_pipeline.audio import Audio, file_sha256, load_audio
from qa_pipeline.audio_channels import FRAME_SECONDS, channel_activity, frame_levels_db, speech_onset
from qa_pipeline.cache import TranscriptCache
from qa_pipeline.errors import AudioError
from qa_pipeline.log import get_logger
from qa_pipeline.options import AudioOptions, TranscribeOptions
from qa_pipeline.pii import RedactionOptions, redact_transcript
from qa_pipeline.parties import CHANNEL, Parties
from qa_pipeline.role_step import assign_roles
from qa_pipeline.speechchecks import LanguageCheck, SpeechCoverage
from qa_pipeline.textmatch import to_simplified
from qa_pipeline.transcript import (
    RoleAssignment, RolesSource, Speaker, Transcript, Word, merge_turns, words_to_turns,
)

if TYPE_CHECKING:
    from qa_pipeline.diarization import DiarizationOptions

log = get_logger("pipeline")


@dataclass
class StageTimings:
    """Wall seconds spent per stage of one call (for logs and benchmarks).

    ``vad`` is the part of ``asr`` spent finding speech, where the engine reports it.
    ``activity`` is the loudest channel's share of sounding frames
    (:func:`qa_pipeline.audio.channel_activity`), measured only for a freshly decoded call
    without words.
    """

    hash: float = 0.0
    decode: float = 0.0
    asr: float = 0.0
    merge: float = 0.0
    vad: float = 0.0
    cached: bool = False
    speech_seconds: float = 0.0
    dropped_segments: list[str] = field(default_factory=list)
    activity: float | None = None

    @property
    def total(self) -> float:
        return self.hash + self.decode + self.asr + self.merge


ProgressHook = Callable[[str, float], None]
"""Called with a stage name and the fraction of the call done (0..1)."""


def party_channels(audio: Audio, options: AudioOptions) -> list[int]:
    """The file channels that carry the two parties (one for mono).

    For files with more than two channels ``load_audio`` has already insisted on an explicit
    mapping; the two mapped channels are used, agent first.
    """
    if audio.num_channels == 1:
        return [0]
    if audio.num_channels > 2:
        return [int(options.agent_channel), int(options.customer_channel)]  # validated by load_audio
    return [0, 1]


def transcribe_audio(
    audio: Audio,
    engine: Engine,
    audio_options: AudioOptions | None = None,
    options: TranscribeOptions | None = None,
    call_id: str | None = None,
    timings: StageTimings | None = None,
    progress: ProgressHook | None = None,
    agent_phrases: Sequence[str] = (),
    diarization: "DiarizationOptions | None" = None,
) -> Transcript:
    """Transcribe decoded audio into a Transcript.

    A mono recording is diarized (who spoke when) and each word given to its voice. That
    needs the optional ``diarization`` extra, checked before recognition starts so a missing
    extra costs no ASR time. The role step (:func:`qa_pipeline.role_step.assign_roles`) then
    picks the agent among the channels or voices, with ``agent_phrases`` as extra evidence.

    Args:
        audio: Decoded recording (16 kHz channels).
        engine: A loaded engine (see :func:`qa_pipeline.asr.create_engine`).
        audio_options: Channel mapping; defaults to ``agent_channel: auto``.
        options: The options the engine was built with (recorded in the transcript).
        call_id: Defaults to the file name without extension.
        timings: Filled in with per-stage seconds when given.
        progress: Optional hook receiving (stage, fraction done).
        agent_phrases: The scorecard's agent phrases, used as role evidence.
        diarization: Diarization thresholds for mono recordings.

    Raises:
        EngineUnavailableError: A mono recording and the diarization extra is missing.
    """
    audio_options = audio_options or AudioOptions()
    options = options or TranscribeOptions()
    timings = timings if timings is not None else StageTimings()
    call_id = call_id or Path(audio.info.path).stem
    channels = party_channels(audio, audio_options)
    if len(channels) == 1:
        from qa_pipeline.diarization import require_diarization

        require_diarization()
    results: list[ChannelResult] = []
    started = time.perf_counter()
    party = [audio.channels[ch] for ch in channels]
    check: LanguageCheck | None = None
    if options.language_check == "always":
        check = check_language(engine, party, channels, call_id)
    requested = detected_language(check, options.language) if check is not None else options.language
    if getattr(engine, "packs_channels", False):
        # The engine recognises the parties together (speech of both in shared windows).
        if progress:
            progress("asr", 0.0)
        results = list(engine.transcribe_channels([audio.channels[ch] for ch in channels], requested))
    else:
        for n, ch in enumerate(channels):
            if progress:
                progress(f"asr channel {ch}", n / len(channels))
            results.append(transcribe_channel(engine, audio.channels[ch], audio.sample_rate, requested))
    language = _call_language(results, requested)
    results, coverage = recover_speech(engine, party, channels, results, options, language, audio.sample_rate)
    if language.startswith("zh"):
        # Whisper writes Mandarin in either script; scorecards and reports use simplified.
        results = [replace(r, words=tuple(replace(w, text=to_simplified(w.text)) for w in r.words)) for r in results]
    if coverage.review:
        log.warning("%s: flagged for review: %s", call_id, coverage.reason())
    if options.language_check == "auto":
        check = _after_transcription_check(engine, party, channels, results, coverage, call_id)
    timings.asr += time.perf_counter() - started
    timings.vad += sum(r.vad_seconds for r in results)
    timings.speech_seconds += sum(r.speech_seconds for r in results)
    for ch, r in zip(channels, results):
        timings.dropped_segments.extend(f"channel {ch}: {d}" for d in r.dropped_segments)

    started = time.perf_counter()
    channel_words = [
        refine_word_starts(r.words, audio.channels[ch], audio.sample_rate) for ch, r in zip(channels, results)
    ]
    if len(channels) == 1:
        from qa_pipeline.diarization import diarize_mono

        mono = diarize_mono(
            audio.channels[channels[0]], audio.sample_rate, channel_words[0], options.turn_gap_seconds, diarization
        )
        turns, parties = mono.turns, mono.parties
    else:
        configured = None if audio_options.agent_channel == "auto" else int(audio_options.agent_channel)
        if audio.num_channels > 2:
            configured = channels[0]
        onsets = tuple(speech_onset(audio.channels[ch], audio.sample_rate) for ch in channels)
        parties = Parties(CHANNEL, tuple(channels), onsets, configured)
        # The speaker is a placeholder until the role step labels the channels.
        turns = merge_turns(*(
            words_to_turns(words, Speaker.CUSTOMER, ch, options.turn_gap_seconds)
            for ch, words in zip(channels, channel_words)
        ))
    transcript = Transcript(
        call_id=call_id,
        audio=audio.info,
        roles=_UNDECIDED,
        language=language,
        engine=engine.name,
        model=engine.model_name,
        turns=turns,
        options=options.to_dict() | {"agent_channel": audio_options.agent_channel},
        coverage=coverage,
        language_check=check,
        parties=parties,
    )
    transcript = assign_roles(transcript, agent_phrases, audio_options.roles_review_below)
    timings.merge += time.perf_counter() - started
    if progress:
        progress("done", 1.0)
    return transcript


# Roles of a transcript not yet through the role step (never returned to callers).
_UNDECIDED = RoleAssignment(RolesSource.CHANNEL, "default", None, 0.0, "roles not decided yet", review=True)


# Whisper engines compute the log-mel features of everything they are given at once: for an
# hour of audio the spectrogram's intermediates alone take over a gigabyte. Long channels are
# therefore recognised in pieces of about this length, cut in the quietest moment near each
# boundary so no word is split.
PIECE_SECONDS = 600.0
_CUT_SEARCH_SECONDS = 15.0


def transcribe_channel(
    engine: Engine, samples: np.ndarray, sample_rate: int, language: str | None
) -> ChannelResult:
    """Recognise one channel, in pieces of about ``PIECE_SECONDS`` when it is long.

    Pieces after the first use the first piece's language, so a call is never split across
    two detected languages; word times are shifted back to the channel's timeline.
    """
    cuts = piece_boundaries(samples, sample_rate, PIECE_SECONDS)
    if len(cuts) == 2:
        return engine.transcribe(samples, language)
    words: list[Word] = []
    dropped: list[str] = []
    spans: list[tuple[float, float]] | None = []
    speech = 0.0
    decided: ChannelResult | None = None  # the first piece with speech fixes the language
    for a, b in zip(cuts, cuts[1:]):
        r = engine.transcribe(samples[a:b], language)
        offset = a / sample_rate
        words.extend(replace(w, start=w.start + offset, end=w.end + offset) for w in r.words)
        dropped.extend(f"{offset:.0f}s+ {d}" for d in r.dropped_segments)
        speech += r.speech_seconds
        if spans is not None and r.speech_spans is not None:
            spans.extend((a + offset, b + offset) for a, b in r.speech_spans)
        else:
            spans = None  # one piece without detected speech: the caller detects it whole
        if decided is None and r.words:
            decided = r
            language = language or r.language
    decided = decided or r
    return ChannelResult(
        tuple(words), decided.language, decided.language_probability, tuple(dropped), speech,
        speech_spans=None if spans is None else tuple(spans),
    )


def piece_boundaries(samples: np.ndarray, sample_rate: int, piece_seconds: float) -> list[int]:
    """Sample indices that cut a channel into pieces of about ``piece_seconds``.

    Each inner cut is the quietest 20 ms frame within ``_CUT_SEARCH_SECONDS`` of the nominal
    boundary. Always starts with 0 and ends with ``len(samples)``.
    """
    total = len(samples)
    piece = int(piece_seconds * sample_rate)
    if total <= piece + piece // 2:
        return [0, total]
    frame = int(FRAME_SECONDS * sample_rate)
    search = int(_CUT_SEARCH_SECONDS * sample_rate)
    cuts = [0]
    while total - cuts[-1] > piece + piece // 2:
        nominal = cuts[-1] + piece
        lo, hi = nominal - search, min(total, nominal + search)
        levels = frame_levels_db(samples[lo:hi], sample_rate, FRAME_SECONDS)
        cuts.append(lo + int(np.argmin(levels)) * frame + frame // 2 if levels.size else nominal)
    cuts.append(total)
    return cuts


def check_language(
    engine: Engine, channels: Sequence[np.ndarray], channel_ids: Sequence[int], call_id: str, why: str = ""
) -> LanguageCheck:
    """Identify the call's language with the detector and refuse one the model cannot do.

    Args:
        engine: The engine (its ``language_detector`` gives the detector, when it has one).
        channels: The party channels.
        channel_ids: Their file channels.
        call_id: For messages.
        why: What made the check run, for the log.

    Raises:
        LanguageGateError: The call is confidently in a language the model cannot transcribe.
    """
    detector_of = getattr(engine, "language_detector", None)
    if callable(detector_of):
        detector, unavailable = detector_of()
    else:
        detector, unavailable = None, f"language not verified: the {engine.name} engine has no language detector"
    started = time.perf_counter()
    check = identify_language(detector, channels, channel_ids, unavailable)
    if check.verified:
        log.info(
            "%s: spoken language %s (p=%.2f) by %s in %.2fs%s",
            call_id, check.language, check.probability, check.detector, time.perf_counter() - started,
            f" ({why})" if why else "",
        )
    elif why:
        log.warning("%s: %s; %s", call_id, why, check.note)
    enforce_gate(check, engine.model_name, _english_only(engine), call_id)
    return check


def _after_transcription_check(
    engine: Engine,
    channels: Sequence[np.ndarray],
    channel_ids: Sequence[int],
    results: Sequence[ChannelResult],
    coverage: SpeechCoverage,
    call_id: str,
) -> LanguageCheck:
    """``language_check: auto``: the recogniser's own detection, or the screen then the detector."""
    if not _english_only(engine):
        # A multilingual model identified the language as it transcribed.
        best = max(results, key=lambda r: (len(r.words), r.language_probability))
        return LanguageCheck(best.language, best.language_probability, bool(best.words), engine.model_name,
                             "" if best.words else "no speech to identify")
    words = [w for r in results for w in r.words]
    why = looks_foreign(words, coverage.speech_seconds, coverage.review)
    if why is None:
        return screened_english(words, coverage.speech_seconds)
    return check_language(engine, channels, channel_ids, call_id, f"English transcription looks unsure: {why}")


def _english_only(engine: Engine) -> bool:
    # An engine that does not say is taken at its word only when it says it is multilingual.
    return bool(getattr(engine, "english_only", not getattr(engine, "multilingual", False)))


def _call_language(results: list[ChannelResult], requested: str | None) -> str:
    if requested:
        return requested
    # The channel with the most words decides: a silent channel's detection is noise.
    best = max(results, key=lambda r: (len(r.words), r.language_probability))
    return best.language


def transcribe_call(
    path: str | Path,
    engine: Engine,
    audio_options: AudioOptions | None = None,
    options: TranscribeOptions | None = None,
    call_id: str | None = None,
    cache: TranscriptCache | None = None,
    timings: StageTimings | None = None,
    progress: ProgressHook | None = None,
    sha256: str | None = None,
    redaction: RedactionOptions | None = None,
) -> Transcript:
    """Decode and transcribe one recording, reusing a cached transcript when one matches.

    The cache key is the file's content hash plus engine, model and every option that changes
    the result, so renaming or moving a file does not cause re-transcription while a changed
    option does. A caller that has already hashed the file passes ``sha256`` so the file is
    not read twice.

    Personal data is redacted (``redaction``, on by default) before the transcript is cached
    or returned, so no store ever holds the raw text; the redaction options are part of the
    cache key.

    Roles are decided by the role step (:func:`qa_pipeline.role_step.assign_roles`) on the
    redacted transcript, fresh or cached, without a scorecard; a caller scoring against one
    runs the role step again with its agent phrases. The scorecard is therefore no input of
    transcription nor of its cache key.

    Raises:
        AudioError: The file cannot be decoded or breaks a limit; the message names the file.
        ModelError: The engine cannot transcribe the requested language, or the recording
            is mono and the diarization extra is missing (EngineUnavailableError).
    """
    audio_options = audio_options or AudioOptions()
    options = options or TranscribeOptions()
    redaction = redaction or RedactionOptions()
    timings = timings if timings is not None else StageTimings()
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    started = time.perf_counter()
    digest = sha256 or file_sha256(path)
    timings.hash += time.perf_counter() - started
    key = None
    if cache is not None:
        key = f"{cache.key(digest, engine.name, engine.model_name, options, audio_options)}-pii{redaction.cache_key()}"
        hit = cache.get(key)
        if hit is not None:
            timings.cached = True
            log.info("%s: transcript from cache", path)
            return assign_roles(_rebrand(hit, call_id or path.stem, str(path)), (), audio_options.roles_review_below)
    started = time.perf_counter()
    audio = load_audio(path, audio_options, sha256=digest)
    timings.decode += time.perf_counter() - started
    transcript = transcribe_audio(audio, engine, audio_options, options, call_id, timings, progress)
    if not transcript.turns:
        # Measured while the audio is decoded, to tell silence from sound without words.
        timings.activity = max((channel_activity(ch, audio.sample_rate) for ch in audio.channels), default=0.0)
    # Redaction groups words by party, which needs provisional roles; the final ones are
    # decided on the redacted words, so a fresh and a cached transcript get the same.
    transcript = redact_transcript(transcript, redaction).transcript
    if cache is not None and key is not None:
        cache.put(key, transcript)
    return assign_roles(transcript, (), audio_options.roles_review_below)


def _rebrand(t: Transcript, call_id: str, path: str) -> Transcript:
    # A cached transcript may come from an identical file under another name.
    if t.call_id == call_id and t.audio.path == path:
        return t
    return replace(t, call_id=call_id, audio=replace(t.audio, path=path))
