"""Recording ingest: decode a call recording into per-channel 16 kHz samples.

Every format goes through one decoder (FFmpeg's, via PyAV) and is resampled once, frame by
frame, by libswresample, so only the 16 kHz output is ever held in memory. Channels stay
separate: on a stereo call each party has its own channel, which is what makes agent/customer
attribution reliable.

Recordings are checked before and after decoding, and every problem is an
:class:`~qa_pipeline.errors.AudioError` whose message starts with the file's path. FFmpeg
decodes damaged files leniently (a cut WAV or MP3 simply ends early), so truncation is also
detected from the container itself: the WAV data-chunk size, the Ogg end-of-stream page, and
the exact lengths FLAC, MP4 and tagged MP3 files declare (:mod:`qa_pipeline.audio_checks`).
Channel mapping and levels are in :mod:`qa_pipeline.audio_channels`, writing files in
:mod:`qa_pipeline.audio_write`; their public names are importable from here too.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa_pipeline.audio_channels import (
    FRAME_SECONDS,
    SILENCE_DB,
    _check_mapping,
    channel_activity,
    frame_levels_db,
    speech_onset,
)
from qa_pipeline.audio_checks import (
    _check_ogg_end,
    _check_wav,
    _declared_length_is_exact,
    _declared_seconds,
    _ffmpeg_reason,
    _fmt_seconds,
    _short_container_name,
    sniff_non_audio,
)
from qa_pipeline.audio_write import write_audio
from qa_pipeline.errors import AudioError
from qa_pipeline.log import get_logger
from qa_pipeline.options import AudioOptions
from qa_pipeline.transcript import AudioInfo

__all__ = [
    "FRAME_SECONDS", "SILENCE_DB", "Audio", "channel_activity", "file_sha256", "frame_levels_db",
    "load_audio", "sniff_non_audio", "speech_onset", "write_audio",
]

log = get_logger("audio")

_HASH_BLOCK_BYTES = 1 << 20

# libswresample's defaults (16 taps each side, cutoff 0.97) leave aliases only ~60 dB down
# just above the new Nyquist; 64 taps with a slightly lower cutoff reach ~95 dB with a flat
# passband to 7 kHz, for about 30 % more resampling time (still well under decoding cost).
_RESAMPLER_OPTIONS = {"filter_size": "64", "cutoff": "0.95"}

# Decoded audio may fall this short of the length the container declares before the file is
# called truncated: codecs trim encoder delay and padding, which costs a few milliseconds.
_SHORTFALL_SECONDS = 0.25
_SHORTFALL_FRACTION = 0.001


@dataclass(frozen=True, eq=False)
class Audio:
    """A decoded recording: one sample array per channel at a common rate.

    Attributes:
        info: What was decoded and from where (the file's own rate and channel count).
        channels: One 1-D float32 array per channel of the file, in file order, values in
            [-1, 1]. Treat them as read-only: they may share one buffer.
        sample_rate: Rate of ``channels`` in Hz.
    """

    info: AudioInfo
    channels: tuple[np.ndarray, ...]
    sample_rate: int = 16000

    def __post_init__(self) -> None:
        if not self.channels:
            raise ValueError("Audio needs at least one channel")
        lengths = {len(ch) for ch in self.channels}
        if len(lengths) != 1 or any(ch.ndim != 1 for ch in self.channels):
            raise ValueError("Audio channels must be 1-D arrays of equal length")

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.channels[0]) / self.sample_rate

    @property
    def num_channels(self) -> int:
        return len(self.channels)

    def mixdown(self) -> np.ndarray:
        """The channels averaged into one float32 array (a copy)."""
        mixed = self.channels[0].astype(np.float32, copy=True)
        for ch in self.channels[1:]:
            mixed += ch
        if self.num_channels > 1:
            mixed *= np.float32(1.0 / self.num_channels)
        return mixed


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks.

    Raises:
        AudioError: The file cannot be read.
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while block := f.read(_HASH_BLOCK_BYTES):
                digest.update(block)
    except OSError as exc:
        raise AudioError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    return digest.hexdigest()


def load_audio(
    path: str | Path, options: AudioOptions | None = None, *, sha256: str | None = None
) -> Audio:
    """Decode a recording into separate channels at ``options.sample_rate``.

    Reads anything FFmpeg decodes (WAV in PCM, float, μ-law or A-law; FLAC; MP3; Ogg Vorbis and
    Opus; M4A/AAC; ...). A mono file yields one channel; roles on it are inferred later, so a
    channel mapping in ``options`` is ignored for it.

    Args:
        path: The recording.
        options: Target rate, maximum duration and channel mapping; defaults if None.
        sha256: The file's hash when the caller has already computed it (e.g. for a cache
            lookup), so the file is not read twice; hashed here if None.

    Returns:
        The decoded audio and its :class:`AudioInfo` (hash, the file's own rate and channel
        count, codec, container).

    Raises:
        AudioError: The file is missing, empty, not audio, truncated or corrupt, has no audio
            stream, has more than two channels without a mapping (or a mapping to a channel it
            lacks), or is longer than ``options.max_duration_seconds``.
    """
    import av

    opts = options or AudioOptions()
    name = str(path)
    file_path = Path(path)
    if not file_path.exists():
        raise AudioError(f"{name}: file not found")
    if not file_path.is_file():
        raise AudioError(f"{name}: not a regular file")
    try:
        size_bytes = file_path.stat().st_size
        with open(file_path, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise AudioError(f"{name}: cannot read file ({exc.strerror or exc})") from exc
    if size_bytes == 0:
        raise AudioError(f"{name}: empty file (0 bytes), zero length")

    kind = sniff_non_audio(head)
    if kind is not None:
        # FFmpeg opens an image as a one-frame video: "no audio stream (the file holds video)"
        # would send the reader looking for a video call.
        raise AudioError(f"{name}: not an audio file ({kind})")
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        _check_wav(file_path, name, size_bytes)
    elif head[:4] == b"OggS":
        _check_ogg_end(file_path, name, size_bytes)

    try:
        container = av.open(str(file_path), mode="r")
    except av.error.FFmpegError as exc:
        raise AudioError(
            f"{name}: unreadable or corrupt: not an audio file FFmpeg can decode, or damaged "
            f"({_ffmpeg_reason(exc)})"
        ) from exc
    try:
        return _decode(container, name, file_path, head, opts, sha256)
    finally:
        container.close()


def _decode(
    container: Any,
    name: str,
    file_path: Path,
    head: bytes,
    opts: AudioOptions,
    sha256: str | None,
) -> Audio:
    import av

    if not container.streams.audio:
        kinds = sorted({s.type for s in container.streams}) or ["no streams at all"]
        raise AudioError(f"{name}: no audio stream (the file holds {', '.join(kinds)})")
    stream = container.streams.best("audio") or container.streams.audio[0]
    file_rate = int(stream.codec_context.sample_rate or stream.rate or 0)
    num_channels = int(stream.codec_context.channels)
    if num_channels < 1 or file_rate < 1:
        raise AudioError(f"{name}: unreadable or corrupt: the audio stream has no channels or rate")
    _check_mapping(name, num_channels, opts)

    container_name = _short_container_name(container.format.name, file_path)
    codec_name = stream.codec_context.codec.canonical_name
    declared_seconds = _declared_seconds(container, stream)
    exact = declared_seconds is not None and _declared_length_is_exact(
        container_name, codec_name, head
    )
    if exact and declared_seconds > opts.max_duration_seconds:
        raise AudioError(
            f"{name}: too long: the file declares {_fmt_seconds(declared_seconds)} of audio, "
            f"more than max_duration_seconds={opts.max_duration_seconds:g}"
        )

    out_rate = opts.sample_rate
    max_samples = math.floor(opts.max_duration_seconds * out_rate) + 1
    capacity = out_rate * 60
    if declared_seconds is not None:
        capacity = min(max_samples, math.ceil(declared_seconds * out_rate)) + out_rate
    buf = np.empty((num_channels, capacity), dtype=np.float32)
    n = 0
    resampler = None
    source_format: tuple[Any, ...] | None = None

    def take(frames: list[Any]) -> None:
        nonlocal buf, n
        for out in frames:
            block = out.to_ndarray()
            if block.shape[0] != num_channels:
                raise AudioError(
                    f"{name}: unreadable or corrupt: the channel count changes mid-stream "
                    f"({num_channels} to {block.shape[0]})"
                )
            end = n + block.shape[1]
            if end > max_samples:
                raise AudioError(
                    f"{name}: too long: more than max_duration_seconds="
                    f"{opts.max_duration_seconds:g} of audio"
                )
            if end > buf.shape[1]:
                grown = np.empty((num_channels, max(end, int(buf.shape[1] * 1.5))), np.float32)
                grown[:, :n] = buf[:, :n]
                buf = grown
            buf[:, n:end] = block
            n = end

    try:
        for frame in container.decode(stream):
            fmt = (frame.format.name, frame.layout.name, frame.sample_rate)
            if fmt != source_format:
                # A stream may switch rate or layout mid-way; a resampler serves one setup.
                if resampler is not None:
                    take(resampler.resample(None))
                resampler = av.AudioResampler(
                    format="fltp", rate=out_rate, options=_RESAMPLER_OPTIONS
                )
                source_format = fmt
            frame.pts = None  # sample positions come from the count, not timestamps
            take(resampler.resample(frame))
        if resampler is not None:
            take(resampler.resample(None))
    except av.error.FFmpegError as exc:
        raise AudioError(
            f"{name}: truncated or corrupt: decoding failed after "
            f"{_fmt_seconds(n / out_rate)} ({_ffmpeg_reason(exc)})"
        ) from exc

    if n == 0:
        raise AudioError(f"{name}: no audio samples (zero length)")
    decoded_seconds = n / out_rate
    if exact:
        shortfall = declared_seconds - decoded_seconds
        if shortfall > _SHORTFALL_SECONDS + _SHORTFALL_FRACTION * declared_seconds:
            raise AudioError(
                f"{name}: truncated: the file declares {_fmt_seconds(declared_seconds)} of audio "
                f"but only {_fmt_seconds(decoded_seconds)} could be decoded"
            )

    if buf.shape[1] - n > out_rate * 10:
        buf = buf[:, :n].copy()  # don't keep a large over-estimate alive behind the views
    channels = tuple(buf[c, :n] for c in range(num_channels))
    for ch in channels:
        np.clip(ch, -1.0, 1.0, out=ch)

    info = AudioInfo(
        path=name,
        sha256=sha256 or file_sha256(file_path),
        duration=decoded_seconds,
        sample_rate=file_rate,
        channels=num_channels,
        codec=codec_name,
        container=container_name,
    )
    log.debug(
        "decoded %s: %s %s, %d ch at %d Hz, %.2f s",
        name,
        container_name,
        codec_name,
        num_channels,
        file_rate,
        decoded_seconds,
    )
    return Audio(info=info, channels=channels, sample_rate=out_rate)
