"""Writing channels to audio files (WAV, FLAC, Ogg, MP3 through libsndfile; M4A through PyAV)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa_pipeline.errors import AudioError


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
