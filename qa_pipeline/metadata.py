"""Who took a call and when: metadata from a manifest CSV, JSON sidecars or the file name.

Three sources, most specific first; each field comes from the first source that has it:

1. **Sidecar** — ``<recording>.json`` or ``<stem>.json`` beside the recording, a JSON object
   with any of the fields below (other keys are ignored).
2. **Manifest** — a CSV named ``calls.csv`` (configurable) in the recording's folder or any
   folder above it up to the recordings root; its ``file`` column holds paths relative to the
   manifest's folder. Column names are configurable.
3. **File-name pattern** — e.g. ``{agent_id}_{started_at:%Y%m%d-%H%M%S}_{call_id}.wav``;
   ``{_}`` matches a part to ignore.

Fields: ``call_id`` (default: the file name without extension), ``agent_id`` (required: a
call without one is recorded as failed, never skipped), ``agent_name``, ``team`` and
``started_at`` (ISO 8601; a time without a zone is read in ``MetadataOptions.timezone``;
missing: the file's modification time). Times are kept as naive UTC.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

from qa_pipeline.errors import ConfigError
from qa_pipeline.log import get_logger

log = get_logger("metadata")

FIELDS: tuple[str, ...] = ("call_id", "agent_id", "agent_name", "team", "started_at")
DEFAULT_MANIFEST = "calls.csv"


@dataclass(frozen=True)
class ManifestColumns:
    """Column names of the manifest CSV (and keys of JSON sidecars) for each field."""

    file: str = "file"
    call_id: str = "call_id"
    agent_id: str = "agent_id"
    agent_name: str = "agent_name"
    team: str = "team"
    started_at: str = "started_at"

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: "Mapping[str, Any] | ManifestColumns | None") -> "ManifestColumns":
        if data is None:
            return cls()
        if isinstance(data, cls):
            return data
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f"metadata columns: unknown field(s) {', '.join(unknown)}; known: file, {', '.join(FIELDS)}")
        bad = [k for k, v in data.items() if not isinstance(v, str) or not v.strip()]
        if bad:
            raise ConfigError(f"metadata columns: {', '.join(bad)} must name a column")
        return cls(**{k: v.strip() for k, v in data.items()})


@dataclass(frozen=True)
class MetadataOptions:
    """Where call metadata comes from.

    Attributes:
        manifest: File name of manifest CSVs looked for in the recordings' folders; ``""``
            turns manifests off.
        columns: Manifest column names (also the keys read from sidecars).
        sidecars: Read ``<recording>.json`` / ``<stem>.json`` sidecars.
        pattern: File-name pattern, or None.
        timezone: Zone of times written without one (an IANA name such as
            ``Europe/London``, or ``UTC``).
    """

    manifest: str = DEFAULT_MANIFEST
    columns: ManifestColumns = field(default_factory=ManifestColumns)
    sidecars: bool = True
    pattern: str | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.pattern is not None:
            FilenamePattern(self.pattern)  # validates
        _zone(self.timezone)

    def to_dict(self) -> dict[str, Any]:
        return {
            "manifest": self.manifest,
            "columns": self.columns.to_dict(),
            "sidecars": self.sidecars,
            "pattern": self.pattern,
            "timezone": self.timezone,
        }

    @classmethod
    def from_dict(cls, data: "Mapping[str, Any] | MetadataOptions | None") -> "MetadataOptions":
        if data is None:
            return cls()
        if isinstance(data, cls):
            return data
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f"metadata: unknown option(s) {', '.join(unknown)}")
        values = dict(data)
        values["columns"] = ManifestColumns.from_dict(values.get("columns"))
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"metadata: {exc}") from exc


@dataclass(frozen=True)
class CallMetadata:
    """The resolved metadata of one recording.

    Attributes:
        path: The recording.
        call_id: The call's identifier.
        agent_id: The agent, or None when no source names one (the call cannot be scored).
        agent_name: Display name, or None.
        team: Team, or None.
        started_at: Start of the call, naive UTC.
        sources: Which source gave each field (``sidecar``, ``manifest``, ``pattern``,
            ``filename``, ``mtime``).
        problem: Why the call cannot be processed (no agent, an unreadable sidecar, a bad
            date…), or None.
    """

    path: Path
    call_id: str
    agent_id: str | None
    agent_name: str | None
    team: str | None
    started_at: datetime
    sources: Mapping[str, str] = field(default_factory=dict)
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "call_id": self.call_id,
            "agent_id": self.agent_id,
            "agent_name": self.agent_name,
            "team": self.team,
            "started_at": self.started_at.isoformat(),
            "sources": dict(self.sources),
            "problem": self.problem,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CallMetadata":
        return cls(
            path=Path(data["path"]),
            call_id=str(data["call_id"]),
            agent_id=data.get("agent_id"),
            agent_name=data.get("agent_name"),
            team=data.get("team"),
            started_at=datetime.fromisoformat(str(data["started_at"])),
            sources=dict(data.get("sources", {})),
            problem=data.get("problem"),
        )


# strftime directives a pattern may use, as regular expressions.
_DIRECTIVES = {
    "Y": r"\d{4}", "y": r"\d{2}", "m": r"\d{1,2}", "d": r"\d{1,2}", "H": r"\d{1,2}", "I": r"\d{1,2}",
    "M": r"\d{1,2}", "S": r"\d{1,2}", "f": r"\d{1,6}", "j": r"\d{1,3}", "p": r"[AaPp][Mm]",
    "b": r"[A-Za-z]{3}", "B": r"[A-Za-z]+", "a": r"[A-Za-z]{3}", "A": r"[A-Za-z]+", "z": r"[+-]\d{2}:?\d{2}|Z",
    "%": "%",
}
_FIELD_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)?(?::([^{}]*))?\}")


class FilenamePattern:
    """A file-name pattern such as ``{agent_id}_{started_at:%Y%m%d-%H%M%S}_{call_id}.wav``.

    Fields are the metadata fields; ``{_}`` (or any name starting with ``_``) matches a part to
    ignore; ``started_at`` takes a ``strftime`` format. A pattern with an extension is matched
    against the whole file name, one without against the name without its extension.

    Raises:
        ConfigError: The pattern names an unknown field, repeats one, or has a bad format.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.date_format: str | None = None
        parts: list[str] = []
        seen: set[str] = set()
        pos = 0
        for m in _FIELD_RE.finditer(pattern):
            parts.append(re.escape(pattern[pos : m.start()]))
            pos = m.end()
            name, fmt = m.group(1) or "_", m.group(2)
            if name.startswith("_"):
                parts.append(r"[^/]*?")
                continue
            if name not in FIELDS:
                raise ConfigError(f"file-name pattern {pattern!r}: unknown field {{{name}}}; use {', '.join(FIELDS)} or {{_}}")
            if name in seen:
                raise ConfigError(f"file-name pattern {pattern!r}: field {{{name}}} appears twice")
            seen.add(name)
            if name == "started_at":
                fmt = fmt or "%Y-%m-%dT%H%M%S"
                self.date_format = fmt
                parts.append(f"(?P<started_at>{_format_regex(fmt, pattern)})")
            else:
                if fmt:
                    raise ConfigError(f"file-name pattern {pattern!r}: only started_at takes a format")
                parts.append(f"(?P<{name}>[^/]+?)")
        parts.append(re.escape(pattern[pos:]))
        if "{" in _FIELD_RE.sub("", pattern) or "}" in _FIELD_RE.sub("", pattern):
            raise ConfigError(f"file-name pattern {pattern!r}: unbalanced braces")
        self.fields = tuple(sorted(seen))
        self.whole_name = bool(Path(_FIELD_RE.sub("x", pattern)).suffix)
        self.regex = re.compile("^" + "".join(parts) + "$")

    def match(self, path: Path) -> dict[str, str] | None:
        """The fields the file name gives, or None when it does not match."""
        m = self.regex.match(path.name if self.whole_name else path.stem)
        return None if m is None else {k: v for k, v in m.groupdict().items() if v is not None}


