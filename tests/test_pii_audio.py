"""The redacted audio copy: same rate, channels, length and encoding, a tone exactly where the
redacted words were (on the speaker's channel only), everything else untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from transcript_factory import make_transcript

from qa_pipeline.audio import write_audio
from qa_pipeline.errors import AudioError
from qa_pipeline.pii import (
    Entity,
    RedactedSpan,
    RedactionOptions,
    redact_audio,
    redact_transcript,
    tone_spans,
    write_redacted_copy,
)
from qa_pipeline.transcript import Speaker

NO_PAD = RedactionOptions(audio_pad_seconds=0.0)


def _noise(seconds: float, rate: int, seed: int) -> np.ndarray:
    return (0.2 * np.random.default_rng(seed).standard_normal(int(seconds * rate))).clip(-0.9, 0.9).astype(np.float32)


def _dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def _span(start: float, end: float, channel: int = 1) -> RedactedSpan:
    return RedactedSpan(Entity.CARD, Speaker.CUSTOMER, channel, start, end)


def test_tone_replaces_exactly_the_span_on_the_speakers_channel():
    rate = 8000
    agent, customer = _noise(3.0, rate, 1), _noise(3.0, rate, 2)
    out = tone_spans([agent, customer], rate, [_span(1.0, 2.0)], NO_PAD)
    assert [len(c) for c in out] == [len(agent), len(customer)]
    assert np.array_equal(out[0], agent)  # the other party stays audible
    assert np.array_equal(out[1][:rate], customer[:rate]) and np.array_equal(out[1][2 * rate :], customer[2 * rate :])
    inside = out[1][rate : 2 * rate]
    t = np.arange(rate, 2 * rate) / rate
    expected = 10 ** (-18 / 20) * np.sin(2 * np.pi * 1000.0 * t)
    ramp = int(0.005 * rate)
    assert np.allclose(inside[ramp:-ramp], expected[ramp:-ramp], atol=1e-6)
    assert np.max(np.abs(inside[:ramp])) <= np.max(np.abs(expected)) + 1e-6
    # The inputs are not changed.
    assert not np.array_equal(customer[rate : 2 * rate], inside)


def test_padding_and_mono():
    rate = 16000
    mono = _noise(2.0, rate, 3)
    out = tone_spans([mono], rate, [_span(0.5, 1.0, channel=1)], RedactionOptions(audio_pad_seconds=0.1, tone_hz=500))
    toned = np.flatnonzero(out[0] != mono)
    assert toned[0] >= int(0.4 * rate) - 1 and toned[-1] <= int(1.1 * rate)
    assert toned[0] <= int(0.4 * rate) + 2 and toned[-1] >= int(1.1 * rate) - 2
    assert abs(_dominant_hz(out[0][int(0.45 * rate) : int(1.05 * rate)], rate) - 500.0) < 3.0


def test_spans_at_the_edges_are_clipped():
    rate = 8000
    sig = _noise(1.0, rate, 4)
    out = tone_spans([sig, sig], rate, [_span(-0.5, 0.2), _span(0.9, 1.5)], RedactionOptions())
    assert len(out[1]) == len(sig) and np.array_equal(out[0], sig)


@pytest.mark.parametrize(
    "name,rate,channels,subtype",
    [("call.wav", 8000, 2, "ULAW"), ("call.wav", 22050, 2, "PCM_16"), ("call.flac", 16000, 1, None), ("call.wav", 8000, 2, "ALAW")],
)
def test_redacted_copy_keeps_rate_channels_length_and_encoding(tmp_path, name, rate, channels, subtype):
    tracks = [_noise(2.5, rate, 10 + c) for c in range(channels)]
    src = write_audio(tmp_path / "in" / name, tracks, rate, format=Path(name).suffix[1:], subtype=subtype)
    original, _ = sf.read(src, always_2d=True, dtype="float32")
    dst = redact_audio(src, tmp_path / "out" / name, [_span(1.0, 1.5, channel=channels - 1)], NO_PAD)
    info, src_info = sf.info(str(dst)), sf.info(str(src))
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (src_info.samplerate, src_info.channels, src_info.frames, src_info.subtype)
    copy, _ = sf.read(dst, always_2d=True, dtype="float32")
    a, b = int(1.0 * rate), int(1.5 * rate)
    ch = channels - 1
    # Outside the span the copy is the recording (lossless codecs: sample for sample).
    assert np.allclose(copy[:a], original[:a], atol=1e-4) and np.allclose(copy[b:], original[b:], atol=1e-4)
    if channels == 2:
        assert np.allclose(copy[:, 0], original[:, 0], atol=1e-4)
    assert abs(_dominant_hz(copy[a + 40 : b - 40, ch], rate) - 1000.0) < 5.0
    level = np.sqrt(np.mean(copy[a + 40 : b - 40, ch] ** 2))
    assert abs(20 * np.log10(level * np.sqrt(2)) - (-18.0)) < 0.5


def test_batch_copy_is_named_after_the_call_and_follows_the_transcript(tmp_path):
    rate = 8000
    src = write_audio(tmp_path / "rec" / "abc.wav", [_noise(6.0, rate, 20), _noise(6.0, rate, 21)], rate, subtype="PCM_16")
    transcript = make_transcript([("agent", 0.2, "What's the card number?"), ("customer", 2.0, "It's 4556 7375 8689 9855 thanks")], call_id="abc")
    redacted = redact_transcript(transcript).transcript
    assert write_redacted_copy(src, redacted, RedactionOptions()) is None  # no copy unless asked
    options = RedactionOptions(redact_audio=True, audio_dir=str(tmp_path / "redacted"), audio_pad_seconds=0.0)
    dst = write_redacted_copy(src, redacted, options)
    assert dst == tmp_path / "redacted" / "abc.wav"
    original, _ = sf.read(src, always_2d=True)
    copy, _ = sf.read(dst, always_2d=True)
    # The whole turn that held the card number is toned (misheard digits are not among the
    # redacted words), nothing outside it.
    words = transcript.words_of(Speaker.CUSTOMER)
    a, b = int(np.floor(words[0].start * rate)), int(np.ceil(words[-1].end * rate))
    changed = np.flatnonzero(np.any(copy != original, axis=1))
    assert changed[0] >= a and changed[-1] < b
    assert changed[0] < int(words[1].start * rate) and changed[-1] > int(words[4].end * rate)
    assert np.array_equal(copy[:, 0], original[:, 0])


def test_errors_name_the_file(tmp_path):
    src = write_audio(tmp_path / "a.wav", [_noise(1.0, 8000, 30)], 8000)
    with pytest.raises(AudioError, match="no such file"):
        redact_audio(tmp_path / "missing.wav", tmp_path / "b.wav", [])
    with pytest.raises(AudioError, match=r"b\.txt: cannot write a redacted copy"):
        redact_audio(src, tmp_path / "b.txt", [])
    (tmp_path / "junk.wav").write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match="junk.wav"):
        redact_audio(tmp_path / "junk.wav", tmp_path / "c.wav", [])
    stereo = write_audio(tmp_path / "s.wav", [_noise(1.0, 8000, 31)] * 2, 8000)
    with pytest.raises(AudioError, match="channel 3"):
        redact_audio(stereo, tmp_path / "d.wav", [_span(0.1, 0.2, channel=3)])


def test_batch_copy_name_is_file_name_safe(tmp_path):
    src = write_audio(tmp_path / "rec.wav", [_noise(1.0, 8000, 40)], 8000)
    transcript = make_transcript([("customer", 0.1, "hello there")], call_id="team/a:b")
    options = RedactionOptions(redact_audio=True, audio_dir=str(tmp_path / "out"))
    dst = write_redacted_copy(src, redact_transcript(transcript).transcript, options)
    assert dst.parent == tmp_path / "out" and dst.suffix == ".wav" and "/" not in dst.name and ":" not in dst.name
    assert sf.info(str(dst)).frames == sf.info(str(src)).frames
