"""The audio call pages play lives inside the report site, and is redacted whenever the
transcript was: whole turns that held personal data are toned, with a margin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from transcript_factory import make_transcript

from qa_pipeline.audio import write_audio
from qa_pipeline.pii import redact_transcript
from qa_pipeline.report.audio import SITE_PAD_SECONDS, site_audio
from qa_pipeline.transcript import Speaker

RATE = 8000
LINES = [
    ("agent", 0.2, "What's the card number?"),
    ("customer", 2.0, "Sure it's 4556 7375 8689 9855 thanks"),
    ("agent", 6.5, "Thank you, all done."),
]


def _noise(seconds: float, seed: int) -> np.ndarray:
    return (0.2 * np.random.default_rng(seed).standard_normal(int(seconds * RATE))).clip(-0.9, 0.9).astype(np.float32)


def _recording(tmp_path: Path, name: str = "abc.wav", subtype: str = "PCM_16") -> Path:
    return write_audio(tmp_path / "rec" / name, [_noise(9.0, 1), _noise(9.0, 2)], RATE, subtype=subtype)


def test_redacted_transcript_gets_a_toned_copy_inside_the_site(tmp_path):
    src = _recording(tmp_path)
    raw = make_transcript(LINES, call_id="abc")
    redacted = redact_transcript(raw).transcript
    audio_dir = tmp_path / "reports" / "audio"
    copy = site_audio(src, audio_dir, "abc", redacted)
    assert copy is not None and copy.parent == audio_dir and copy.name.startswith("abc.redacted-")
    original, _ = sf.read(src, always_2d=True)
    played, rate = sf.read(copy, always_2d=True)
    assert rate == RATE and played.shape == original.shape and sf.info(str(copy)).subtype == "PCM_16"
    turn = next(t for t in raw.turns if t.speaker is Speaker.CUSTOMER)
    changed = np.flatnonzero(np.abs(played[:, 1] - original[:, 1]) > 1e-3)
    # The whole customer turn plus the margin on both sides is toned; the agent is untouched.
    assert changed[0] <= int((turn.start - SITE_PAD_SECONDS) * RATE) + 1
    assert changed[-1] >= int((turn.end + SITE_PAD_SECONDS) * RATE) - 2
    assert np.allclose(played[:, 0], original[:, 0], atol=1e-4)
    assert [p.name for p in audio_dir.iterdir()] == [copy.name]

    # Redacted again with another result: a new copy replaces the old one.
    more = redact_transcript(make_transcript(LINES + [("customer", 7.5, "my cell is 617-555-0123")], call_id="abc"))
    second = site_audio(src, audio_dir, "abc", more.transcript)
    assert second is not None and second != copy
    assert [p.name for p in audio_dir.iterdir()] == [second.name]


def test_unredacted_calls_are_copied_into_the_site(tmp_path):
    audio_dir = tmp_path / "reports" / "audio"
    wav = _recording(tmp_path)
    plain = make_transcript(LINES, call_id="abc")  # never redacted: nothing to tone
    copy = site_audio(wav, audio_dir, "abc", plain)
    assert copy == audio_dir / "abc.wav" and copy.read_bytes() == wav.read_bytes()
    flac = _recording(tmp_path, "f.flac", "PCM_16")
    copy = site_audio(flac, audio_dir, "f", redact_transcript(make_transcript(LINES[:1])).transcript)
    assert copy == audio_dir / "f.flac" and copy.read_bytes() == flac.read_bytes()
    ulaw = _recording(tmp_path, "u.wav", "ULAW")
    copy = site_audio(ulaw, audio_dir, "u", None)
    assert copy == audio_dir / "u.wav" and sf.info(str(copy)).subtype == "PCM_16"


def test_no_audio_when_no_redacted_copy_can_be_made(tmp_path):
    junk = tmp_path / "rec" / "junk.wav"
    junk.parent.mkdir()
    junk.write_bytes(b"RIFF not really audio")
    audio_dir = tmp_path / "reports" / "audio"
    audio_dir.mkdir(parents=True)
    (audio_dir / "junk.wav").write_bytes(b"an older unredacted copy")
    redacted = redact_transcript(make_transcript(LINES, call_id="junk")).transcript
    assert site_audio(junk, audio_dir, "junk", redacted) is None
    assert list(audio_dir.iterdir()) == []