def _format_regex(fmt: str, pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%":
            if i + 1 >= len(fmt) or fmt[i + 1] not in _DIRECTIVES:
                bad = fmt[i : i + 2]
                raise ConfigError(f"file-name pattern {pattern!r}: unsupported date directive {bad!r}")
            out.append(f"(?:{_DIRECTIVES[fmt[i + 1]]})")
            i += 2
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


def _zone(name: str) -> Any:
    if name.upper() == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"metadata timezone {name!r} is not a known time zone (e.g. UTC, Europe/London)") from exc


def parse_started_at(value: Any, zone: Any, date_format: str | None = None) -> datetime:
    """A start time as naive UTC.

    Args:
        value: ISO 8601 text (``2024-03-04T09:12:00``, ``2024-03-04 09:12:00+01:00``…), or
            text in ``date_format``, or a ``datetime``.
        zone: The zone of a time written without one.
        date_format: A ``strptime`` format to use instead of ISO 8601.

    Raises:
        ValueError: The value is not a date.
    """
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        if not text:
            raise ValueError("empty")
        if date_format:
            dt = datetime.strptime(text, date_format)
        else:
            dt = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    return dt.astimezone(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class _Row:
    values: dict[str, str]
    manifest: Path
    line: int

    @property
    def where(self) -> str:
        return f"{self.manifest}:{self.line}"


def _read_manifest(path: Path, columns: ManifestColumns) -> tuple[dict[Path, _Row], dict[Path, str]]:
    """Rows of one manifest keyed by resolved file path, and per-file problems (duplicates).

    Raises:
        ConfigError: The file cannot be read, or has a syntax error (an unclosed quote, a
            repeated column name, a row with more fields than the header); the message names
            the file and line.
    """
    rows: dict[Path, _Row] = {}
    problems: dict[Path, str] = {}
    header: list[str] | None = None
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            for line, _, raw in _csv_rows(path, f):
                if header is None:
                    header = raw
                    _check_header(path, header, columns)
                    wanted = {name: header.index(getattr(columns, name)) for name in FIELDS if getattr(columns, name) in header}
                    file_at = header.index(columns.file)
                    continue
                if not any(cell.strip() for cell in raw):
                    continue  # a blank line
                if len(raw) > len(header):
                    raise ConfigError(
                        f"{path}:{line}: {len(raw)} fields in a row, but the header names {len(header)} column(s); "
                        "quote values that contain a comma"
                    )
                cells = raw + [""] * (len(header) - len(raw))
                name = cells[file_at].strip()
                if not name:
                    log.warning("%s:%d: row without a file name, ignored", path, line)
                    continue
                target = (path.parent / name).resolve()
                values = {k: cells[i].strip() for k, i in wanted.items() if cells[i].strip()}
                if target in rows:
                    problems[target] = f"listed twice in {path} (lines {rows[target].line} and {line})"
                    continue
                rows[target] = _Row(values, path, line)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read manifest ({exc})") from exc
    if header is None:
        _check_header(path, [], columns)
    return rows, problems


def _csv_rows(path: Path, f: Any) -> Iterable[tuple[int, int, list[str]]]:
    """(first line, last line, fields) of each CSV record, refusing quotes that run away.

    A quoted field left open swallows every row after it, and those calls would fail as
    "not in the manifest" with no word of the cause: a record spanning several lines, or one
    still open at the end of the file, is an error naming the line where it starts.
    """
    reader = csv.reader(f, strict=True)
    end = 0
    while True:
        start = end + 1
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if reader.line_num > start or "end of data" in str(exc):
                raise ConfigError(
                    f"{path}:{start}: a quoted field opened on line {start} is never closed ({exc})"
                ) from None
            raise ConfigError(f"{path}:{reader.line_num}: CSV syntax error ({exc})") from None
        end = reader.line_num
        if end > start:
            raise ConfigError(
                f"{path}:{start}: a quoted field opened on line {start} runs on to line {end}; "
                "close the quote (values in a manifest never span lines)"
            )
        yield start, end, raw


def _check_header(path: Path, header: list[str], columns: ManifestColumns) -> None:
    names = [h.strip() for h in header]
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise ConfigError(f"{path}:1: column {name!r} appears twice in the header")
        seen.add(name)
    header[:] = names
    if columns.file not in names:
        raise ConfigError(
            f"{path}: manifest has no {columns.file!r} column (columns: {', '.join(n for n in names if n) or 'none'}); "
            "set [metadata.columns] file = \"...\" in qa.toml"
        )


def _read_sidecar(path: Path, columns: ManifestColumns) -> dict[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    out = {}
    for name in FIELDS:
        value = data.get(getattr(columns, name))
        if value is not None and str(value).strip():
            out[name] = str(value).strip()
    return out


def _sidecar_for(path: Path) -> Path | None:
    for candidate in (path.with_name(path.name + ".json"), path.with_suffix(".json")):
        if candidate.is_file():
            return candidate
    return None


def _manifests(root: Path, name: str, exclude: Iterable[str | Path] = ()) -> list[Path]:
    if not name:
        return []
    if root.is_file():
        root = root.parent
    from qa_pipeline.ingest import below

    excluded = below(root, (Path(e).expanduser().resolve() for e in exclude))
    return sorted(
        p for p in root.rglob(name)
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        and not any(x == p.resolve() or x in p.resolve().parents for x in excluded)
    )


def resolve_metadata(
    paths: Iterable[Path],
    root: Path,
    options: MetadataOptions | None = None,
    default_ids: Mapping[Path, str] | None = None,
    exclude: Iterable[str | Path] = (),
) -> list[CallMetadata]:
    """Resolve the metadata of each recording.

    Args:
        paths: Recordings (as found by :func:`qa_pipeline.ingest.discover_audio`).
        root: The recordings folder; manifests are looked for in it and below.
        options: Sources and column names.
        default_ids: Call ids to use when no source gives one (default: the file stem).
        exclude: Folders whose manifests are not read (the run's own output).

    Returns:
        One record per path, in order. A record with ``problem`` set cannot be processed;
        its message says which sources were tried.

    Raises:
        ConfigError: A manifest cannot be read, lacks its file column or has a syntax error
            (the message names the file and line).
    """
    opts = options or MetadataOptions()
    zone = _zone(opts.timezone)
    pattern = FilenamePattern(opts.pattern) if opts.pattern else None
    manifest_rows: dict[Path, _Row] = {}
    manifest_problems: dict[Path, str] = {}
    manifest_files = _manifests(Path(root), opts.manifest, exclude)
    # Deeper manifests win over shallower ones for the same file.
    for manifest in sorted(manifest_files, key=lambda p: len(p.parts)):
        rows, problems = _read_manifest(manifest, opts.columns)
        manifest_rows.update(rows)
        manifest_problems.update(problems)
    out: list[CallMetadata] = []
    for path in paths:
        out.append(_resolve_one(Path(path), opts, zone, pattern, manifest_rows, manifest_problems, manifest_files, default_ids))
    _check_unique_ids(out)
    return out


def _resolve_one(
    path: Path,
    opts: MetadataOptions,
    zone: Any,
    pattern: FilenamePattern | None,
    manifest_rows: Mapping[Path, _Row],
    manifest_problems: Mapping[Path, str],
    manifest_files: list[Path],
    default_ids: Mapping[Path, str] | None,
) -> CallMetadata:
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    date_format: dict[str, str | None] = {}

    def take(found: Mapping[str, str], source: str, fmt: str | None = None) -> None:
        for k, v in found.items():
            if k not in values:
                values[k] = v
                sources[k] = source
                date_format[k] = fmt

    tried: list[str] = []
    if opts.sidecars:
        sidecar = _sidecar_for(path)
        tried.append(f"no sidecar {path.name}.json or {path.stem}.json" if sidecar is None else f"sidecar {sidecar.name}")
        if sidecar is not None:
            try:
                take(_read_sidecar(sidecar, opts.columns), f"sidecar {sidecar}")
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                problems.append(f"sidecar {sidecar} is not readable JSON metadata ({exc})")
    resolved = path.resolve()
    if manifest_files:
        row = manifest_rows.get(resolved)
        if resolved in manifest_problems:
            problems.append(manifest_problems[resolved])
        elif row is not None:
            take(row.values, f"manifest {row.where}")
        tried.append(f"not in {', '.join(str(m) for m in manifest_files)}" if row is None else f"manifest {row.where}")
    elif opts.manifest:
        tried.append(f"no {opts.manifest} manifest")
    if pattern is not None:
        found = pattern.match(path)
        tried.append(f"file name does not match the pattern {pattern.pattern!r}" if found is None else f"pattern {pattern.pattern!r}")
        if found is not None:
            take(found, "pattern", pattern.date_format)

    call_id = values.get("call_id") or (default_ids or {}).get(path) or path.stem
    sources.setdefault("call_id", "filename")
    started_at: datetime | None = None
    if "started_at" in values:
        try:
            started_at = parse_started_at(values["started_at"], zone, date_format.get("started_at"))
        except ValueError:
            problems.append(f"started_at {values['started_at']!r} from {sources['started_at']} is not a date (ISO 8601 expected)")
    if started_at is None:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = 0.0
        started_at = datetime.fromtimestamp(mtime, timezone.utc).replace(tzinfo=None)
        sources["started_at"] = "mtime"
    agent_id = values.get("agent_id")
    if not agent_id and not problems:
        problems.append("no agent for this call: " + "; ".join(tried or ["no metadata source configured"]))
    return CallMetadata(
        path=path,
        call_id=call_id,
        agent_id=agent_id,
        agent_name=values.get("agent_name"),
        team=values.get("team"),
        started_at=started_at,
        sources=sources,
        problem="; ".join(problems) or None,
    )


def _check_unique_ids(records: list[CallMetadata]) -> None:
    first: dict[str, Path] = {}
    for i, rec in enumerate(records):
        other = first.get(rec.call_id)
        if other is None:
            first[rec.call_id] = rec.path
        elif rec.problem is None:
            records[i] = dataclasses.replace(rec, problem=f"call_id {rec.call_id!r} is already used by {other}")
