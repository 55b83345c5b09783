"""Batched recognition with faster-whisper.

Two ways to decode several 30-second windows at once instead of one after another:

* :func:`transcribe_packed` — the channel-aware path (``batching: call``). Silero VAD runs on
  each channel; the speech regions of all channels are packed, in the order they were
  spoken, into shared windows (:mod:`qa_pipeline.asr.packing`), so a window carries speech of
  both parties and no encoder time goes to the other party's turns; the windows are decoded
  in batches with word timestamps, and every word is mapped back to its channel and to that
  channel's timeline.
* :func:`transcribe_batched_channel` — faster-whisper's own ``BatchedInferencePipeline`` on
  one channel (``batching: channel``): VAD chunks of that channel only, decoded in batches.

Both decode deterministically (temperature 0, no fallback) without conditioning on earlier
text, and both judge what they keep with the shared hallucination guards
(:mod:`qa_pipeline.asr.guards`). In the packed path each speech region is judged as a
segment of its own — the window's no-speech and confidence figures with the region's own
text — so a guard never drops one party's words for what the other party said.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from qa_pipeline.asr import guards
from qa_pipeline.asr.base import ChannelResult
from qa_pipeline.asr.coverage import REDECODE_PAD_SECONDS, Span, inside_any
from qa_pipeline.asr.packing import SPEECH_SECONDS, WINDOW_SECONDS, PackedWindow, SpeechRegion, pack_windows
from qa_pipeline.asr.vad import (
    fixed_regions,
    quiet_cuts,
    region_spans,
    speech_cores,
    speech_regions,
    vad_parameters,
)
from qa_pipeline.transcript import Word
from qa_pipeline.log import get_logger
from qa_pipeline.options import TranscribeOptions

log = get_logger("asr")

SAMPLE_RATE = 16000
# Windows sit this far apart in the audio handed to faster-whisper, so a word's time says
# unambiguously which window it came from.
_SLOT_SECONDS = WINDOW_SECONDS + 1.0
# Windows handed to faster-whisper per call, in batches: bounds the features held at once.
_BATCHES_PER_CALL = 2


@dataclass(frozen=True)
class PackedStats:
    """How a packed recognition went (for logs and benchmarks).

    Attributes:
        windows: Encoder windows decoded.
        speech_seconds: Speech the windows held, all channels together.
        vad_seconds: Time spent finding speech.
        decode_seconds: Time spent recognising the windows.
    """

    windows: int
    speech_seconds: float
    vad_seconds: float
    decode_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "windows": self.windows,
            "speech_seconds": round(self.speech_seconds, 3),
            "vad_seconds": round(self.vad_seconds, 4),
            "decode_seconds": round(self.decode_seconds, 4),
        }


def compression_ratio(text: str) -> float:
    """How much zlib shrinks the text: Whisper's measure of a repetition loop."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _decode_options(options: TranscribeOptions) -> dict[str, Any]:
    """Keyword arguments for ``BatchedInferencePipeline.transcribe`` shared by both paths."""
    return {
        "beam_size": options.beam_size,
        # Deterministic: the same audio gives the same transcript (and score) on every run.
        "temperature": 0.0,
        "word_timestamps": True,
        # One segment per window; word times come from the alignment, not from timestamp
        # tokens, which cost decoding steps and recognised worse in our measurements.
        "without_timestamps": True,
        "condition_on_previous_text": False,
        "no_speech_threshold": options.no_speech_threshold,
        "log_prob_threshold": options.log_prob_threshold,
        "batch_size": options.batch_size,
    }


def find_regions(
    streams: Sequence[np.ndarray], sample_rate: int, use_vad: bool
) -> tuple[list[SpeechRegion], list[float]]:
    """Speech regions of every stream (or each whole stream, cut to windows, without VAD),
    and the seconds spent finding them on each stream."""
    regions: list[SpeechRegion] = []
    seconds = [0.0] * len(streams)
    for index, samples in enumerate(streams):
        if samples.size < sample_rate // 10 or not np.any(samples):
            continue
        started = time.perf_counter()
        if use_vad:
            regions.extend(speech_regions(samples, sample_rate, index))
            seconds[index] = time.perf_counter() - started
        else:
            regions.extend(fixed_regions(samples, sample_rate, index))
    return regions, seconds


