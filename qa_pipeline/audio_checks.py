"""Recording checks made outside the decoder: non-audio files and truncation evidence.

FFmpeg opens an image as a one-frame video and decodes a cut file leniently, so files are
sniffed by their first bytes, and the WAV data-chunk size, the Ogg end-of-stream page and
the exact lengths FLAC, MP4 and tagged MP3 files declare are read from the container
itself. Also the small formatting helpers the decoder's error messages share.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from qa_pipeline.errors import AudioError

# Containers whose short name is not the first of FFmpeg's comma-separated aliases.
_CONTAINER_NAMES = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "matroska,webm": "mkv"}

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
