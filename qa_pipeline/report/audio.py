"""Browser-playable copies of recordings for the call pages' audio player.

Telephony recordings are often 8 kHz μ-law or A-law WAV, which browsers do not decode. Such a
recording gets a 16-bit PCM WAV copy (same sample rate and channels) in the report folder;
recordings browsers already play are linked as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

from qa_pipeline.log import get_logger

log = get_logger("report.audio")

# Containers that every current browser's <audio> plays as they are; their codecs are not
# checked (soundfile cannot open AAC/M4A, and MP3, Ogg and FLAC are all playable).
PLAYABLE_EXTENSIONS: frozenset[str] = frozenset({".mp3", ".m4a", ".aac", ".mp4", ".oga", ".ogg", ".opus", ".flac"})
# WAV codecs browsers decode: linear PCM, 8 or 16 bit.
PLAYABLE_WAV_SUBTYPES: frozenset[str] = frozenset({"PCM_U8", "PCM_16"})
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
    if dst.is_file() and dst.stat().st_mtime >= src.stat().st_mtime:
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


def player_source(audio_path: str | os.PathLike[str], audio_dir: Path, name: str) -> Path:
    """The file the call page's player should load: the recording, or its PCM copy.

    Args:
        audio_path: The recording, which exists.
        audio_dir: Folder of the copies (``<reports>/audio``).
        name: File-name-safe stem of the copy (the call page's slug).

    Returns:
        The recording when browsers play it, else ``<audio_dir>/<name>.wav``; the recording
        again (logged) when the copy cannot be made, so the page still links it.
    """
    path = Path(audio_path)
    if browser_playable(path):
        return path
    try:
        return playable_copy(path, audio_dir / f"{name}.wav")
    except OSError as exc:
        log.warning("no playable copy of %s: %s", path, exc)
        return path
