"""The recordings call pages play, as files inside the report site.

Every call page plays a file in ``<reports>/audio/``, so a copied or published site keeps its
sound and never points at the recordings folder. What goes there depends on the call's
transcript:

- redaction on and personal data found: a 16-bit PCM WAV copy with a tone over every turn
  that held personal data, widened by :data:`SITE_PAD_SECONDS` (recognisers' word and turn
  times are approximate, and a number they misheard is not among the redacted words, so
  only the whole turn is safe); when that copy cannot be made the page has no audio;
- otherwise: the recording as it is when browsers play it (MP3, AAC/M4A, Ogg, Opus, FLAC,
  8/16-bit PCM WAV), else a 16-bit PCM WAV copy (telephony μ-law and A-law WAV).

Copies are named after the call page's slug; a redacted copy's name carries a hash of what
was toned, so a re-redacted transcript gets a new copy and older copies are removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from qa_pipeline.errors import AudioError
from qa_pipeline.log import get_logger

if TYPE_CHECKING:
    from qa_pipeline.transcript import Transcript

log = get_logger("report.audio")

# Containers that every current browser's <audio> plays as they are; their codecs are not
# checked (soundfile cannot open AAC/M4A, and MP3, Ogg and FLAC are all playable).
PLAYABLE_EXTENSIONS: frozenset[str] = frozenset({".mp3", ".m4a", ".aac", ".mp4", ".oga", ".ogg", ".opus", ".flac"})
# WAV codecs browsers decode: linear PCM, 8 or 16 bit.
PLAYABLE_WAV_SUBTYPES: frozenset[str] = frozenset({"PCM_U8", "PCM_16"})
# Margin around each toned turn of the site's redacted copies. Recognisers' word times are
# often 0.2-0.4 s off at turn edges; the margin covers that with room to spare.
SITE_PAD_SECONDS = 0.6
REDACTED_MARK = ".redacted-"
# Frames read and written per step, so a long recording is never held in memory whole.
_BLOCK_FRAMES = 1 << 16


def browser_playable(path: str | os.PathLike[str]) -> bool:
    """Whether browsers play the recording as it is.

    Files with a playable extension (MP3, AAC/M4A, Ogg, Opus, FLAC) are trusted; anything else
    is playable only as 8- or 16-bit PCM WAV. A file that cannot be read counts as playable:
    there is nothing to convert, and the player's download link still works.
    """
    import soundfile as sf

    p = Path(path)
    if p.suffix.lower() in PLAYABLE_EXTENSIONS:
        return True
    try:
        info = sf.info(str(p))
    except (sf.SoundFileError, OSError) as exc:
        log.warning("cannot read %s to check its codec: %s", p, exc)
        return True
    return info.format == "WAV" and info.subtype in PLAYABLE_WAV_SUBTYPES


def playable_copy(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Write ``source`` as 16-bit PCM WAV at ``target``, unless a copy newer than it is there.

    The sample rate and channels are kept; μ-law and A-law decode to the same 16-bit samples.

    Args:
        source: The recording (any format soundfile reads).
        target: The copy's path; its folder is created.

    Returns:
        ``target``.

    Raises:
        OSError: The recording cannot be read or the copy cannot be written (soundfile's
            errors are re-raised as OSError naming the file).
    """
    import soundfile as sf

    src, dst = Path(source), Path(target)
    if _fresh(src, dst):
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    try:
        with sf.SoundFile(str(src)) as f_in:
            with sf.SoundFile(str(tmp), "w", samplerate=f_in.samplerate, channels=f_in.channels,
                              format="WAV", subtype="PCM_16") as f_out:
                for block in f_in.blocks(blocksize=_BLOCK_FRAMES, dtype="int16", always_2d=True):
                    f_out.write(block)
    except sf.SoundFileError as exc:
        tmp.unlink(missing_ok=True)
        raise OSError(f"cannot convert {src} to PCM WAV at {dst}: {exc}") from exc
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(dst)
    return dst