def transcribe_packed(
    model: Any,
    streams: Sequence[np.ndarray],
    options: TranscribeOptions,
    language: str | None,
) -> tuple[list[ChannelResult], PackedStats]:
    """Recognise several channels together, their speech packed into shared windows.

    Args:
        model: A loaded ``faster_whisper.WhisperModel``.
        streams: The channels, 16 kHz float32 each (one call's parties).
        options: Transcription options (guards, beam size, batch size, VAD).
        language: ISO code, or None to detect once from the first windows.

    Returns:
        One result per stream, in order, with words in that stream's own time; and the
        window statistics.
    """
    regions, vad_per_stream = find_regions(streams, SAMPLE_RATE, options.vad)
    vad_seconds = sum(vad_per_stream)
    windows = pack_windows(regions, SAMPLE_RATE)
    speech = [0.0] * len(streams)
    for region in regions:
        speech[region.stream] += region.length / SAMPLE_RATE
    per_stream: list[list[guards.RawSegment]] = [[] for _ in streams]
    probability = 1.0 if language else 0.0
    detected = language or "en"
    decode_started = time.perf_counter()
    for info in _decode_groups(model, streams, windows, options, language, per_stream):
        if language is None:
            # The first windows decide for the whole call; later groups keep that language.
            language, detected, probability = info.language, info.language, float(info.language_probability)
    decode_seconds = time.perf_counter() - decode_started
    results = []
    for index, segments in enumerate(per_stream):
        spans = region_spans(regions, index, SAMPLE_RATE) if options.vad else None
        guarded = guards.apply_guards(segments, options, speech_cores(spans) if spans else ())
        for line in guarded.dropped_segments:
            log.debug("stream %d: dropped segment %s", index, line)
        results.append(
            ChannelResult(
                words=guarded.words,
                language=detected,
                language_probability=probability if guarded.words else 0.0,
                dropped_segments=guarded.dropped_segments,
                speech_seconds=speech[index],
                vad_seconds=vad_per_stream[index],
                speech_spans=spans,
            )
        )
    stats = PackedStats(len(windows), sum(speech), vad_seconds, decode_seconds)
    log.info(
        "packed %.1fs of speech from %d channel(s) into %d window(s): VAD %.2fs, recognition %.2fs",
        stats.speech_seconds, len(streams), stats.windows, vad_seconds, decode_seconds,
    )
    return results, stats


def _decode_groups(
    model: Any,
    streams: Sequence[np.ndarray],
    windows: Sequence[PackedWindow],
    options: TranscribeOptions,
    language: str | None,
    per_stream: list[list[guards.RawSegment]],
) -> Iterator[Any]:
    """Decode packed windows a few batches at a time, splitting segments back per channel.

    Groups bound the memory one pipeline call holds. When ``language`` is None the first group
    detects it and every later group keeps that language, so one call never mixes languages.
    Yields each group's transcription info after its segments are added to ``per_stream``.
    """
    if not windows:
        return
    from faster_whisper import BatchedInferencePipeline

    pipeline = BatchedInferencePipeline(model)
    group = max(1, options.batch_size * _BATCHES_PER_CALL)
    for first in range(0, len(windows), group):
        chosen = windows[first : first + group]
        segments, info = _decode_windows(pipeline, streams, chosen, options, language)
        for segment in segments:
            _split_segment(segment, chosen, per_stream)
        if language is None:
            language = info.language
        yield info


def _decode_windows(
    pipeline: Any,
    streams: Sequence[np.ndarray],
    windows: Sequence[PackedWindow],
    options: TranscribeOptions,
    language: str | None,
) -> tuple[list[Any], Any]:
    """Decode windows as clips of one slotted signal; times come back in slot time."""
    slot = int(_SLOT_SECONDS * SAMPLE_RATE)
    signal = np.zeros(slot * len(windows), dtype=np.float32)
    clips = []
    for k, window in enumerate(windows):
        audio = window.audio(streams)
        signal[k * slot : k * slot + audio.size] = audio
        clips.append({"start": k * _SLOT_SECONDS, "end": k * _SLOT_SECONDS + audio.size / SAMPLE_RATE})
    segments, info = pipeline.transcribe(signal, language=language, clip_timestamps=clips, **_decode_options(options))
    return list(segments), info


