"""Recording ingest: decode a call recording into per-channel 16 kHz samples.

Every format goes through one decoder (FFmpeg's, via PyAV) and is resampled once, frame by
frame, by libswresample, so only the 16 kHz output is ever held in memory. Channels stay
separate: on a stereo call each party has its own channel, which is what makes agent/customer
attribution reliable.

Recordings are checked before and after decoding, and every problem is an
:class:`~qa_pipeline.errors.AudioError` whose message starts with the file's path. FFmpeg
decodes damaged files leniently (a cut WAV or MP3 simply ends early), so truncation is also
detected from the container itself: the WAV data-chunk size, the Ogg end-of-stream page, and
the exact lengths FLAC, MP4 and tagged MP3 files declare.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa_pipeline.errors import AudioError
from qa_pipeline.log import get_logger
from qa_pipeline.options import AudioOptions
from qa_pipeline.transcript import AudioInfo

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

FRAME_SECONDS = 0.02

# Containers whose short name is not the first of FFmpeg's comma-separated aliases.
_CONTAINER_NAMES = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "matroska,webm": "mkv"}


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


def _check_mapping(name: str, num_channels: int, opts: AudioOptions) -> None:
    agent, customer = opts.agent_channel, opts.customer_channel
    if num_channels == 1:
        if isinstance(agent, int) or customer is not None:
            log.debug("%s: mono recording; the channel mapping does not apply", name)
        return
    if num_channels > 2 and not (isinstance(agent, int) and customer is not None):
        raise AudioError(
            f"{name}: {num_channels} channels and no channel mapping; set agent_channel and "
            f"customer_channel to the channel numbers (0-{num_channels - 1}) of each party"
        )
    for role, channel in (("agent_channel", agent), ("customer_channel", customer)):
        if isinstance(channel, int) and channel >= num_channels:
            raise AudioError(
                f"{name}: {role}={channel} but the file has only {num_channels} channels "
                f"(0-{num_channels - 1})"
            )


# Magic numbers of files that are often mistaken for recordings (exported next to them, or
# renamed by hand), checked before FFmpeg, which opens an image as a one-frame video.
_NON_AUDIO_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive or office document"),
    (b"\x1f\x8b", "gzip archive"),
    (b"BM", "BMP image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"\x7fELF", "program"),
    (b"SQLite format 3\x00", "SQLite database"),
)


def sniff_non_audio(head: bytes) -> str | None:
    """What a file is, when its first bytes say it is a known kind of non-audio file.

    Args:
        head: The file's first bytes.

    Returns:
        A description such as ``PNG image``, or None when the file may be audio.
    """
    for magic, kind in _NON_AUDIO_MAGIC:
        if head.startswith(magic):
            if magic == b"BM" and (len(head) < 14 or head[6:10] != b"\x00\x00\x00\x00"):
                continue  # two letters alone are too weak: BMP also has reserved zero bytes
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP image"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return None  # a video that may carry audio
    return None


def _check_wav(file_path: Path, name: str, size_bytes: int) -> None:
    """Compare the WAV data chunk's declared size with the bytes actually present.

    A chunk id that is not four printable characters, or audio data with no format chunk
    before it, is a corrupt header rather than a truncated file.
    """
    block_align = 1
    data_size: int | None = None
    rf64_data_size: int | None = None
    seen_fmt = False
    with open(file_path, "rb") as f:
        is_rf64 = f.read(4) == b"RF64"
        f.seek(12)
        while True:
            at = f.tell()
            header = f.read(8)
            if len(header) < 8:
                raise AudioError(
                    f"{name}: truncated: the WAV header ends before the audio data begins"
                )
            chunk_id, chunk_size = header[:4], struct.unpack("<I", header[4:])[0]
            if not all(32 <= b < 127 for b in chunk_id):
                raise AudioError(
                    f"{name}: corrupt header: bytes {chunk_id!r} at offset {at} are not a WAV chunk name"
                )
            if chunk_id == b"data":
                if not seen_fmt:
                    raise AudioError(f"{name}: corrupt header: the audio data comes before any format chunk")
                data_size = chunk_size
                break
            seen_fmt = seen_fmt or chunk_id == b"fmt "
            body_start = f.tell()
            body = f.read(min(chunk_size, 16))
            if chunk_id in (b"fmt ", b"ds64") and len(body) < min(chunk_size, 16):
                raise AudioError(
                    f"{name}: truncated: the WAV header ends before the audio data begins"
                )
            if chunk_id == b"fmt " and len(body) >= 14:
                channels, rate = struct.unpack("<H", body[2:4])[0], struct.unpack("<I", body[4:8])[0]
                if channels == 0 or rate == 0:
                    raise AudioError(
                        f"{name}: corrupt header: the format chunk declares {channels} channel(s) at {rate} Hz"
                    )
                block_align = max(1, struct.unpack("<H", body[12:14])[0])
            elif chunk_id == b"ds64" and len(body) >= 16:
                rf64_data_size = struct.unpack("<Q", body[8:16])[0]
            f.seek(body_start + chunk_size + (chunk_size & 1))
        data_start = f.tell()
    if is_rf64 and data_size == 0xFFFFFFFF and rf64_data_size is not None:
        data_size = rf64_data_size
    present = size_bytes - data_start
    if data_size == 0 and present == 0:
        raise AudioError(f"{name}: no audio samples (zero length): the WAV data chunk is empty")
    # 0 and 0xFFFFFFFF mark a header that was never finalised; decoders read to the end.
    if data_size in (0, 0xFFFFFFFF):
        return
    if data_size - present >= block_align:
        raise AudioError(
            f"{name}: truncated: header declares {data_size} bytes of audio "
            f"but the file holds {present}"
        )


def _check_ogg_end(file_path: Path, name: str, size_bytes: int) -> None:
    """An Ogg file must end with a complete page flagged end-of-stream.

    FFmpeg reads a cut Ogg file up to its last whole page without complaint, and the length
    it declares comes from that same last page, so the final page is the only evidence.
    """
    tail_bytes = min(size_bytes, 2 * 65536)  # an Ogg page is at most 65307 bytes
    with open(file_path, "rb") as f:
        f.seek(size_bytes - tail_bytes)
        tail = f.read()
    start = tail.find(b"OggS")
    while start != -1:
        last_flags = _walk_ogg_pages(tail, start)
        if last_flags is not None:
            if not last_flags & 0x04:
                raise AudioError(
                    f"{name}: truncated: the Ogg stream ends without its end-of-stream page"
                )
            return
        start = tail.find(b"OggS", start + 1)
    raise AudioError(f"{name}: truncated: the file ends part-way through an Ogg page")


def _walk_ogg_pages(data: bytes, pos: int) -> int | None:
    """Follow page lengths from ``pos``; the last page's flags if they end exactly at EOF."""
    flags = None
    while pos < len(data):
        if data[pos : pos + 4] != b"OggS" or pos + 27 > len(data):
            return None
        segments = data[pos + 26]
        table_end = pos + 27 + segments
        if table_end > len(data):
            return None
        flags = data[pos + 5]
        pos = table_end + sum(data[pos + 27 : table_end])
    return flags if pos == len(data) else None


