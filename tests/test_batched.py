"""The batched recognition paths against the sequential one, on the shipped stereo sample calls.

The channel-aware path packs both parties' speech into shared windows and maps every word
back to its channel: the words, their party and their times must agree with sequential
decoding of each channel, and accuracy against the script must be no worse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_pipeline.asr import create_engine
from qa_pipeline.audio import load_audio
from qa_pipeline.wer import corpus_word_error_rate, normalise_words
from qa_pipeline.options import TranscribeOptions
from qa_pipeline.pipeline import StageTimings, transcribe_call
from qa_pipeline.synth import GroundTruth
from qa_pipeline.transcript import Speaker, Transcript, join_words

RECORDINGS = Path(__file__).resolve().parent.parent / "samples" / "recordings"
TRUTHS = {t.call_id: t for t in (GroundTruth.read(p) for p in sorted(RECORDINGS.glob("*.truth.json")))}
STEREO = sorted(cid for cid, t in TRUTHS.items() if not t.mono)[:4]

pytestmark = pytest.mark.e2e


def transcribe_all(batching: str) -> dict[str, tuple[Transcript, StageTimings]]:
    engine = create_engine(TranscribeOptions(batching=batching))
    out = {}
    for cid in STEREO:
        timings = StageTimings()
        out[cid] = (transcribe_call(RECORDINGS / TRUTHS[cid].audio_file, engine, call_id=cid, timings=timings), timings)
    return out


@pytest.fixture(scope="module")
def sequential():
    return transcribe_all("off")


@pytest.fixture(scope="module")
def packed():
    return transcribe_all("call")


def party_text(t: Transcript, speaker: Speaker) -> str:
    return join_words(w.text for w in t.words_of(speaker))


def party_wer(results: dict[str, tuple[Transcript, StageTimings]]) -> float:
    pairs = []
    for cid, (t, _) in results.items():
        for speaker in Speaker:
            ref = " ".join(u.text for u in TRUTHS[cid].utterances if u.speaker == speaker)
            pairs.append((ref, party_text(t, speaker)))
    return corpus_word_error_rate(pairs)


def test_packed_words_agree_with_sequential_decoding_party_by_party(sequential, packed):
    pairs = [
        (party_text(sequential[cid][0], speaker), party_text(packed[cid][0], speaker))
        for cid in STEREO
        for speaker in Speaker
    ]
    assert all(ref for ref, _ in pairs), "every party speaks in the sample calls"
    disagreement = corpus_word_error_rate(pairs)
    print(f"packed vs sequential word disagreement: {disagreement:.3f}")
    assert disagreement <= 0.1


def test_packed_is_no_less_accurate_than_sequential(sequential, packed):
    seq, pack = party_wer(sequential), party_wer(packed)
    print(f"party WER over {len(STEREO)} calls: sequential {seq:.3f}, packed {pack:.3f}")
    assert pack <= seq + 0.02
    for cid in STEREO:
        assert packed[cid][0].roles.agent_channel == TRUTHS[cid].channel_map["agent"], cid


def test_packed_word_times_land_on_their_own_channel_and_moment(sequential, packed):
    """Each packed word has a same-text word of the same party in sequential output near it."""
    matched = total = 0
    for cid in STEREO:
        for speaker in Speaker:
            reference = [(normalise_words(w.text), w.start) for w in sequential[cid][0].words_of(speaker)]
            for w in packed[cid][0].words_of(speaker):
                total += 1
                text = normalise_words(w.text)
                matched += any(t == text and abs(s - w.start) <= 0.5 for t, s in reference)
    assert total > 100
    assert matched / total >= 0.9, f"{matched}/{total} packed words match a sequential word within 0.5 s"


def test_packed_path_reports_its_vad_time_and_speech(packed):
    for cid, (t, timings) in packed.items():
        assert 0 < timings.vad < timings.asr, cid
        # Speech found on both channels is a fraction of the two channels' length.
        assert 0 < timings.speech_seconds < 2 * t.duration, cid


def test_faster_whisper_batched_pipeline_per_channel_agrees():
    engine = create_engine(TranscribeOptions(batching="channel"))
    cid = STEREO[0]
    truth = TRUTHS[cid]
    t = transcribe_call(RECORDINGS / truth.audio_file, engine, call_id=cid)
    pairs = [(" ".join(u.text for u in truth.utterances if u.speaker == s), party_text(t, s)) for s in Speaker]
    assert corpus_word_error_rate(pairs) <= 0.15


def test_packed_without_vad_recognises_whole_channels():
    engine = create_engine(TranscribeOptions(batching="call", vad=False))
    cid = STEREO[0]
    audio = load_audio(RECORDINGS / TRUTHS[cid].audio_file)
    results = engine.transcribe_channels(list(audio.channels))
    assert len(results) == 2
    for r in results:
        assert r.words and r.vad_seconds == 0.0
        # Without VAD every second of the channel is decoded.
        assert r.speech_seconds == pytest.approx(audio.duration, abs=0.01)
        assert all(0 <= w.start <= w.end <= audio.duration + 0.01 for w in r.words)
    truth = TRUTHS[cid]
    pairs = [
        (" ".join(u.text for u in truth.utterances if u.speaker == s), join_words(w.text for w in results[truth.channel_map[s.value]].words))
        for s in Speaker
    ]
    assert corpus_word_error_rate(pairs) <= 0.2
