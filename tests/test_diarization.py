"""Diarization units on constructed data: clustering, label smoothing, word assignment, DER,
options, and the missing-extra path. No model is needed here."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from qa_pipeline.diarization import (
    MISSING_EXTRA,
    DiarizationOptions,
    DiarizationResult,
    SpeakerSegment,
    Span,
    assign_words,
    cluster_speakers,
    plan_windows,
    require_diarization,
)
from qa_pipeline.diarization.diarize import smooth_window_labels
from qa_pipeline.diarization.evaluate import diarization_error
from qa_pipeline.errors import ConfigError, EngineUnavailableError, ModelError
from qa_pipeline.transcript import Word

DIMS = 64


def voice(rng: np.random.Generator, near: np.ndarray | None = None, similarity: float = 0.6) -> np.ndarray:
    """A unit voiceprint; with ``near``, one at about ``similarity`` cosine from it."""
    v = rng.normal(size=DIMS)
    if near is not None:
        v -= (v @ near) * near
        v = similarity * near + np.sqrt(1 - similarity**2) * v / np.linalg.norm(v)
    return v / np.linalg.norm(v)


def windows_of(rng: np.random.Generator, centre: np.ndarray, n: int, noise: float = 0.35) -> np.ndarray:
    x = centre + noise * rng.normal(size=(n, DIMS)) / np.sqrt(DIMS)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_two_voices_are_told_apart_and_numbered_by_first_appearance():
    rng = np.random.default_rng(1)
    a = voice(rng)
    b = voice(rng, a, 0.6)
    # Turns: B speaks first, then A, B, A — 8 windows each of 0.75 s.
    truth = np.repeat([1, 0, 1, 0], 8)
    emb = np.where(truth[:, None] == 0, windows_of(rng, a, 32), windows_of(rng, b, 32))
    c = cluster_speakers(emb, np.full(32, 0.75), np.ones(32, dtype=bool), DiarizationOptions())
    assert c.num_speakers == 2
    assert c.labels[0] == 0, "the first voice heard is speaker 0"
    assert np.array_equal(c.labels, (truth == 0).astype(int))
    assert 0.4 < c.separation < 0.8


def test_one_voice_stays_one_speaker():
    rng = np.random.default_rng(2)
    a = voice(rng)
    emb = windows_of(rng, a, 40)
    c = cluster_speakers(emb, np.full(40, 0.75), np.ones(40, dtype=bool), DiarizationOptions())
    assert c.num_speakers == 1 and set(c.labels) == {0} and c.separation == 1.0


def test_a_third_voice_needs_enough_speech_and_clear_distance():
    rng = np.random.default_rng(3)
    a = voice(rng)
    b = voice(rng, a, 0.5)
    t = voice(rng, a, 0.3)
    opts = DiarizationOptions()
    emb = np.vstack([windows_of(rng, a, 20), windows_of(rng, b, 20), windows_of(rng, t, 12)])
    c = cluster_speakers(emb, np.full(52, 0.75), np.ones(52, dtype=bool), opts)
    assert c.num_speakers == 3
    assert len(set(c.labels[40:])) == 1 and c.labels[40] not in set(c.labels[:40])
    # The same third voice for 2 windows (1.5 s) is too little to be a speaker of its own.
    short = np.vstack([windows_of(rng, a, 20), windows_of(rng, b, 20), windows_of(rng, t, 2)])
    c = cluster_speakers(short, np.full(42, 0.75), np.ones(42, dtype=bool), opts)
    assert c.num_speakers == 2


def test_short_windows_do_not_shape_the_clusters():
    rng = np.random.default_rng(4)
    a = voice(rng)
    b = voice(rng, a, 0.55)
    noisy = windows_of(rng, voice(rng), 6, noise=0.2)  # short, odd-sounding windows
    emb = np.vstack([windows_of(rng, a, 16), windows_of(rng, b, 16), noisy])
    core = np.array([True] * 32 + [False] * 6)
    c = cluster_speakers(emb, np.full(38, 0.75), core, DiarizationOptions())
    assert c.num_speakers == 2 and c.labels.shape == (38,)


def test_smoothing_lets_an_ambiguous_short_window_follow_its_neighbours():
    sims = np.array([[0.9, 0.7], [0.9, 0.7], [0.70, 0.72], [0.9, 0.7], [0.9, 0.7]])
    durations = np.array([1.5, 1.5, 0.4, 1.5, 1.5])
    assert smooth_window_labels(sims, durations, 0.025).tolist() == [0, 0, 0, 0, 0]
    # A short reply that clearly sounds like the other voice keeps it.
    sims[2] = [0.62, 0.80]
    assert smooth_window_labels(sims, durations, 0.025).tolist() == [0, 0, 1, 0, 0]


def test_windows_stay_inside_speech_regions_and_weights_add_up():
    opts = DiarizationOptions(window_seconds=1.5, hop_seconds=0.75)
    regions = [Span(0.5, 1.0), Span(2.0, 5.1)]
    wins = plan_windows(regions, opts)
    assert wins[0] == (0.5, 1.0, 0.5)
    for s, e, _ in wins[1:]:
        assert 2.0 <= s and e <= 5.1 + 1e-9 and e - s == pytest.approx(1.5)
    assert wins[-1][1] == pytest.approx(5.1)
    assert sum(w for _, _, w in wins) == pytest.approx(0.5 + 3.1)


def result(segments, overlaps=()):
    segs = tuple(SpeakerSegment(k, a, b) for k, a, b in segments)
    return DiarizationResult(2, segs, tuple(Span(a, b) for a, b in overlaps), (), (10.0, 10.0), 0.7, 10)


def test_words_take_the_speaker_under_their_own_span():
    r = result([(0, 0.0, 3.0), (1, 3.0, 3.6), (0, 3.6, 8.0)], overlaps=[(3.4, 3.8)])
    words = [
        Word("so", 2.0, 2.3),
        Word("yes", 3.05, 3.45),  # a short reply inside the other party's stretch of speech
        Word("and", 3.5, 3.9),  # mostly in the overlap
        Word("then", 8.2, 8.5),  # after the last segment: nearest speaker
    ]
    out = assign_words(words, r)
    assert [w.speaker for w in out] == [0, 1, 0, 0]
    assert [w.overlap for w in out] == [False, False, True, False]
    assert out[1].word is words[1]
    assert out[2].to_dict()["overlap"] is True


def test_speaker_at_prefers_the_larger_share():
    r = result([(0, 0.0, 1.0), (1, 1.0, 2.0)])
    assert r.speaker_at(0.7, 1.2) == 0 and r.speaker_at(0.9, 1.5) == 1
    assert r.speaker_at(5.0, 6.0) is None
    assert DiarizationResult.from_dict(r.to_dict()) == r


def test_der_counts_miss_false_alarm_and_confusion_with_a_collar():
    ref = [("agent", 0.0, 4.0), ("customer", 5.0, 9.0)]
    assert diarization_error(ref, [(7, 0.0, 4.0), (3, 5.0, 9.0)]).der == 0.0  # labels are mapped
    # Half of the customer's speech given to the agent: 2 s confused of 8 s, minus collars.
    e = diarization_error(ref, [(0, 0.0, 4.0), (0, 5.0, 7.0), (1, 7.0, 9.0)], collar_seconds=0.0)
    assert e.confusion_seconds == pytest.approx(2.0) and e.der == pytest.approx(0.25)
    assert e.mapping == {0: "agent", 1: "customer"}
    e = diarization_error(ref, [(0, 0.0, 4.0)], collar_seconds=0.0)
    assert e.missed_seconds == pytest.approx(4.0) and e.false_alarm_seconds == 0.0
    # A boundary 0.2 s off is forgiven by a 0.25 s collar, not without one.
    off = [(0, 0.2, 4.0), (1, 5.0, 9.2)]
    assert diarization_error(ref, off, 0.25).der == 0.0
    assert diarization_error(ref, off, 0.0).der == pytest.approx(0.4 / 8.0)


def test_options_are_validated():
    with pytest.raises(ConfigError, match="hop_seconds"):
        DiarizationOptions(window_seconds=1.0, hop_seconds=2.0)
    with pytest.raises(ConfigError, match="max_speakers"):
        DiarizationOptions(max_speakers=0)
    with pytest.raises(ConfigError, match="unknown option"):
        DiarizationOptions.from_dict({"windows": 2})
    assert DiarizationOptions.from_dict(DiarizationOptions().to_dict()) == DiarizationOptions()


def test_missing_extra_gives_the_install_line(monkeypatch):
    # Simulate an install without the extra: the import of resemblyzer fails.
    monkeypatch.setitem(sys.modules, "resemblyzer", None)
    with pytest.raises(EngineUnavailableError) as info:
        require_diarization()
    assert isinstance(info.value, ModelError), "batch runs record it as a model failure of that call"
    message = str(info.value)
    assert message.startswith(MISSING_EXTRA)
    assert "pip install 'qa-pipeline[diarization]'" in message


def test_missing_extra_stops_a_mono_call_before_recognition(monkeypatch):
    from qa_pipeline.audio import Audio
    from qa_pipeline.pipeline import transcribe_audio
    from qa_pipeline.transcript import AudioInfo

    class NoRecognition:
        name = "none"
        model_name = "none"

        def transcribe(self, samples, language):  # pragma: no cover - reaching it is the failure
            raise AssertionError("recognition must not start when diarization cannot run")

    monkeypatch.setitem(sys.modules, "resemblyzer", None)
    info = AudioInfo("mono.wav", "0" * 64, 2.0, 8000, 1)
    audio = Audio(info, (np.zeros(32000, dtype=np.float32),), 16000)
    with pytest.raises(EngineUnavailableError, match=r"pip install 'qa-pipeline\[diarization\]'"):
        transcribe_audio(audio, NoRecognition())