def _declared_seconds(container: Any, stream: Any) -> float | None:
    seconds = None
    if stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        seconds = container.duration / 1_000_000
    return seconds if seconds is not None and seconds > 0 else None


def _declared_length_is_exact(container_name: str, codec_name: str, head: bytes) -> bool:
    """Whether the declared length is recorded in the file rather than estimated from bitrate."""
    if container_name in ("wav", "mp4", "m4a", "mov", "ogg"):
        return True
    if container_name == "flac":
        return _flac_total_samples(head) > 0
    if container_name == "mp3":
        return _mp3_has_length_tag(head)
    return False


def _flac_total_samples(head: bytes) -> int:
    # STREAMINFO follows "fLaC" and a 4-byte block header; total samples are its low 36 bits
    # at bytes 10-17, zero when the encoder did not know the length.
    if head[:4] != b"fLaC" or len(head) < 8 + 18:
        return 0
    return int.from_bytes(head[8 + 10 : 8 + 18], "big") & ((1 << 36) - 1)


def _mp3_has_length_tag(head: bytes) -> bool:
    # A Xing/Info (LAME) or VBRI tag in the first frame records the frame count; without one
    # FFmpeg guesses the length from the bitrate, which is no evidence of truncation.
    offset = 0
    if head[:3] == b"ID3" and len(head) >= 10:
        tag_size = 0
        for byte in head[6:10]:
            tag_size = (tag_size << 7) | (byte & 0x7F)
        offset = 10 + tag_size + (10 if head[5] & 0x10 else 0)
    first_frame = head[offset : offset + 200]
    return any(tag in first_frame for tag in (b"Xing", b"Info", b"VBRI"))


