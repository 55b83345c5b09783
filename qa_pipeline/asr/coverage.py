"""Speech coverage: how much of the speech voice activity detection found got words.

A recogniser can leave detected speech without words: a decoder that skips the rest of a
window after a confident sentence, a guard that takes a quiet "Thank you." for a silence
hallucination. Talk share, silences and dead air are then computed from the gap, and
nothing says so. Here every channel's detected speech is compared with its words:

* a second of detected speech counts as *covered* when a word lies within
  :data:`COVER_MARGIN_SECONDS` of it (the detector keeps some sound around speech, and a
  short pause inside a sentence is speech too);
* *uncovered stretches* (:func:`uncovered_stretches`) are the gaps of at least
  :data:`MIN_UNCOVERED_SECONDS` that an engine decodes again, alone, before giving up;
* coverage is covered seconds / detected seconds, per channel and for the call; a call
  under ``TranscribeOptions.coverage_review_below`` is flagged for review.

All functions are plain interval arithmetic on seconds and are tested without a model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from qa_pipeline.log import get_logger
from qa_pipeline.options import TranscribeOptions
from qa_pipeline.speechchecks import ChannelCoverage, SpeechCoverage
from qa_pipeline.transcript import Word

if TYPE_CHECKING:
    from qa_pipeline.asr.base import ChannelResult

log = get_logger("asr")

__all__ = [
    "ChannelCoverage",
    "SpeechCoverage",
    "covered_seconds",
    "inside_any",
    "merge_spans",
    "recover_speech",
    "uncovered_stretches",
]

# Detected speech this close to a word counts as covered by it. The packed decoder's VAD keeps
# 400 ms of sound around each region and keeps pauses under 500 ms inside one, so a margin of
# half a second covers both on a fully recognised region.
COVER_MARGIN_SECONDS = 0.5
# Gaps shorter than this are not worth a decode of their own (a breath, a cough).
MIN_UNCOVERED_SECONDS = 0.6
# Sound kept on either side of an uncovered stretch when it is decoded again: the decoder
# needs the start and end of the syllables the gap's edges cut.
REDECODE_PAD_SECONDS = 0.3

Span = tuple[float, float]


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Sorted, non-overlapping union of ``(start, end)`` spans (empty spans dropped)."""
    out: list[Span] = []
    for start, end in sorted((float(a), float(b)) for a, b in spans if b > a):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _total(spans: Iterable[Span]) -> float:
    return sum(b - a for a, b in spans)


def intersect(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    """Intersection of two sorted, non-overlapping span lists."""
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if hi > lo:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    """``a`` minus ``b``, both sorted and non-overlapping."""
    out: list[Span] = []
    j = 0
    for start, end in a:
        cursor = start
        while j < len(b) and b[j][1] <= cursor:
            j += 1
        k = j
        while k < len(b) and b[k][0] < end:
            if b[k][0] > cursor:
                out.append((cursor, b[k][0]))
            cursor = max(cursor, b[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def word_spans(words: Iterable[Word], margin: float = COVER_MARGIN_SECONDS) -> list[Span]:
    """The time each word covers, widened by ``margin`` on both sides, merged."""
    return merge_spans((max(0.0, w.start - margin), w.end + margin) for w in words)


def covered_seconds(speech: Sequence[Span], words: Iterable[Word], margin: float = COVER_MARGIN_SECONDS) -> float:
    """Seconds of detected speech within ``margin`` of a word."""
    return _total(intersect(merge_spans(speech), word_spans(words, margin)))


def uncovered_stretches(
    speech: Sequence[Span],
    words: Iterable[Word],
    margin: float = COVER_MARGIN_SECONDS,
    min_seconds: float = MIN_UNCOVERED_SECONDS,
) -> list[Span]:
    """Detected speech with no word near it, in stretches of at least ``min_seconds``."""
    gaps = subtract(merge_spans(speech), word_spans(words, margin))
    return [(a, b) for a, b in gaps if b - a >= min_seconds]


def inside_any(start: float, end: float, spans: Sequence[Span]) -> bool:
    """Whether the middle of ``start..end`` lies inside one of the (sorted) spans."""
    middle = (start + end) / 2
    return any(a <= middle <= b for a, b in spans)


def _detect_spans(samples: np.ndarray, sample_rate: int) -> tuple[Span, ...]:
    from qa_pipeline.asr.vad import region_spans, speech_regions

    if samples.size < sample_rate // 10 or not np.any(samples):
        return ()
    return region_spans(speech_regions(samples, sample_rate, 0), 0, sample_rate)


def recover_speech(
    engine: object,
    channels: Sequence[np.ndarray],
    channel_ids: Sequence[int],
    results: Sequence[ChannelResult],
    options: TranscribeOptions,
    language: str | None,
    sample_rate: int = 16000,
) -> tuple[list[ChannelResult], SpeechCoverage]:
    """Measure each channel's speech coverage, decoding uncovered stretches again first.

    An engine that ran voice activity detection reports where it found speech; for one
    that did not, the same detector runs here. When the options allow it and the engine can
    (it has a ``redecode`` method), every uncovered stretch of every channel is decoded
    again in one pass, and the words found inside those stretches join the channel's words.

    Args:
        engine: The engine that produced ``results``.
        channels: The party channels' samples, in the order of ``results``.
        channel_ids: The file channel of each.
        results: What the engine recognised on each channel.
        options: Transcription options (``redecode_uncovered``, ``coverage_review_below``).
        language: The call's language.
        sample_rate: Rate of ``channels``.

    Returns:
        The results (with recovered words merged in and counted) and the call's coverage.
    """
    spans = [
        tuple(r.speech_spans) if r.speech_spans is not None else _detect_spans(samples, sample_rate)
        for r, samples in zip(results, channels)
    ]
    merged = list(results)
    redecode = getattr(engine, "redecode", None)
    if options.redecode_uncovered and callable(redecode):
        gaps = [uncovered_stretches(s, r.words) for s, r in zip(spans, results)]
        if any(gaps):
            found = redecode(list(channels), gaps, language)
            for index, (result, extra) in enumerate(zip(results, found)):
                fresh = _new_words(result.words, extra)
                if fresh:
                    words = tuple(sorted(result.words + fresh, key=lambda w: (w.start, w.end)))
                    merged[index] = replace(result, words=words, recovered_words=result.recovered_words + len(fresh))
            log.info(
                "decoded %d uncovered stretch(es) again: %d word(s) recovered",
                sum(len(g) for g in gaps), sum(r.recovered_words for r in merged),
            )
    coverage = SpeechCoverage(
        channels=tuple(
            ChannelCoverage(
                channel=ch,
                speech_seconds=sum(b - a for a, b in merge_spans(s)),
                covered_seconds=covered_seconds(s, r.words),
                recovered_words=r.recovered_words,
            )
            for ch, s, r in zip(channel_ids, spans, merged)
        ),
        review_below=options.coverage_review_below,
    )
    return merged, coverage


def _new_words(existing: Sequence[Word], extra: Sequence[Word]) -> tuple[Word, ...]:
    """Words of a second decode that no existing word already occupies."""
    taken = merge_spans((w.start, w.end) for w in existing)
    return tuple(w for w in extra if not inside_any(w.start, w.end, taken))
