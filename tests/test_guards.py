"""Hallucination guards shared by the ASR engines (pure functions, no model needed)."""

from __future__ import annotations

import pytest

from qa_pipeline.asr.guards import (
    GuardThresholds,
    RawSegment,
    RawWord,
    SegmentStats,
    annotation_indices,
    apply_guards,
    clean_words,
    is_non_speech_text,
    is_silence_hallucination_text,
    segment_drop_reason,
)
from qa_pipeline.options import TranscribeOptions

TH = GuardThresholds(no_speech_threshold=0.6, log_prob_threshold=-1.0, min_word_probability=0.05)


def stats(text="hello there", *, no_speech=0.1, logprob=-0.3, ratio=1.3, start=0.0, end=2.0):
    return SegmentStats(text, start, end, logprob, no_speech, ratio)


def words(*texts, probability=0.9, start=0.0):
    return tuple(RawWord(t, start + i * 0.5, start + i * 0.5 + 0.4, probability) for i, t in enumerate(texts))


def test_confident_speech_is_kept():
    assert segment_drop_reason(stats(), TH) is None


def test_silence_needs_both_signals():
    assert "silence" in segment_drop_reason(stats(no_speech=0.9, logprob=-1.5), TH)
    # Quiet but confidently decoded speech, or a noisy window decoded well, stays.
    assert segment_drop_reason(stats(no_speech=0.9, logprob=-0.5), TH) is None
    assert segment_drop_reason(stats(no_speech=0.2, logprob=-1.5), TH) is None


def test_repetition_loop():
    reason = segment_drop_reason(stats("no no no no no no no no no no no no", ratio=3.1), TH)
    assert reason.startswith("repetition loop (compression ratio 3.10 > 2.40)")


@pytest.mark.parametrize(
    "text",
    [" Thank you.", "Thanks for watching!", "you", "Subtitles by the Amara.org community", "谢谢观看。"],
)
def test_known_hallucinations_only_at_low_confidence(text):
    assert is_silence_hallucination_text(text)
    assert "known silence hallucination" in segment_drop_reason(stats(text, no_speech=0.7, logprob=-0.4), TH)
    assert "known silence hallucination" in segment_drop_reason(stats(text, no_speech=0.1, logprob=-1.2), TH)
    # An agent who clearly says "Thank you." said it.
    assert segment_drop_reason(stats(text, no_speech=0.1, logprob=-0.2), TH) is None


def test_hallucination_phrases_match_whole_segments_only():
    assert not is_silence_hallucination_text("Thank you for your patience today")
    assert not is_silence_hallucination_text("")


def test_non_speech_tokens():
    assert is_non_speech_text(" ♪")
    assert is_non_speech_text("...")
    assert not is_non_speech_text(" 5.")
    assert not is_non_speech_text("你")


def test_annotations_spanning_words():
    texts = [" Hello", " [Music]", " okay", " (upbeat", " music)", " bye", " [unclosed", " word"]
    assert annotation_indices(texts) == {1, 3, 4}


def test_clean_words_rules_and_stripping():
    raw = words(" Hello", " ♪", " [Music]", " mm", " there.")
    raw = raw[:3] + (RawWord(" mm", 1.5, 1.9, 0.01),) + raw[4:]
    kept = clean_words(raw, TH)
    assert [w.text for w in kept] == ["Hello", "there."]
    assert kept[0].start == 0.0 and kept[0].end == 0.4 and kept[0].probability == 0.9


def test_word_ending_before_it_starts_is_clamped():
    kept = clean_words((RawWord(" ok", 2.0, 1.9, 0.8),), TH)
    assert kept[0].start == kept[0].end == 2.0


def test_thresholds_come_from_options():
    opts = TranscribeOptions(no_speech_threshold=0.5, log_prob_threshold=-0.8, min_word_probability=0.3)
    assert GuardThresholds.from_options(opts) == GuardThresholds(0.5, -0.8, 0.3)
    assert clean_words(words(" hi", probability=0.2), opts) == []
    assert clean_words(words(" hi", probability=0.2), TH)[0].text == "hi"


def test_apply_guards_reports_every_drop():
    segments = [
        RawSegment(
            stats(" Thank you.", no_speech=0.8, logprob=-0.5, start=20.0, end=21.0),
            words(" Thank", " you.", start=20.0),
        ),
        RawSegment(stats(" Good morning.", start=1.0, end=2.0), words(" Good", " morning.", start=1.0)),
        RawSegment(stats(" ♪ ♪", start=5.0, end=9.0), words(" ♪", " ♪", start=5.0)),
        RawSegment(
            stats(" hmm okay", start=10.0, end=11.0),
            (RawWord(" hmm", 10.0, 10.2, 0.01), RawWord(" okay", 10.3, 10.6, 0.9)),
        ),
    ]
    result = apply_guards(segments, TH)
    assert [w.text for w in result.words] == ["Good", "morning.", "okay"]
    assert [w.start for w in result.words] == sorted(w.start for w in result.words)
    assert len(result.dropped_segments) == 2
    assert result.dropped_segments[0].startswith("20.00-21.00s known silence hallucination")
    assert result.dropped_segments[0].endswith("'Thank you.'")
    assert "non-speech only" in result.dropped_segments[1]
    assert result.dropped_words == 1