def _split_segment(segment: Any, windows: Sequence[PackedWindow], per_stream: list[list[guards.RawSegment]]) -> None:
    """Hand a decoded window's words back to the regions (and channels) they were spoken in."""
    words = list(segment.words or [])
    if not words:
        return
    k = min(max(int(((words[0].start + words[-1].end) / 2) // _SLOT_SECONDS), 0), len(windows) - 1)
    window = windows[k]
    base = k * _SLOT_SECONDS
    by_region: dict[int, list[guards.RawWord]] = {}
    for word in words:
        # A word belongs to the piece its middle lies in, so it never straddles a junction.
        where = window.locate((word.start + word.end) / 2 - base)
        start = window.to_stream_time(where.region, word.start - base)
        end = window.to_stream_time(where.region, word.end - base)
        by_region.setdefault(where.region, []).append(guards.RawWord(word.word, start, end, float(word.probability)))
    sr = window.sample_rate
    for index, raw in sorted(by_region.items()):
        region = window.regions[index]
        text = "".join(w.text for w in raw)
        stats = guards.SegmentStats(
            text=text,
            start=region.start / sr,
            end=region.end / sr,
            avg_logprob=float(segment.avg_logprob),
            no_speech_prob=float(segment.no_speech_prob),
            compression_ratio=compression_ratio(text.strip()),
        )
        per_stream[region.stream].append(guards.RawSegment(stats, tuple(raw)))


def redecode_stretches(
    model: Any,
    streams: Sequence[np.ndarray],
    stretches: Sequence[Sequence[Span]],
    options: TranscribeOptions,
    language: str | None,
) -> list[tuple[Word, ...]]:
    """Decode stretches of detected speech again, each alone in a window of its own.

    Each stretch is widened by :data:`~qa_pipeline.asr.coverage.REDECODE_PAD_SECONDS` so its
    edge syllables are whole, decoded at temperature 0 like every other path, and judged by
    the same guards with the stretch as detected speech. Only words whose middle lies inside
    the stretch itself are returned: the padding belongs to words already recognised.

    Args:
        model: A loaded ``faster_whisper.WhisperModel``.
        streams: The channels, 16 kHz float32 each.
        stretches: Per channel, sorted ``(start, end)`` seconds to decode again.
        options: Transcription options.
        language: The call's language (None to let each window detect it).

    Returns:
        Per channel, the words found inside its stretches, in time order.
    """
    regions: list[SpeechRegion] = []
    longest = SPEECH_SECONDS - 2 * REDECODE_PAD_SECONDS
    for index, spans in enumerate(stretches):
        total = streams[index].size
        for start, end in spans:
            # A stretch longer than a window is decoded in window-sized parts.
            while end > start:
                part_end = min(end, start + longest)
                a = max(0, int((start - REDECODE_PAD_SECONDS) * SAMPLE_RATE))
                b = min(total, int((part_end + REDECODE_PAD_SECONDS) * SAMPLE_RATE))
                if b > a:
                    regions.append(SpeechRegion(index, a, b))
                start = part_end
    windows = [PackedWindow((region,), SAMPLE_RATE, int(1.0 * SAMPLE_RATE)) for region in regions]
    per_stream: list[list[guards.RawSegment]] = [[] for _ in streams]
    for _ in _decode_groups(model, streams, windows, options, language, per_stream):
        pass
    found: list[tuple[Word, ...]] = []
    for index, segments in enumerate(per_stream):
        spans = list(stretches[index]) if index < len(stretches) else []
        guarded = guards.apply_guards(segments, options, spans)
        found.append(tuple(w for w in guarded.words if inside_any(w.start, w.end, spans)))
    return found


def transcribe_batched_channel(
    model: Any,
    samples: np.ndarray,
    options: TranscribeOptions,
    language: str | None,
    detected: Sequence[Span] = (),
) -> ChannelResult:
    """One channel through faster-whisper's ``BatchedInferencePipeline``.

    Args:
        model: A loaded ``faster_whisper.WhisperModel``.
        samples: The channel, 16 kHz float32.
        options: Transcription options.
        language: ISO code, or None to detect.
        detected: Detected speech of the channel for the guards (see guards rule 3).
    """
    from faster_whisper import BatchedInferencePipeline

    pipeline = BatchedInferencePipeline(model)
    kwargs = _decode_options(options)
    if options.vad:
        kwargs.update(vad_filter=True, vad_parameters=vad_parameters())
    else:
        # The batched pipeline needs chunks: without VAD, the whole channel in window-sized pieces.
        cuts = quiet_cuts(samples, SAMPLE_RATE, WINDOW_SECONDS)
        kwargs["clip_timestamps"] = [{"start": a / SAMPLE_RATE, "end": b / SAMPLE_RATE} for a, b in zip(cuts, cuts[1:]) if b > a]
    segments, info = pipeline.transcribe(np.ascontiguousarray(samples, dtype=np.float32), language=language, **kwargs)
    raw_segments = []
    for seg in segments:
        stats = guards.SegmentStats(
            text=seg.text,
            start=seg.start,
            end=seg.end,
            avg_logprob=seg.avg_logprob,
            no_speech_prob=seg.no_speech_prob,
            compression_ratio=seg.compression_ratio,
        )
        words = tuple(guards.RawWord(w.word, w.start, w.end, w.probability) for w in (seg.words or []))
        raw_segments.append(guards.RawSegment(stats, words))
    guarded = guards.apply_guards(raw_segments, options, detected)
    for line in guarded.dropped_segments:
        log.debug("dropped segment %s", line)
    speech = float(info.duration_after_vad if options.vad else info.duration)
    return ChannelResult(
        words=guarded.words,
        language=info.language,
        language_probability=float(info.language_probability),
        dropped_segments=guarded.dropped_segments,
        speech_seconds=speech,
    )
