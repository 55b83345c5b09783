"""Finding recordings on disk and who took each call."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from qa_pipeline.errors import AudioError
from qa_pipeline.metadata import CallMetadata, MetadataOptions, resolve_metadata

AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".mp4", ".wma", ".aiff", ".aif"})


def discover_audio(inputs: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders into a sorted, de-duplicated list of recordings.

    Folders are searched recursively for files with a known audio extension; hidden files and
    folders are skipped. Files named explicitly are taken whatever their extension, so a
    mislabelled recording still gets a decoding error that names it.

    Raises:
        AudioError: An input does not exist.
    """
    found: dict[Path, None] = {}
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p)
                if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS and not any(
                    part.startswith(".") for part in rel.parts
                ):
                    found[f] = None
        elif p.is_file():
            found[p] = None
        else:
            raise AudioError(f"{p}: no such file or folder")
    return list(found)


def call_ids(paths: list[Path]) -> dict[Path, str]:
    """A call id per file: the file name without extension, made unique where names clash."""
    ids: dict[Path, str] = {}
    seen: dict[str, int] = {}
    for p in paths:
        stem = p.stem
        if stem.endswith(".truth"):
            stem = stem[: -len(".truth")]
        n = seen.get(stem, 0)
        seen[stem] = n + 1
        ids[p] = stem if n == 0 else f"{stem}-{n + 1}"
    return ids


def discover_calls(root: str | Path, options: MetadataOptions | None = None) -> list[CallMetadata]:
    """Every recording under ``root`` with its metadata (see :mod:`qa_pipeline.metadata`).

    Args:
        root: A recordings folder (searched recursively) or a single recording.
        options: Where metadata comes from.

    Returns:
        One record per recording, sorted by path. Records whose ``problem`` is set name a
        recording that cannot be processed as it stands (e.g. no agent).

    Raises:
        AudioError: ``root`` does not exist.
        ConfigError: A manifest cannot be read.
    """
    root = Path(root)
    paths = discover_audio([root])
    return resolve_metadata(paths, root, options, call_ids(paths))