def _short_container_name(format_name: str, file_path: Path) -> str:
    aliases = format_name.split(",")
    ext = file_path.suffix.lower().lstrip(".")
    if len(aliases) > 1 and ext in aliases:
        return ext
    return _CONTAINER_NAMES.get(format_name, aliases[0])


def _ffmpeg_reason(exc: Exception) -> str:
    return str(getattr(exc, "strerror", None) or exc)


def _fmt_seconds(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.2f} h"
    return f"{seconds:.2f} s"


def frame_levels_db(samples: np.ndarray, sample_rate: int, frame_seconds: float) -> np.ndarray:
    """RMS level in dBFS of consecutive frames; a trailing partial frame is dropped."""
    frame_len = max(1, round(sample_rate * frame_seconds))
    num_frames = len(samples) // frame_len
    if num_frames == 0:
        return np.empty(0, dtype=np.float32)
    frames = np.asarray(samples, dtype=np.float32)[: num_frames * frame_len].reshape(
        num_frames, frame_len
    )
    mean_square = np.einsum("ij,ij->i", frames, frames) / np.float32(frame_len)
    return 10.0 * np.log10(np.maximum(mean_square, np.float32(1e-12)))


def speech_onset(
    samples: np.ndarray,
    sample_rate: int,
    threshold_db: float = -40.0,
    min_speech_seconds: float = 0.2,
) -> float | None:
    """When a channel first carries sustained sound: used to tell who speaks first.

    The channel is cut into 20 ms frames; a frame is active when its RMS level exceeds
    ``threshold_db`` relative to full scale. The onset is the start of the first run of active
    frames lasting at least ``min_speech_seconds``, so clicks and line noise don't count.

    Args:
        samples: One channel, float in [-1, 1].
        sample_rate: Its rate in Hz.
        threshold_db: Activity threshold in dBFS.
        min_speech_seconds: Shortest stretch of activity that counts.

    Returns:
        Seconds from the start, or None if the channel never rises above the threshold for long
        enough.
    """
    active = frame_levels_db(samples, sample_rate, FRAME_SECONDS) > threshold_db
    min_frames = max(1, math.ceil(min_speech_seconds / FRAME_SECONDS - 1e-9))
    if active.size < min_frames:
        return None
    edges = np.diff(np.concatenate(([0], active.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    long_runs = np.flatnonzero(ends - starts >= min_frames)
    if long_runs.size == 0:
        return None
    return float(starts[long_runs[0]] * round(sample_rate * FRAME_SECONDS) / sample_rate)


# Frames quieter than this count as silence when telling a silent recording from one with
# sound but no words.
SILENCE_DB = -40.0


def channel_activity(samples: np.ndarray, sample_rate: int, threshold_db: float = SILENCE_DB) -> float:
    """Fraction of 20 ms frames whose RMS level exceeds ``threshold_db`` dBFS (0.0 if none).

    A near-zero value marks a silent or dead channel.
    """
    levels = frame_levels_db(samples, sample_rate, FRAME_SECONDS)
    if levels.size == 0:
        return 0.0
    return float(np.count_nonzero(levels > threshold_db) / levels.size)


_SOUNDFILE_FORMATS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}


def write_audio(
    path: str | Path,
    channels: Sequence[np.ndarray],
    sample_rate: int,
    format: str = "wav",
    subtype: str | None = None,
) -> Path:
    """Write channels to an audio file (atomically: a crash never leaves half a file).

    Channels of unequal length are padded with silence to the longest; values are clipped to
    [-1, 1].

    Args:
        path: Output file; parent folders are created.
        channels: One 1-D float array per channel.
        sample_rate: Rate in Hz.
        format: ``wav``, ``flac``, ``ogg``, ``mp3`` or ``m4a`` (AAC).
        subtype: Encoding within the format: for ``wav`` ``PCM_16`` (default), ``PCM_24``,
            ``PCM_32``, ``FLOAT``, ``ULAW``, ``ALAW``; for ``flac`` ``PCM_16``/``PCM_24``;
            for ``ogg`` ``VORBIS`` (default) or ``OPUS`` (8, 12, 16, 24 or 48 kHz only);
            ignored for ``m4a``, which is always AAC.

    Returns:
        The path written.

    Raises:
        AudioError: Unknown format or subtype, no channels, or the encoder refused the data.
    """
    import av

    out = Path(path)
    fmt = format.lower()
    if fmt not in _SOUNDFILE_FORMATS and fmt != "m4a":
        raise AudioError(f"{out}: cannot write format {format!r} (wav, flac, ogg, mp3 or m4a)")
    if not channels:
        raise AudioError(f"{out}: nothing to write (no channels)")
    length = max(len(ch) for ch in channels)
    data = np.zeros((length, len(channels)), dtype=np.float32)
    for i, ch in enumerate(channels):
        data[: len(ch), i] = ch
    np.clip(data, -1.0, 1.0, out=data)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    try:
        if fmt == "m4a":
            _write_m4a(tmp, data, sample_rate)
        else:
            _write_soundfile(tmp, data, sample_rate, fmt, subtype)
        tmp.replace(out)
    except (av.error.FFmpegError, RuntimeError, ValueError, TypeError, OSError) as exc:
        # soundfile.LibsndfileError is a RuntimeError.
        tmp.unlink(missing_ok=True)
        raise AudioError(f"{out}: cannot write {fmt} audio ({exc})") from exc
    return out


def _write_soundfile(
    path: Path, data: np.ndarray, sample_rate: int, fmt: str, subtype: str | None
) -> None:
    import soundfile as sf

    major, default_subtype = _SOUNDFILE_FORMATS[fmt]
    chosen = (subtype or default_subtype).upper()
    if not sf.check_format(major, chosen):
        raise ValueError(f"subtype {chosen!r} is not supported")
    sf.write(str(path), data, sample_rate, format=major, subtype=chosen)


def _write_m4a(path: Path, data: np.ndarray, sample_rate: int) -> None:
    import av

    layout = {1: "mono", 2: "stereo"}.get(data.shape[1])
    if layout is None:
        raise ValueError(f"m4a output supports 1 or 2 channels, not {data.shape[1]}")
    planar = np.ascontiguousarray(data.T)
    with av.open(str(path), mode="w", format="ipod") as container:
        stream = container.add_stream("aac", rate=sample_rate, layout=layout)
        frame_len = stream.codec_context.frame_size or 1024
        for start in range(0, planar.shape[1], frame_len):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(planar[:, start : start + frame_len]),
                format="fltp",
                layout=layout,
            )
            frame.sample_rate = sample_rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
