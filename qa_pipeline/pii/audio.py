"""A copy of a recording with the redacted words replaced by a tone.

The copy has the recording's sample rate, channel count and length. On a stereo call only
the channel of the party who said the words is toned, so the other party stays audible; on
a mono call the whole signal is. Word times from a recogniser are approximate and misheard
digits are not among the redacted words, so the batch's copies tone the whole turn that
held personal data, widened by ``audio_pad_seconds`` on both sides.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from qa_pipeline.errors import AudioError
from qa_pipeline.log import get_logger
from qa_pipeline.pii.options import RedactionOptions
from qa_pipeline.pii.redact import RedactedSpan, spans_from_transcript
from qa_pipeline.transcript import Transcript

if TYPE_CHECKING:
    import numpy as np

log = get_logger("pii.audio")

# Fade in and out of the tone, so it starts and stops without a click.
_RAMP_SECONDS = 0.005
_WRITABLE = ("wav", "flac", "ogg", "mp3", "m4a")


def tone_spans(
    channels: Sequence[np.ndarray],
    sample_rate: int,
    spans: Sequence[RedactedSpan],
    options: RedactionOptions | None = None,
) -> list[np.ndarray]:
    """Channels with each span replaced by a tone (copies; the inputs are not changed).

    Args:
        channels: One 1-D float array per channel.
        sample_rate: Their rate in Hz.
        spans: What to replace; a span's ``channel`` picks the channel when there are
            several, a mono signal is toned whatever the channel.
        options: Tone frequency, level and padding.

    Returns:
        The channels, same count and length.
    """
    import numpy as np

    options = options or RedactionOptions()
    out = [np.array(ch, dtype=np.float32, copy=True) for ch in channels]
    if not out:
        return out
    length = len(out[0])
    amplitude = 10 ** (options.tone_db / 20)
    ramp = max(1, int(_RAMP_SECONDS * sample_rate))
    for span in spans:
        a = max(0, int(np.floor((span.start - options.audio_pad_seconds) * sample_rate)))
        b = min(length, int(np.ceil((span.end + options.audio_pad_seconds) * sample_rate)))
        if b <= a:
            continue
        t = np.arange(a, b, dtype=np.float64) / sample_rate
        tone = amplitude * np.sin(2 * np.pi * options.tone_hz * t)
        edge = min(ramp, (b - a) // 2)
        if edge:
            shape = np.linspace(0.0, 1.0, edge, endpoint=False)
            tone[:edge] *= shape
            tone[len(tone) - edge :] *= shape[::-1]
        targets = range(len(out)) if len(out) == 1 else [span.channel]
        for c in targets:
            if not 0 <= c < len(out):
                raise AudioError(f"redacted span on channel {c}, but the audio has {len(out)} channel(s)")
            out[c][a:b] = tone.astype(np.float32)
    return out


def turn_spans(transcript: Transcript, spans: Sequence[RedactedSpan]) -> list[RedactedSpan]:
    """Each span widened to the whole turn of its speaker that holds it.

    A recogniser that mishears part of a number ("4240 24240…") leaves the misheard words
    out of the redacted span, and its word times may be off by a few tenths of a second;
    the turn in which the number was read covers both.
    """
    from dataclasses import replace

    out = []
    for span in spans:
        start, end = span.start, span.end
        for turn in transcript.turns:
            if turn.speaker is span.speaker and turn.start < span.end and span.start < turn.end:
                start, end = min(start, turn.start), max(end, turn.end)
        out.append(replace(span, start=start, end=end))
    return out


def native_rate(path: Path) -> int:
    """The recording's own sample rate.

    Raises:
        AudioError: The file cannot be opened or has no audio stream.
    """
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioError(f"{path}: no audio stream")
            stream = container.streams.audio[0]
            return int(stream.codec_context.sample_rate or stream.rate)
    except av.error.FFmpegError as exc:
        raise AudioError(f"{path}: unreadable or corrupt ({exc})") from exc


def _wav_subtype(path: Path) -> str | None:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, RuntimeError, OSError):
        return None
    return info.subtype if info.format == "WAV" else None


def redact_audio(
    src: str | Path,
    dst: str | Path,
    spans: Sequence[RedactedSpan],
    options: RedactionOptions | None = None,
) -> Path:
    """Write a copy of ``src`` at ``dst`` with every span replaced by a tone.

    The copy keeps the recording's sample rate and channels; its format follows ``dst``'s
    extension (``wav``, ``flac``, ``ogg``, ``mp3``, ``m4a``), and a WAV copy of a WAV
    recording keeps its encoding (μ-law stays μ-law). WAV and FLAC copies have exactly the
    recording's length; lossy formats may add the codec's padding.

    Args:
        src: The recording.
        dst: Where to write the copy (folders are created; written atomically).
        spans: The redacted spans (from :func:`~qa_pipeline.pii.redact_transcript` or
            :func:`~qa_pipeline.pii.spans_from_transcript`).
        options: Tone and padding.

    Returns:
        ``dst``.

    Raises:
        AudioError: The recording cannot be decoded or the copy cannot be written.
    """
    from qa_pipeline.audio import load_audio
    from qa_pipeline.audio_write import write_audio
    from qa_pipeline.options import AudioOptions

    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise AudioError(f"{src}: no such file")
    fmt = dst.suffix.lower().lstrip(".")
    if fmt not in _WRITABLE:
        raise AudioError(f"{dst}: cannot write a redacted copy as {fmt or 'a file without extension'} ({', '.join(_WRITABLE)})")
    rate = native_rate(src)
    # Every channel is kept; the mapping only satisfies the decoder's check on 3+ channels.
    audio = load_audio(src, AudioOptions(agent_channel=0, customer_channel=1, sample_rate=rate))
    channels = tone_spans(audio.channels, rate, spans, options)
    subtype = _wav_subtype(src) if fmt == "wav" else None
    write_audio(dst, channels, rate, format=fmt, subtype=subtype)
    log.info("%s: redacted audio copy with %d span(s) at %s", src, len(spans), dst)
    return dst


def write_redacted_copy(
    src: str | Path, transcript: Transcript, options: RedactionOptions, name: str | None = None
) -> Path | None:
    """The batch's redacted audio copy of one call, in ``options.audio_dir``.

    Every turn that held personal data is toned whole (see :func:`turn_spans`), plus
    ``options.audio_pad_seconds`` on both sides.

    The copy is named after the call (``<call_id>.<extension of the recording>``, made
    file-name safe as for transcript copies) and made from the transcript's redaction tokens,
    so a transcript from the cache works too.

    Args:
        src: The recording.
        transcript: Its redacted transcript.
        options: Redaction options; nothing is written unless ``redact_audio`` is set.
        name: File stem; defaults to the call id.

    Returns:
        The copy's path, or None when no copy is wanted.

    Raises:
        AudioError: The recording cannot be decoded or the copy cannot be written.
    """
    if not (options.enabled and options.redact_audio and options.audio_dir):
        return None
    from qa_pipeline.store import transcript_file_name

    suffix = Path(src).suffix.lower()
    if suffix.lstrip(".") not in _WRITABLE:
        suffix = ".wav"
    stem = name or Path(transcript_file_name(transcript.call_id)).stem
    dst = Path(options.audio_dir) / f"{stem}{suffix}"
    return redact_audio(src, dst, turn_spans(transcript, spans_from_transcript(transcript)), options)
