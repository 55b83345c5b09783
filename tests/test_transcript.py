import json

import pytest

from qa_pipeline.errors import TranscriptError
from qa_pipeline.subtitles import to_srt, to_txt, to_vtt
from qa_pipeline.transcript import (
    AudioInfo,
    RoleAssignment,
    RolesSource,
    Speaker,
    Transcript,
    Turn,
    Word,
    join_words,
    merge_turns,
    words_to_turns,
)


def words(text, start, step=0.3):
    return [Word(w, start + i * step, start + i * step + 0.25, 0.9) for i, w in enumerate(text.split())]


def make_transcript(turns):
    return Transcript(
        call_id="c1",
        audio=AudioInfo("c1.wav", "ab" * 32, 30.0, 8000, 2, "pcm_mulaw", "wav"),
        roles=RoleAssignment(RolesSource.CHANNEL, "configured", 0, 1.0, "set"),
        language="en",
        engine="faster-whisper",
        model="tiny.en",
        turns=tuple(turns),
        options={"beam_size": 1},
    )


def test_words_to_turns_splits_at_pauses_only():
    ws = words("hello there", 0.0) + words("how are you", 3.0)
    turns = words_to_turns(ws, Speaker.AGENT, 0, max_gap=1.0)
    assert [t.text for t in turns] == ["hello there", "how are you"]
    assert turns[1].start == pytest.approx(3.0)
    assert len(words_to_turns(ws, Speaker.AGENT, 0, max_gap=5.0)) == 1


def test_merge_keeps_overlapping_speech_with_true_times():
    customer = words_to_turns(words("my card was charged twice this month", 1.0), Speaker.CUSTOMER, 1, 1.0)
    # The agent starts while the customer is still talking (interruption).
    agent = words_to_turns(words("sorry let me stop you there", 2.0), Speaker.AGENT, 0, 1.0)
    merged = merge_turns(agent, customer)
    assert [t.speaker for t in merged] == [Speaker.CUSTOMER, Speaker.AGENT]
    assert merged[0].end > merged[1].start  # overlap preserved, nothing cut
    assert merged[1].words[0].start == pytest.approx(2.0)
    assert sum(len(t.words) for t in merged) == 7 + 6


def test_merge_order_is_deterministic_on_ties():
    a = Turn(Speaker.AGENT, (Word("yes", 1.0, 1.2),), 0)
    c = Turn(Speaker.CUSTOMER, (Word("no", 1.0, 1.2),), 1)
    assert merge_turns([c], [a]) == merge_turns([a], [c])


def test_json_round_trip(tmp_path):
    t = make_transcript(words_to_turns(words("thank you for calling", 0.5), Speaker.AGENT, 0, 1.0))
    path = t.save(tmp_path / "t.json")
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1
    assert data["turns"][0]["text"] == "thank you for calling"
    assert data["roles"]["roles_inferred"] is False
    assert Transcript.load(path) == t


def test_load_rejects_other_schema_and_garbage(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(TranscriptError, match=r"bad\.json: unsupported transcript schema_version 99"):
        Transcript.load(bad)
    bad.write_text("{not json")
    with pytest.raises(TranscriptError, match="bad.json: not a readable transcript JSON"):
        Transcript.load(bad)
    with pytest.raises(TranscriptError, match="no such transcript file"):
        Transcript.load(tmp_path / "missing.json")


def test_join_words_spacing_english_and_chinese():
    assert join_words(["Hello,", "my", "name", "is", "Sarah."]) == "Hello, my name is Sarah."
    assert join_words(["您好", "，", "欢迎", "致电"]) == "您好，欢迎致电"
    assert join_words(["I", "paid", "$20", "yesterday", "?"]) == "I paid $20 yesterday?"


def test_exports_have_speakers_and_times():
    t = make_transcript(
        merge_turns(
            words_to_turns(words("thank you for calling", 0.5), Speaker.AGENT, 0, 1.0),
            words_to_turns(words("hi <b>there</b>", 62.0), Speaker.CUSTOMER, 1, 1.0),
        )
    )
    vtt = to_vtt(t)
    assert vtt.startswith("WEBVTT")
    assert "00:00:00.500 --> " in vtt and "<v Agent>thank you for calling" in vtt
    assert "&lt;b&gt;" in vtt  # transcript text is untrusted
    srt = to_srt(t)
    assert "00:01:02,000 --> " in srt and "CUSTOMER: hi" in srt
    assert "[01:02] CUSTOMER: hi <b>there</b>" in to_txt(t)


def test_long_channels_are_cut_in_quiet_moments():
    import numpy as np

    from qa_pipeline.pipeline import piece_boundaries

    rate = 1000
    rng = np.random.default_rng(0)
    samples = (rng.standard_normal(rate * 100) * 0.3).astype(np.float32)
    samples[rate * 31 : rate * 31 + 200] = 0.0  # the only quiet moment near the 30 s boundary
    samples[rate * 62 : rate * 62 + 200] = 0.0
    cuts = piece_boundaries(samples, rate, 30.0)
    assert cuts[0] == 0 and cuts[-1] == len(samples) and len(cuts) == 4
    assert rate * 31 <= cuts[1] <= rate * 31 + 200
    assert rate * 62 <= cuts[2] <= rate * 62 + 200
    assert piece_boundaries(samples[: rate * 40], rate, 30.0) == [0, rate * 40]


def test_transcribe_channel_shifts_piece_times_and_keeps_one_language(monkeypatch):
    import numpy as np

    from qa_pipeline import pipeline
    from qa_pipeline.asr.base import ChannelResult

    class Recorder:
        """A stand-in engine that hears one word at 1 s into every piece it is given."""

        name, model_name = "test", "test"

        def __init__(self):
            self.languages = []

        def transcribe(self, samples, language=None):
            self.languages.append(language)
            return ChannelResult((Word("hello", 1.0, 1.5, 0.9),), "en", 0.9, (), len(samples) / 1000)

    monkeypatch.setattr(pipeline, "PIECE_SECONDS", 30.0)
    engine = Recorder()
    samples = np.full(100_000, 0.3, dtype=np.float32)
    result = pipeline.transcribe_channel(engine, samples, 1000, None)
    cuts = pipeline.piece_boundaries(samples, 1000, 30.0)
    assert [w.start for w in result.words] == [round(c / 1000 + 1.0, 3) for c in cuts[:-1]]
    assert engine.languages == [None] + ["en"] * (len(cuts) - 2)
    assert result.speech_seconds == 100.0 and result.language == "en"
