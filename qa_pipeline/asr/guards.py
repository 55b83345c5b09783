"""Hallucination guards: which recognised segments and words to keep.

Whisper is trained on subtitles, so over silence, hold music and line noise it tends to write
what subtitles say there ("Thank you.", "♪", "[Music]") or loop on a phrase. A QA pipeline
that counts words, talk time and phrases must not score those. Every engine turns its output
into :class:`SegmentStats` and :class:`RawWord` records and calls :func:`segment_drop_reason`
and :func:`clean_words` (or :func:`apply_guards`, which does both), so all engines keep and
drop by exactly the same rules:

1. **Silent segment** — ``no_speech_prob > no_speech_threshold`` *and*
   ``avg_logprob < log_prob_threshold``: the model itself thinks the window is silence and its
   text is a guess. (Whisper's own silence test; either signal alone drops real quiet speech.)
2. **Repetition loop** — ``compression_ratio > max_compression_ratio``: text that gzip shrinks
   this much is a decoder stuck repeating itself, not speech (Whisper's own 2.4 threshold).
3. **Known silence hallucination** — the whole segment is one of the phrases Whisper invents
   over silence (:data:`SILENCE_HALLUCINATIONS`) *and* the segment is low-confidence
   (``no_speech_prob > no_speech_threshold`` or ``avg_logprob < log_prob_threshold``) *and*
   its words do not lie inside speech that voice activity detection found (when the engine
   passes the detected speech). A confidently heard "Thank you." is real speech and is kept,
   and so is a quiet one where the detector heard a voice: on a real call a customer's
   closing "Thank you." went missing this way.
4. **Annotation** — words inside brackets (``[Music]``, ``(laughs)``, ``[BLANK_AUDIO]``):
   subtitle descriptions of sounds, never words anyone said.
5. **Non-speech token** — a word with no letter or digit (``♪``, ``...``, ``-``): music
   notes and stray punctuation have no speech to time.
6. **Improbable word** — ``probability < min_word_probability``: isolated words the model is
   nearly sure it did not hear; mostly noise bursts and breaths.

The functions are pure and work on plain records, so they are tested without a model.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from qa_pipeline.asr.coverage import Span, inside_any
from qa_pipeline.lang import load_languages
from qa_pipeline.lang import normalise_text as lang_normalise

from qa_pipeline.options import TranscribeOptions
from qa_pipeline.transcript import Word

# Whisper's own threshold for "this decode is a repetition loop" (openai-whisper and
# faster-whisper both default compression_ratio_threshold to 2.4).
DEFAULT_MAX_COMPRESSION_RATIO = 2.4


def normalise_text(text: str) -> str:
    """Casefolded words without punctuation or symbols, one space apart: the one normaliser
    with nothing expanded, simplified or dropped (a segment is compared as Whisper wrote it)."""
    return " ".join(
        lang_normalise(
            text, apostrophes="split", numbers="keep", drop_fillers=False, simplify=False, split_cjk=False
        )
    )


# Whole-segment texts Whisper writes over silence (the subtitle credits and sign-offs that
# dominate its training data), and credits that vary in their tail ("Subtitles by the
# Amara.org community", "字幕由Amara.org社区提供"): each language file's ``hallucinations``,
# normalised by normalise_text().
_LANG = load_languages()
SILENCE_HALLUCINATIONS: frozenset[str] = frozenset(normalise_text(p) for p in _LANG.hallucinations)
SILENCE_HALLUCINATION_PREFIXES: tuple[str, ...] = tuple(normalise_text(p) for p in _LANG.hallucination_prefixes)

_OPENERS = {"[": "]", "(": ")", "【": "】", "（": "）"}
# An unclosed bracket further than this many words away is a stray character, not an annotation.
MAX_ANNOTATION_WORDS = 8


@dataclass(frozen=True, slots=True)
class RawWord:
    """A word as an engine produced it.

    Attributes:
        text: The word, possibly with Whisper's leading space.
        start: Start in seconds.
        end: End in seconds.
        probability: The recogniser's confidence, 0..1.
    """

    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True, slots=True)
class SegmentStats:
    """A decoded segment's text, time and the statistics the segment rules judge it by.

    Attributes:
        text: The segment's text.
        start: Start in seconds.
        end: End in seconds.
        avg_logprob: Mean log-probability of the decoded tokens.
        no_speech_prob: Probability the model gave to "no speech" for the window.
        compression_ratio: gzip compression ratio of the text (None when unknown).
    """

    text: str
    start: float
    end: float
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float | None = None


@dataclass(frozen=True, slots=True)
class RawSegment:
    """A segment with its words, as :func:`apply_guards` takes them."""

    stats: SegmentStats
    words: tuple[RawWord, ...] = ()


@dataclass(frozen=True, slots=True)
class GuardThresholds:
    """The numbers the guards compare against (see the module docstring for each rule).

    Attributes:
        no_speech_threshold: Rules 1 and 3.
        log_prob_threshold: Rules 1 and 3.
        min_word_probability: Rule 6.
        max_compression_ratio: Rule 2.
    """

    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    min_word_probability: float = 0.05
    max_compression_ratio: float = DEFAULT_MAX_COMPRESSION_RATIO

    @classmethod
    def from_options(cls, options: TranscribeOptions) -> GuardThresholds:
        return cls(
            no_speech_threshold=options.no_speech_threshold,
            log_prob_threshold=options.log_prob_threshold,
            min_word_probability=options.min_word_probability,
        )


@dataclass(frozen=True, slots=True)
class GuardedWords:
    """What survives the guards.

    Attributes:
        words: Kept words in time order, text stripped of surrounding spaces.
        dropped_segments: One line per dropped segment: its time, text and the rule.
        dropped_words: Count of words dropped from kept segments (rules 4-6).
    """

    words: tuple[Word, ...]
    dropped_segments: tuple[str, ...]
    dropped_words: int


Thresholds = GuardThresholds | TranscribeOptions


def _thresholds(value: Thresholds) -> GuardThresholds:
    return value if isinstance(value, GuardThresholds) else GuardThresholds.from_options(value)


def is_silent(stats: SegmentStats, thresholds: Thresholds) -> bool:
    """Rule 1: the model's no-speech signal and a low decode confidence agree."""
    th = _thresholds(thresholds)
    return stats.no_speech_prob > th.no_speech_threshold and stats.avg_logprob < th.log_prob_threshold


