"""Finding recordings on disk and who took each call."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from qa_pipeline.errors import AudioError
from qa_pipeline.metadata import CallMetadata, MetadataOptions, resolve_metadata

AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".mp4", ".wma", ".aiff", ".aif"})


@dataclass(frozen=True)
class IgnoredFile:
    """A file with an audio extension that discovery left out, and why.

    Attributes:
        path: The file.
        reason: Why, in words (``not a regular file (FIFO)``).
    """

    path: Path
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": str(self.path), "reason": self.reason}


@dataclass(frozen=True)
class Discovery:
    """Recordings found under some inputs, and the audio-named files left out.

    Attributes:
        paths: Recordings, sorted and de-duplicated.
        ignored: Files with an audio extension that are not regular files (FIFOs, devices,
            links to them, broken links): reading one could block or never end.
    """

    paths: list[Path]
    ignored: list[IgnoredFile]


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISDIR, "folder")):
        if test(mode):
            return name
    return "special file"


def _not_regular(path: Path) -> str | None:
    """Why ``path`` (followed through links) is not a regular file, or None when it is one."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if path.is_symlink():
            return f"not a regular file (a broken link: {exc.strerror or exc})"
        return f"cannot read file ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    link = " (a link to one)" if path.is_symlink() else ""
    return f"not a regular file: {_kind(mode)}{link}"


def _inside(path: Path, folders: tuple[Path, ...]) -> bool:
    return any(path == f or f in path.parents for f in folders)


def below(root: Path, folders: Iterable[Path]) -> tuple[Path, ...]:
    """The ``folders`` that are not ``root`` itself nor above it: an output folder that holds
    the whole recordings folder (``--logs .``) must not hide every recording."""
    root = root.resolve()
    return tuple(f for f in folders if not (f == root or f in root.parents))


def scan_audio(inputs: Iterable[str | Path], exclude: Iterable[str | Path] = ()) -> Discovery:
    """Expand files and folders into recordings, saying which audio-named files were left out.

    Folders are searched recursively for files with a known audio extension; hidden files and
    folders are skipped, and so is everything under ``exclude`` (the run's own output
    folders: reports, logs, cache, redacted audio). Files named explicitly are taken whatever
    their extension, so a mislabelled recording still gets a decoding error that names it.

    Raises:
        AudioError: An input does not exist.
    """
    excluded = tuple(Path(e).expanduser().resolve() for e in exclude)
    found: dict[Path, None] = {}
    ignored: list[IgnoredFile] = []
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            skip = below(p, excluded)
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p)
                if f.suffix.lower() not in AUDIO_EXTENSIONS or any(part.startswith(".") for part in rel.parts):
                    continue
                if skip and (_inside(f.absolute(), skip) or _inside(f.resolve(), skip)):
                    continue
                problem = _not_regular(f)
                if problem is None:
                    found[f] = None
                elif not f.is_dir():
                    ignored.append(IgnoredFile(f, problem))
        elif p.is_file():
            found[p] = None
        elif p.exists() or p.is_symlink():
            raise AudioError(f"{p}: {_not_regular(p)}")
        else:
            raise AudioError(f"{p}: no such file or folder")
    return Discovery(list(found), ignored)


def discover_audio(inputs: Iterable[str | Path], exclude: Iterable[str | Path] = ()) -> list[Path]:
    """The recordings of :func:`scan_audio`, without the files it left out.

    Raises:
        AudioError: An input does not exist.
    """
    return scan_audio(inputs, exclude).paths


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


def discover_calls(
    root: str | Path, options: MetadataOptions | None = None, exclude: Iterable[str | Path] = ()
) -> list[CallMetadata]:
    """Every recording under ``root`` with its metadata (see :mod:`qa_pipeline.metadata`).

    Args:
        root: A recordings folder (searched recursively) or a single recording.
        options: Where metadata comes from.
        exclude: Folders never searched (the run's own output).

    Returns:
        One record per recording, sorted by path. Records whose ``problem`` is set name a
        recording that cannot be processed as it stands (e.g. no agent).

    Raises:
        AudioError: ``root`` does not exist.
        ConfigError: A manifest cannot be read.
    """
    return discover_recordings(root, options, exclude)[0]


def discover_recordings(
    root: str | Path, options: MetadataOptions | None = None, exclude: Iterable[str | Path] = ()
) -> tuple[list[CallMetadata], list[IgnoredFile]]:
    """:func:`discover_calls`, plus the audio-named files that are not regular files.

    Raises:
        AudioError: ``root`` does not exist.
        ConfigError: A manifest cannot be read or has a syntax error.
    """
    root = Path(root)
    excluded = tuple(exclude)
    found = scan_audio([root], excluded)
    return resolve_metadata(found.paths, root, options, call_ids(found.paths), excluded), found.ignored
