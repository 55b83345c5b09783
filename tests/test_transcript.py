import json

import pytest

from qa_pipeline.errors import TranscriptError
from qa_pipeline.exports import to_srt, to_txt, to_vtt
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