def is_low_confidence(stats: SegmentStats, thresholds: Thresholds) -> bool:
    """Either signal of rule 1 on its own (the bar for rule 3)."""
    th = _thresholds(thresholds)
    return stats.no_speech_prob > th.no_speech_threshold or stats.avg_logprob < th.log_prob_threshold


def is_repetition_loop(stats: SegmentStats, thresholds: Thresholds) -> bool:
    """Rule 2: the text compresses like a loop."""
    th = _thresholds(thresholds)
    return stats.compression_ratio is not None and stats.compression_ratio > th.max_compression_ratio


def is_silence_hallucination_text(text: str) -> bool:
    """Whether a whole segment's text is one Whisper is known to invent over silence."""
    norm = normalise_text(text)
    if not norm:
        return False
    compact = norm.replace(" ", "")
    return (
        norm in SILENCE_HALLUCINATIONS
        or compact in SILENCE_HALLUCINATIONS
        or norm.startswith(SILENCE_HALLUCINATION_PREFIXES)
        or compact.startswith(SILENCE_HALLUCINATION_PREFIXES)
    )


def is_non_speech_text(text: str) -> bool:
    """Rule 5: a word without any letter or digit (music notes, punctuation)."""
    return not any(unicodedata.category(ch)[0] in "LN" for ch in text)


def annotation_indices(texts: Sequence[str]) -> set[int]:
    """Rule 4: indices of the words that make up bracketed annotations.

    ``[Music]`` is one word, ``(upbeat music)`` spans two; an annotation may also share a word
    with punctuation (``[Music].``). A bracket left open for more than
    :data:`MAX_ANNOTATION_WORDS` words is treated as a stray character.
    """
    inside: set[int] = set()
    i = 0
    while i < len(texts):
        word = texts[i].strip()
        closer = _OPENERS.get(word[:1]) if word else None
        if closer is None:
            i += 1
            continue
        last = next(
            (j for j in range(i, min(i + MAX_ANNOTATION_WORDS, len(texts))) if closer in texts[j]), None
        )
        if last is None:
            i += 1
            continue
        inside.update(range(i, last + 1))
        i = last + 1
    return inside