def redacted_site_copy(source: str | os.PathLike[str], transcript: "Transcript", target: str | os.PathLike[str]) -> Path:
    """Write a 16-bit PCM WAV copy of ``source`` with every turn that held personal data toned.

    Args:
        source: The recording (or an earlier redacted copy of it).
        transcript: Its redacted transcript; its redaction tokens say what to tone.
        target: The copy's path; its folder is created.

    Returns:
        ``target``.

    Raises:
        AudioError: The recording cannot be decoded or the copy cannot be written.
    """
    from qa_pipeline.audio import load_audio
    from qa_pipeline.audio_write import write_audio
    from qa_pipeline.options import AudioOptions
    from qa_pipeline.pii import RedactionOptions, spans_from_transcript, tone_spans
    from qa_pipeline.pii.audio import native_rate, turn_spans

    src, dst = Path(source), Path(target)
    if dst.is_file():
        return dst  # the name carries the spans' hash: an existing copy is the same copy
    rate = native_rate(src)
    audio = load_audio(src, AudioOptions(agent_channel=0, customer_channel=1, sample_rate=rate))
    spans = turn_spans(transcript, spans_from_transcript(transcript))
    channels = tone_spans(audio.channels, rate, spans, RedactionOptions(audio_pad_seconds=SITE_PAD_SECONDS))
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_audio(dst, channels, rate, format="wav", subtype="PCM_16")
    return dst


def site_audio(
    audio_path: str | os.PathLike[str], audio_dir: Path, name: str, transcript: "Transcript | None" = None
) -> Path | None:
    """The file in the site the call page's player loads, written when missing or stale.

    Args:
        audio_path: The recording (or its redacted copy), which exists.
        audio_dir: Folder of the site's audio (``<reports>/audio``).
        name: File-name-safe stem (the call page's slug).
        transcript: The call's transcript; when it was redacted and holds redaction
            tokens, only a redacted copy may go into the site.

    Returns:
        The copy inside ``audio_dir``, or None when no safe copy could be made (logged):
        the page then has no player.
    """
    from qa_pipeline.pii import redaction_record, spans_from_transcript

    path = Path(audio_path)
    record = redaction_record(transcript) if transcript is not None else None
    spans = spans_from_transcript(transcript) if transcript is not None and record and record.get("enabled") else ()
    try:
        if spans:
            digest = hashlib.sha256(
                json.dumps([str(path.resolve()), path.stat().st_mtime_ns, SITE_PAD_SECONDS, [s.to_dict() for s in spans]]).encode()
            ).hexdigest()[:12]
            target = audio_dir / f"{name}{REDACTED_MARK}{digest}.wav"
            copy = redacted_site_copy(path, transcript, target)  # type: ignore[arg-type]
        elif browser_playable(path):
            copy = audio_dir / f"{name}{path.suffix.lower()}"
            if not _fresh(path, copy):
                audio_dir.mkdir(parents=True, exist_ok=True)
                tmp = copy.with_name(copy.name + ".tmp")
                shutil.copyfile(path, tmp)
                tmp.replace(copy)
        else:
            copy = playable_copy(path, audio_dir / f"{name}.wav")
    except (AudioError, OSError) as exc:
        log.warning("no audio in the report for %s: %s", path, exc)
        _remove_others(audio_dir, name, None)
        return None
    _remove_others(audio_dir, name, copy)
    return copy


def _fresh(src: Path, dst: Path) -> bool:
    return dst.is_file() and dst.stat().st_mtime >= src.stat().st_mtime


def _remove_others(audio_dir: Path, name: str, keep: Path | None) -> None:
    """Delete the call's other copies (an unredacted one once a redacted one exists…)."""
    if not audio_dir.is_dir():
        return
    for p in audio_dir.iterdir():
        if p != keep and p.is_file() and (p.stem == name or p.name.startswith(name + REDACTED_MARK)):
            p.unlink()
