"""Recording ingest: every supported format decodes to separate 16 kHz channels, and every
kind of broken file is refused with a message naming the file and the problem."""

from __future__ import annotations

import hashlib
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from qa_pipeline.audio import (
    Audio,
    channel_activity,
    file_sha256,
    load_audio,
    speech_onset,
    write_audio,
)
from qa_pipeline.errors import AudioError
from qa_pipeline.options import AudioOptions
from qa_pipeline.transcript import AudioInfo

OUT_RATE = 16000
SECONDS = 1.5
LEFT_HZ = 440.0
RIGHT_HZ = 880.0
LEAD_IN_SECONDS = 0.5  # the right channel is silent this long, like a party answering later
AMPLITUDE = 0.5


def tone(hz: float, rate: int, seconds: float = SECONDS, lead_in: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    x = (AMPLITUDE * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    x[: round(lead_in * rate)] = 0.0
    return x


def stereo_call(rate: int) -> list[np.ndarray]:
    return [tone(LEFT_HZ, rate), tone(RIGHT_HZ, rate, lead_in=LEAD_IN_SECONDS)]


def spectrum_peak(x: np.ndarray, rate: int) -> tuple[float, float]:
    """Dominant frequency in Hz, and how far (dB) the strongest other tone sits below it."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    peak_hz = float(freqs[np.argmax(spec)])
    other_hz = RIGHT_HZ if abs(peak_hz - LEFT_HZ) < abs(peak_hz - RIGHT_HZ) else LEFT_HZ
    near_other = spec[np.abs(freqs - other_hz) < 20].max()
    return peak_hz, float(20 * np.log10(spec.max() / max(near_other, 1e-12)))


# (id, format, subtype, file rate, codec, container, lossy)
FORMATS = [
    ("wav-pcm16", "wav", "PCM_16", 44100, "pcm_s16le", "wav", False),
    ("wav-pcm24", "wav", "PCM_24", 48000, "pcm_s24le", "wav", False),
    ("wav-pcm32", "wav", "PCM_32", 16000, "pcm_s32le", "wav", False),
    ("wav-float", "wav", "FLOAT", 22050, "pcm_f32le", "wav", False),
    ("wav-ulaw-8k", "wav", "ULAW", 8000, "pcm_mulaw", "wav", False),
    ("wav-alaw-8k", "wav", "ALAW", 8000, "pcm_alaw", "wav", False),
    ("flac", "flac", None, 44100, "flac", "flac", False),
    ("mp3", "mp3", None, 44100, "mp3", "mp3", True),
    ("ogg-vorbis", "ogg", "VORBIS", 44100, "vorbis", "ogg", True),
    ("ogg-opus", "ogg", "OPUS", 48000, "opus", "ogg", True),
    ("m4a-aac", "m4a", None, 44100, "aac", "m4a", True),
]


@pytest.mark.parametrize(
    "fmt, subtype, rate, codec, container, lossy",
    [f[1:] for f in FORMATS],
    ids=[f[0] for f in FORMATS],
)
def test_formats_decode_to_separate_16k_channels(
    tmp_path: Path,
    fmt: str,
    subtype: str | None,
    rate: int,
    codec: str,
    container: str,
    lossy: bool,
) -> None:
    path = write_audio(tmp_path / f"call.{fmt}", stereo_call(rate), rate, fmt, subtype)

    audio = load_audio(path)

    assert audio.sample_rate == OUT_RATE
    assert audio.num_channels == 2
    assert all(ch.dtype == np.float32 and ch.ndim == 1 for ch in audio.channels)
    assert all(float(np.abs(ch).max()) <= 1.0 for ch in audio.channels)
    assert audio.duration == pytest.approx(SECONDS, abs=0.1 if lossy else 0.002)
    info = audio.info
    assert info.path == str(path)
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (info.sample_rate, info.channels, info.codec, info.container) == (
        rate,
        2,
        codec,
        container,
    )
    assert info.duration == pytest.approx(audio.duration, abs=0.001)

    left, right = audio.channels
    left_hz, left_separation_db = spectrum_peak(left, OUT_RATE)
    right_hz, right_separation_db = spectrum_peak(right, OUT_RATE)
    assert left_hz == pytest.approx(LEFT_HZ, abs=3)
    assert right_hz == pytest.approx(RIGHT_HZ, abs=3)
    # Channels were not mixed: the other party's tone is far below each channel's own.
    assert left_separation_db > 30 and right_separation_db > 30
    assert speech_onset(left, OUT_RATE) == pytest.approx(0.0, abs=0.05)
    assert speech_onset(right, OUT_RATE) == pytest.approx(LEAD_IN_SECONDS, abs=0.05)
    if not lossy:
        # Level survives decoding and resampling: a sine's RMS is amplitude / sqrt(2).
        steady = left[OUT_RATE // 10 : -OUT_RATE // 10]
        rms = float(np.sqrt(np.mean(steady.astype(np.float64) ** 2)))
        assert rms == pytest.approx(AMPLITUDE / np.sqrt(2), rel=0.03)


def test_mono_file_gives_one_channel(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "mono.wav", [tone(LEFT_HZ, 8000)], 8000, "wav", "ULAW")

    audio = load_audio(path, AudioOptions(agent_channel=1))

    assert audio.num_channels == 1 and audio.info.channels == 1
    assert audio.duration == pytest.approx(SECONDS, abs=0.002)
    assert np.array_equal(audio.mixdown(), audio.channels[0])


def test_mixdown_is_the_mean_of_channels(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "call.wav", stereo_call(16000), 16000, "wav", "FLOAT")

    audio = load_audio(path)
    mixed = audio.mixdown()

    assert mixed.dtype == np.float32
    np.testing.assert_allclose(mixed, (audio.channels[0] + audio.channels[1]) / 2, atol=1e-6)


def test_precomputed_hash_is_used_as_given(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "call.wav", stereo_call(8000), 8000)

    assert load_audio(path, sha256="ab" * 32).info.sha256 == "ab" * 32


def test_file_sha256_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(np.random.default_rng(1).bytes(3 * (1 << 20) + 17))

    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


# --- speech onset and channel activity ---------------------------------------------------


@pytest.mark.parametrize("lead_in", [0.0, 0.37, 1.21])
def test_speech_onset_finds_planted_lead_in(lead_in: float) -> None:
    rng = np.random.default_rng(7)
    x = tone(300, OUT_RATE, seconds=3.0, lead_in=lead_in)
    x += (1e-4 * rng.standard_normal(len(x))).astype(np.float32)  # line noise, -80 dBFS

    assert speech_onset(x, OUT_RATE) == pytest.approx(lead_in, abs=0.05)


def test_speech_onset_ignores_a_click_before_speech() -> None:
    x = tone(300, OUT_RATE, seconds=3.0, lead_in=1.0)
    x[OUT_RATE // 4 : OUT_RATE // 4 + 800] = 0.5  # 50 ms click, shorter than min_speech_seconds

    assert speech_onset(x, OUT_RATE) == pytest.approx(1.0, abs=0.05)
    assert speech_onset(x, OUT_RATE, min_speech_seconds=0.04) == pytest.approx(0.25, abs=0.05)


def test_silent_channel_has_no_onset_and_no_activity() -> None:
    silence = np.zeros(OUT_RATE * 2, dtype=np.float32)
    hiss = (1e-4 * np.random.default_rng(3).standard_normal(OUT_RATE * 2)).astype(np.float32)

    assert speech_onset(silence, OUT_RATE) is None
    assert speech_onset(hiss, OUT_RATE) is None
    assert speech_onset(np.zeros(0, dtype=np.float32), OUT_RATE) is None
    assert channel_activity(silence, OUT_RATE) == 0.0
    assert channel_activity(np.zeros(0, dtype=np.float32), OUT_RATE) == 0.0


def test_channel_activity_is_fraction_of_active_frames() -> None:
    x = tone(300, OUT_RATE, seconds=2.0, lead_in=0.5)

    assert channel_activity(x, OUT_RATE) == pytest.approx(0.75, abs=0.02)
    assert channel_activity(tone(300, OUT_RATE), OUT_RATE) == 1.0
    assert channel_activity(x * 0.001, OUT_RATE) == 0.0  # -63 dBFS is below -40
    assert channel_activity(x * 0.001, OUT_RATE, threshold_db=-70) == pytest.approx(0.75, abs=0.02)


# --- channel mapping ---------------------------------------------------------------------


def three_channel_file(tmp_path: Path) -> Path:
    channels = [tone(LEFT_HZ, 8000), tone(RIGHT_HZ, 8000), tone(1500, 8000)]
    return write_audio(tmp_path / "conference.wav", channels, 8000, "wav", "PCM_16")


def test_three_channels_without_mapping_are_refused(tmp_path: Path) -> None:
    path = three_channel_file(tmp_path)

    with pytest.raises(AudioError) as err:
        load_audio(path)

    message = str(err.value)
    assert message.startswith(str(path))
    assert "3 channels" in message and "set agent_channel and customer_channel" in message
    with pytest.raises(AudioError, match="set agent_channel and customer_channel"):
        load_audio(path, AudioOptions(agent_channel=2))  # a customer channel is needed too


def test_three_channels_with_mapping_load_every_channel(tmp_path: Path) -> None:
    path = three_channel_file(tmp_path)

    audio = load_audio(path, AudioOptions(agent_channel=2, customer_channel=0))

    assert audio.num_channels == 3 and audio.info.channels == 3
    assert spectrum_peak(audio.channels[2], OUT_RATE)[0] == pytest.approx(1500, abs=3)
    assert spectrum_peak(audio.channels[0], OUT_RATE)[0] == pytest.approx(LEFT_HZ, abs=3)


@pytest.mark.parametrize(
    "options, problem",
    [
        (AudioOptions(agent_channel=5, customer_channel=0), "agent_channel=5"),
        (AudioOptions(agent_channel=0, customer_channel=3), "customer_channel=3"),
    ],
)
def test_mapping_to_a_missing_channel_is_refused(
    tmp_path: Path, options: AudioOptions, problem: str
) -> None:
    path = three_channel_file(tmp_path)

    with pytest.raises(AudioError) as err:
        load_audio(path, options)

    assert str(err.value).startswith(str(path))
    assert problem in str(err.value) and "only 3 channels" in str(err.value)


def test_stereo_mapping_to_a_third_channel_is_refused(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "call.wav", stereo_call(8000), 8000)

    with pytest.raises(AudioError, match="customer_channel=2 but the file has only 2 channels"):
        load_audio(path, AudioOptions(agent_channel=0, customer_channel=2))


# --- broken and unsuitable files ---------------------------------------------------------


def assert_refused(path: Path, *words: str, options: AudioOptions | None = None) -> str:
    with pytest.raises(AudioError) as err:
        load_audio(path, options)
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    for word in words:
        assert word in message, message
    return message


def test_missing_file(tmp_path: Path) -> None:
    assert_refused(tmp_path / "nowhere.wav", "not found")


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")

    assert_refused(path, "empty", "0 bytes")


def test_text_file_renamed_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("call notes: customer wants a refund\n" * 50)

    assert_refused(path, "unreadable or corrupt")
    with pytest.raises(AudioError) as err:
        load_audio(path)
    assert err.value.__cause__ is not None  # the decoder's own error is kept


def test_header_only_wav_has_zero_length(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "header_only.wav", [np.zeros(0, np.float32)] * 2, 8000)

    assert_refused(path, "no audio samples", "zero length")


def test_truncated_wav_reports_declared_and_present_bytes(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "cut.wav", stereo_call(8000), 8000, "wav", "PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[:41044])

    declared = len(data) - 44  # soundfile writes a 44-byte header for plain PCM
    assert_refused(
        path, f"truncated: header declares {declared} bytes of audio but the file holds 41000"
    )


def test_wav_cut_inside_its_header_is_truncated(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "stub.wav", stereo_call(8000), 8000)
    path.write_bytes(path.read_bytes()[:30])

    assert_refused(path, "truncated")


@pytest.mark.parametrize(
    "fmt, subtype, expected",
    [
        ("mp3", None, "truncated"),
        ("flac", None, "truncated"),
        ("ogg", "VORBIS", "truncated"),
        ("ogg", "OPUS", "truncated"),
        ("m4a", None, "corrupt"),  # the index (moov) is written last, so half a file has none
    ],
)
def test_compressed_file_cut_in_half_is_refused(
    tmp_path: Path, fmt: str, subtype: str | None, expected: str
) -> None:
    rate = 48000 if subtype == "OPUS" else 44100
    path = write_audio(tmp_path / f"cut.{fmt}", stereo_call(rate), rate, fmt, subtype)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    assert_refused(path, expected)


def test_ogg_without_end_of_stream_page_is_truncated(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "open.ogg", stereo_call(44100), 44100, "ogg")
    data = bytearray(path.read_bytes())
    last_page = data.rfind(b"OggS")
    data[last_page + 5] &= ~0x04  # clear the end-of-stream flag; the CRC isn't checked here
    path.write_bytes(bytes(data))

    assert_refused(path, "truncated", "end-of-stream")


def test_wav_with_a_corrupt_header_is_not_called_truncated(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "garbled.wav", stereo_call(8000), 8000, "wav", "PCM_16")
    data = bytearray(path.read_bytes())
    data[12:36] = bytes(range(200, 224))  # the format chunk overwritten with noise
    path.write_bytes(bytes(data))
    message = assert_refused(path, "corrupt header", "not a WAV chunk name")
    assert "truncated" not in message

    zero = write_audio(tmp_path / "zero-rate.wav", stereo_call(8000), 8000, "wav", "PCM_16")
    data = bytearray(zero.read_bytes())
    data[24:28] = struct.pack("<I", 0)  # sample rate 0
    zero.write_bytes(bytes(data))
    assert_refused(zero, "corrupt header", "0 Hz")


def test_an_image_renamed_mp3_is_not_an_audio_file(tmp_path: Path) -> None:
    path = tmp_path / "photo.mp3"
    # A complete 1x1 PNG, which FFmpeg would open as a one-frame video.
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
        b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    message = assert_refused(path, "not an audio file (PNG image)")
    assert "video" not in message


def test_file_without_audio_stream(tmp_path: Path) -> None:
    import av

    path = tmp_path / "screen.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(
                np.full((32, 32, 3), i * 40, np.uint8), format="rgb24"
            )
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)

    assert_refused(path, "no audio stream", "video")


def test_longer_than_max_duration_is_refused(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "long.flac", stereo_call(16000), 16000, "flac")

    assert_refused(
        path, "too long", "max_duration_seconds=1", options=AudioOptions(max_duration_seconds=1.0)
    )
    assert load_audio(path, AudioOptions(max_duration_seconds=2.0)).duration == pytest.approx(
        SECONDS
    )


def test_max_duration_is_enforced_while_decoding_when_length_is_unknown(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "untagged.mp3", stereo_call(16000), 16000, "mp3")
    data = path.read_bytes()
    tag = max(data.find(b"Info"), data.find(b"Xing"))
    assert tag > 0
    # Without its Info/Xing tag an MP3's length is only a bitrate estimate, so the limit is
    # enforced on the decoded samples instead.
    path.write_bytes(data[:tag] + b"Junk" + data[tag + 4 :])

    assert load_audio(path).duration == pytest.approx(SECONDS, abs=0.2)
    message = assert_refused(path, "too long", options=AudioOptions(max_duration_seconds=1.0))
    assert "declares" not in message


def test_ten_hour_wav_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "ten_hours.wav"
    rate, data_bytes = 8000, 8000 * 3600 * 10  # μ-law, mono: one byte per sample
    header = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 7, 1, rate, rate, 1, 8)
    header += b"data" + struct.pack("<I", data_bytes)
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(len(header) + data_bytes)  # sparse: no disk space, no time

    started = time.perf_counter()
    message = assert_refused(path, "too long", "10.00 h")
    assert time.perf_counter() - started < 2.0, "the declared length should be checked first"
    assert "max_duration_seconds=14400" in message


# --- writing -----------------------------------------------------------------------------


def test_write_audio_pads_shorter_channels_with_silence(tmp_path: Path) -> None:
    path = write_audio(
        tmp_path / "out" / "pad.wav", [tone(LEFT_HZ, 16000), tone(RIGHT_HZ, 16000, 0.5)], 16000
    )

    audio = load_audio(path)

    assert audio.duration == pytest.approx(SECONDS)
    assert float(np.abs(audio.channels[1][OUT_RATE:]).max()) == 0.0
    assert not list(path.parent.glob("*.part"))


@pytest.mark.parametrize(
    "fmt, subtype, problem",
    [
        ("aiff", None, "cannot write format 'aiff'"),
        ("wav", "VORBIS", "VORBIS"),
        ("ogg", "OPUS", "cannot write ogg"),
    ],
)
def test_write_audio_refuses_what_it_cannot_write(
    tmp_path: Path, fmt: str, subtype: str | None, problem: str
) -> None:
    path = tmp_path / f"bad.{fmt}"

    with pytest.raises(AudioError, match=problem) as err:
        write_audio(path, stereo_call(44100), 44100, fmt, subtype)  # Opus has no 44.1 kHz mode

    assert str(err.value).startswith(str(path))
    assert not path.exists() and not list(tmp_path.glob("*.part"))


def test_audio_record_rejects_ragged_channels() -> None:
    info = AudioInfo(path="x.wav", sha256="0" * 64, duration=0.0, sample_rate=16000, channels=2)
    with pytest.raises(ValueError):
        Audio(info=info, channels=(np.zeros(3, np.float32), np.zeros(4, np.float32)))
    with pytest.raises(ValueError):
        Audio(info=info, channels=())