def segment_drop_reason(
    stats: SegmentStats,
    thresholds: Thresholds,
    speech: Sequence[Span] = (),
    words: Sequence[RawWord] = (),
) -> str | None:
    """Why rules 1-3 drop a whole segment, or None to keep it.

    Args:
        stats: The segment.
        thresholds: :class:`GuardThresholds`, or the :class:`TranscribeOptions` they come from.
        speech: Detected speech ``(start, end)`` seconds, sorted; rule 3 spares a segment
            whose words (or, without words, whose middle) lie inside it.
        words: The segment's words, for that test.
    """
    th = _thresholds(thresholds)
    if is_silent(stats, th):
        return (
            f"silence (no_speech_prob {stats.no_speech_prob:.2f} > {th.no_speech_threshold:.2f}, "
            f"avg_logprob {stats.avg_logprob:.2f} < {th.log_prob_threshold:.2f})"
        )
    if is_repetition_loop(stats, th):
        return (
            f"repetition loop (compression ratio {stats.compression_ratio:.2f} > "
            f"{th.max_compression_ratio:.2f})"
        )
    if (
        is_low_confidence(stats, th)
        and is_silence_hallucination_text(stats.text)
        and not in_detected_speech(stats, words, speech)
    ):
        return (
            f"known silence hallucination at low confidence (no_speech_prob {stats.no_speech_prob:.2f}, "
            f"avg_logprob {stats.avg_logprob:.2f})"
        )
    return None


def in_detected_speech(stats: SegmentStats, words: Sequence[RawWord], speech: Sequence[Span]) -> bool:
    """Whether most of a segment's words (its middle, without words) lie in detected speech."""
    if not speech:
        return False
    if not words:
        return inside_any(stats.start, stats.end, speech)
    inside = sum(1 for w in words if inside_any(w.start, w.end, speech))
    return 2 * inside > len(words)


def describe_drop(stats: SegmentStats, reason: str) -> str:
    """The audit line for a dropped segment: time, rule, text."""
    return f"{stats.start:.2f}-{stats.end:.2f}s {reason}: {stats.text.strip()!r}"


def _split_words(words: Sequence[RawWord], th: GuardThresholds) -> tuple[list[Word], int, int]:
    """Rules 4-6 on one segment: (kept words, non-speech count, improbable count)."""
    annotations = annotation_indices([w.text for w in words])
    kept: list[Word] = []
    non_speech = improbable = 0
    for index, raw in enumerate(words):
        if index in annotations or is_non_speech_text(raw.text):
            non_speech += 1
        elif raw.probability < th.min_word_probability:
            improbable += 1
        else:
            end = max(raw.end, raw.start)
            kept.append(Word(text=raw.text.strip(), start=raw.start, end=end, probability=raw.probability))
    return kept, non_speech, improbable


def clean_words(words: Sequence[RawWord], thresholds: Thresholds) -> list[Word]:
    """Rules 4-6 on the words of one kept segment.

    Args:
        words: The segment's words in order (annotations can span several words, so a whole
            segment is judged at once).
        thresholds: :class:`GuardThresholds`, or the :class:`TranscribeOptions` they come from.

    Returns:
        The kept words as :class:`~qa_pipeline.transcript.Word`, text stripped, ends clamped
        so no word ends before it starts.
    """
    return _split_words(words, _thresholds(thresholds))[0]


def apply_guards(
    segments: Iterable[RawSegment], thresholds: Thresholds, speech: Sequence[Span] = ()
) -> GuardedWords:
    """Apply every rule to an engine's segments.

    Args:
        segments: The engine's segments, times already in recording seconds.
        thresholds: :class:`GuardThresholds`, or the :class:`TranscribeOptions` they come from.
        speech: Detected speech of the channel (sorted ``(start, end)`` seconds), see rule 3.

    Returns:
        The kept words sorted by start time, the dropped segments with their reasons (a
        segment whose words were all music or annotations counts as dropped), and the count
        of words dropped from kept segments.
    """
    th = _thresholds(thresholds)
    kept: list[Word] = []
    dropped_segments: list[str] = []
    dropped_words = 0
    for segment in segments:
        reason = segment_drop_reason(segment.stats, th, speech, segment.words)
        if reason is not None:
            dropped_segments.append(describe_drop(segment.stats, reason))
            continue
        words, non_speech, improbable = _split_words(segment.words, th)
        if segment.words and non_speech == len(segment.words):
            dropped_segments.append(describe_drop(segment.stats, "non-speech only (music or annotations)"))
        else:
            dropped_words += non_speech + improbable
        kept.extend(words)
    kept.sort(key=lambda w: (w.start, w.end))
    return GuardedWords(
        words=tuple(kept), dropped_segments=tuple(dropped_segments), dropped_words=dropped_words
    )
