"""The data frames statistics and reports read: their columns, validation and loading.

Statistics work on two tables, the same ones ``qa export`` writes and the results store loads:

**calls** — one row per scored call:

==================  =========================================================================
column              meaning
==================  =========================================================================
call_id             unique call identifier (str)                                  required
agent_id            the agent's identifier (str)                                  required
agent_name          display name (str); defaults to ``agent_id``
team                the agent's team (str)                                        required
started_at          call start, ``datetime64`` tz-naive UTC (tz-aware values and   required
                    ISO strings are converted)
duration_s          handle time in seconds (float)                                required
call_score          QA score 0–100 (float)                                        required
critical_failed     a critical criterion failed (bool); default False
roles_inferred      agent/customer were guessed from one channel (bool); default False
audio_path          the recording, or None
transcript_path     the transcript JSON (:class:`~qa_pipeline.transcript.Transcript`), or None
agent_speed_per_min optional call characteristics for the style profile (float, missing
agent_talk_share    when not measured): the agent's talk speed (words or characters per
interruptions       minute), share of talk time, interruptions, seconds of silence and
non_talk_s,         questions asked
questions
events              optional: the call's timed events (holds, silences, interruptions,
                    overlaps) as a JSON list of ``{kind, start_s, end_s, who, source, text,
                    announced_s, thanked_s}``; call pages draw them. Empty for calls scored
                    before events were stored.
==================  =========================================================================

**criteria** — one row per (call, criterion):

==================  =========================================================================
call_id             the call (must be in the calls table)                         required
criterion_id        the scorecard criterion (str)                                 required
verdict             ``pass``, ``fail`` or ``na``                                  required
criterion_title     display title; defaults to ``criterion_id``
points, max_points  points earned and available (float); default 0
evidence            list of ``{kind, speaker, start, end, text, rule}`` mappings, or the same as a
                    JSON string; default empty
missing             what a failed criterion looked for and did not find (str), or None
agent_id, team,     copies of the call's values; filled from the calls table when absent
started_at,
call_score,
duration_s
==================  =========================================================================

Times in evidence are seconds from the start of the recording.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from qa_pipeline.callrecord import (
    CALL_COLUMNS,
    CALL_REQUIRED,
    CRITERIA_COLUMNS,
    CRITERIA_FROM_CALLS,
    CRITERIA_REQUIRED,
    EVENTS_COLUMN,
    STYLE_COLUMNS,
    EvidenceKind,
    parse_events,
)
from qa_pipeline.errors import ConfigError, ReportError

# Column names are declared once, in qa_pipeline.callrecord, for the store and for here.
CALL_OPTIONAL: dict[str, Any] = {
    "agent_name": None,
    "critical_failed": False,
    "roles_inferred": False,
    "audio_path": None,
    "transcript_path": None,
}
VERDICTS: tuple[str, ...] = ("pass", "fail", "na")


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """One piece of evidence behind a verdict.

    Attributes:
        speaker: ``agent``, ``customer``, or None for timeline evidence (silence, hold).
        start: Start in seconds from the start of the recording.
        end: End in seconds.
        text: The quote, or a description of the timeline feature.
        rule: The rule of the criterion that produced it.
        kind: What it is, as the scorer's :class:`~qa_pipeline.criteria.base.Evidence` says
            (``match`` for tables that do not say).
    """

    speaker: str | None
    start: float
    end: float
    text: str = ""
    rule: str = ""
    kind: EvidenceKind = EvidenceKind.MATCH

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "speaker": self.speaker, "start": self.start, "end": self.end, "text": self.text,
                "rule": self.rule}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EvidenceItem":
        """An item from a stored or exported evidence mapping.

        Raises:
            ConfigError: The mapping names an unknown kind.
        """
        speaker = data.get("speaker")
        kind = data.get("kind")
        return cls(
            speaker=None if speaker in (None, "") else str(speaker).strip().lower(),
            start=float(data.get("start", 0.0)),
            end=float(data.get("end", data.get("start", 0.0))),
            text=str(data.get("text") or ""),
            rule=str(data.get("rule") or ""),
            kind=EvidenceKind.MATCH if kind in (None, "") else EvidenceKind.parse(kind),
        )


def parse_evidence(value: Any, where: str = "evidence") -> tuple[EvidenceItem, ...]:
    """Evidence of one criterion row as typed items.

    Args:
        value: A list of mappings, a JSON string of one, or None/NaN/empty.
        where: Names the row in error messages.

    Raises:
        ReportError: The value is neither a list of mappings nor its JSON.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    if isinstance(value, str):
        if not value.strip():
            return ()
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ReportError(f"{where}: evidence is not JSON ({exc})") from exc
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ReportError(f"{where}: evidence must be a list of mappings, got {type(value).__name__}")
    items = []
    for raw in value:
        if not isinstance(raw, dict):
            raise ReportError(f"{where}: evidence item must be a mapping, got {type(raw).__name__}")
        try:
            items.append(EvidenceItem.from_dict(raw))
        except (TypeError, ValueError, ConfigError) as exc:
            raise ReportError(f"{where}: bad evidence item {raw!r} ({exc})") from exc
    return tuple(items)


@dataclass(frozen=True)
class Frames:
    """The calls and criteria tables, validated and normalised (see the module docstring).

    Build with :func:`prepare_frames` or :func:`load_frames`; the constructor does not check.
    """

    calls: pd.DataFrame
    criteria: pd.DataFrame

    def between(self, start: pd.Timestamp | None, end: pd.Timestamp | None) -> "Frames":
        """The calls with ``start <= started_at < end`` and their criteria rows."""
        calls = self.calls
        keep = np.ones(len(calls), dtype=bool)
        if start is not None:
            keep &= (calls["started_at"] >= start).to_numpy()
        if end is not None:
            keep &= (calls["started_at"] < end).to_numpy()
        kept = calls.loc[keep].reset_index(drop=True)
        crit = self.criteria
        ckeep = np.ones(len(crit), dtype=bool)
        if start is not None:
            ckeep &= (crit["started_at"] >= start).to_numpy()
        if end is not None:
            ckeep &= (crit["started_at"] < end).to_numpy()
        return Frames(kept, crit.loc[ckeep].reset_index(drop=True))


def _missing(df: pd.DataFrame, required: Iterable[str], what: str) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ReportError(
            f"{what}: missing required column(s) {', '.join(missing)} (has: {', '.join(map(str, df.columns))})"
        )


def _to_utc_naive(values: pd.Series, what: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values
    else:
        try:
            out = pd.to_datetime(values, utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise ReportError(f"{what}: started_at has values that are not dates ({exc})") from exc
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    if out.isna().any():
        raise ReportError(f"{what}: started_at is empty in {int(out.isna().sum())} row(s)")
    return out.astype("datetime64[ns]")


def _numeric(df: pd.DataFrame, column: str, what: str, default: float | None = None) -> pd.Series:
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna() & df[column].notna()
    if bad.any():
        raise ReportError(f"{what}: column {column} has {int(bad.sum())} non-numeric value(s), e.g. {df.loc[bad, column].iloc[0]!r}")
    if default is not None:
        values = values.fillna(default)
    elif values.isna().any():
        raise ReportError(f"{what}: column {column} is empty in {int(values.isna().sum())} row(s)")
    return values.astype(float)


def _bool(values: pd.Series) -> pd.Series:
    if values.dtype == bool:
        return values
    text = values.astype(str).str.strip().str.lower()
    return text.isin(("true", "1", "yes", "1.0"))


def _optional_text(values: pd.Series) -> pd.Series:
    out = values.astype(object)
    return out.where(out.notna() & (out.astype(str) != ""), None)


def prepare_calls(calls: pd.DataFrame, what: str = "calls frame") -> pd.DataFrame:
    """Validate and normalise a calls table.

    Args:
        calls: The table (see the module docstring for its columns).
        what: Names the table (e.g. its file) in error messages.

    Returns:
        A new frame with the columns of :data:`CALL_COLUMNS` in that order (then those of
        :data:`STYLE_COLUMNS` that the table has, then ``events`` if it has them), typed,
        sorted by ``started_at``.

    Raises:
        ReportError: A required column is missing, a value has the wrong type, a score is out
            of 0–100, or a call id is duplicated.
    """
    _missing(calls, CALL_REQUIRED, what)
    df = pd.DataFrame(index=calls.index)
    for col in ("call_id", "agent_id", "team"):
        if calls[col].isna().any():
            raise ReportError(f"{what}: column {col} is empty in {int(calls[col].isna().sum())} row(s)")
        df[col] = calls[col].astype(str)
    names = calls["agent_name"] if "agent_name" in calls.columns else pd.Series(None, index=calls.index)
    df["agent_name"] = names.where(names.notna(), calls["agent_id"]).astype(str)
    df["started_at"] = _to_utc_naive(calls["started_at"], what)
    df["duration_s"] = _numeric(calls, "duration_s", what)
    df["call_score"] = _numeric(calls, "call_score", what)
    out_of_range = (df["call_score"] < 0) | (df["call_score"] > 100)
    if out_of_range.any():
        raise ReportError(f"{what}: call_score outside 0–100 in {int(out_of_range.sum())} row(s)")
    for col in ("critical_failed", "roles_inferred"):
        df[col] = _bool(calls[col]) if col in calls.columns else False
    for col in ("audio_path", "transcript_path"):
        df[col] = _optional_text(calls[col]) if col in calls.columns else None
    style = [c for c in STYLE_COLUMNS if c in calls.columns]
    for col in style:
        df[col] = pd.to_numeric(calls[col], errors="coerce").astype(float)
    if EVENTS_COLUMN in calls.columns:
        style.append(EVENTS_COLUMN)
        df[EVENTS_COLUMN] = [_events_text(v, f"{what}: call {cid!r}") for v, cid in zip(calls[EVENTS_COLUMN], df["call_id"])]
    dup = df["call_id"].duplicated()
    if dup.any():
        raise ReportError(f"{what}: call_id {df.loc[dup, 'call_id'].iloc[0]!r} appears more than once")
    return df.sort_values(["started_at", "call_id"], kind="stable").reset_index(drop=True)[list(CALL_COLUMNS) + style]


def _events_text(value: Any, where: str) -> str | None:
    """A call's events checked, as the JSON text call pages read (None: none recorded)."""
    if isinstance(value, str) and value.strip():
        # The store's own JSON: checked where a page reads it, not twice per report.
        return value
    try:
        events = parse_events(value, where)
    except ConfigError as exc:
        raise ReportError(str(exc)) from exc
    return None if events is None else json.dumps([e.to_dict() for e in events], ensure_ascii=False)


def prepare_criteria(criteria: pd.DataFrame, calls: pd.DataFrame, what: str = "criteria frame") -> pd.DataFrame:
    """Validate and normalise a criteria table against its (prepared) calls table.

    Columns copied from the call (agent, team, start, score, duration) are always taken from
    ``calls`` so the two tables cannot disagree.

    Raises:
        ReportError: A required column is missing, a verdict is not pass/fail/na, a row names
            a call that is not in the calls table, or a (call, criterion) pair repeats.
    """
    _missing(criteria, CRITERIA_REQUIRED, what)
    df = pd.DataFrame(index=criteria.index)
    df["call_id"] = criteria["call_id"].astype(str)
    df["criterion_id"] = criteria["criterion_id"].astype(str)
    verdict = criteria["verdict"].astype(str).str.strip().str.lower()
    bad = ~verdict.isin(VERDICTS)
    if bad.any():
        raise ReportError(
            f"{what}: verdict must be pass, fail or na; got {criteria.loc[bad, 'verdict'].iloc[0]!r} in {int(bad.sum())} row(s)"
        )
    df["verdict"] = verdict
    titles = criteria["criterion_title"] if "criterion_title" in criteria.columns else pd.Series(None, index=criteria.index)
    df["criterion_title"] = titles.where(titles.notna(), df["criterion_id"]).astype(str)
    for col in ("points", "max_points"):
        df[col] = _numeric(criteria, col, what, default=0.0) if col in criteria.columns else 0.0
    df["evidence"] = criteria["evidence"].astype(object) if "evidence" in criteria.columns else None
    df["missing"] = _optional_text(criteria["missing"]) if "missing" in criteria.columns else None
    known = pd.Index(calls["call_id"])
    unknown = ~df["call_id"].isin(known)
    if unknown.any():
        raise ReportError(
            f"{what}: {int(unknown.sum())} row(s) name calls that are not in the calls table, "
            f"e.g. {df.loc[unknown, 'call_id'].iloc[0]!r}"
        )
    dup = df.duplicated(["call_id", "criterion_id"])
    if dup.any():
        row = df.loc[dup].iloc[0]
        raise ReportError(f"{what}: criterion {row['criterion_id']!r} appears twice for call {row['call_id']!r}")
    pos = known.get_indexer(df["call_id"])
    for col in CRITERIA_FROM_CALLS:
        df[col] = calls[col].to_numpy()[pos]
    return df[list(CRITERIA_COLUMNS)].reset_index(drop=True)


def prepare_frames(calls: pd.DataFrame, criteria: pd.DataFrame, source: str = "") -> Frames:
    """Validate and normalise both tables.

    Args:
        calls: Calls table.
        criteria: Criteria table.
        source: Optional prefix for error messages (e.g. the export's folder).
    """
    prefix = f"{source}: " if source else ""
    prepared = prepare_calls(calls, f"{prefix}calls frame")
    return Frames(prepared, prepare_criteria(criteria, prepared, f"{prefix}criteria frame"))


def read_table(path: str | Path) -> pd.DataFrame:
    """Read an exported table from CSV, Parquet or JSON (records or lines), by file suffix.

    Raises:
        ReportError: The file is missing, unreadable, or of an unknown format.
    """
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            from qa_pipeline.csvsafe import restore_frame

            return restore_frame(
                pd.read_csv(path, dtype={"call_id": str, "agent_id": str, "team": str, "criterion_id": str}, keep_default_na=True)
            )
        if suffix in (".parquet", ".pq"):
            try:
                return pd.read_parquet(path)
            except ImportError as exc:
                raise ReportError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from exc
        if suffix in (".json", ".jsonl", ".ndjson"):
            # Parsed here rather than by pandas.read_json, which guesses types and dates from
            # column names; values stay as written and prepare_* converts them.
            text = path.read_text(encoding="utf-8")
            if suffix == ".json":
                records = json.loads(text)
            else:
                records = [json.loads(line) for line in text.splitlines() if line.strip()]
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise ReportError(f"{path}: expected a list of records (objects), one per row")
            return pd.DataFrame.from_records(records)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ReportError(f"{path}: cannot read table ({exc})") from exc
    raise ReportError(f"{path}: unknown table format {suffix!r} (use .csv, .parquet or .json)")


def load_frames(calls_path: str | Path, criteria_path: str | Path) -> Frames:
    """Load and validate the two exported tables.

    Relative ``audio_path`` and ``transcript_path`` values are taken relative to the folder of
    the calls file, so an export can be moved together with its transcripts.

    Raises:
        ReportError: Either file is unreadable or fails validation; the message names it.
    """
    calls = prepare_calls(read_table(calls_path), str(calls_path))
    base = Path(calls_path).resolve().parent
    for col in ("audio_path", "transcript_path"):
        calls[col] = [p if p is None or Path(p).is_absolute() else str(base / p) for p in calls[col]]
    return Frames(calls, prepare_criteria(read_table(criteria_path), calls, str(criteria_path)))


def write_frames(frames: Frames, folder: str | Path, fmt: str = "csv") -> tuple[Path, Path]:
    """Write both tables the way ``qa export`` does (evidence as JSON text in CSV).

    Returns:
        The paths of the calls and criteria files.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    crit = frames.criteria.copy()
    crit["evidence"] = [
        v if isinstance(v, str) else json.dumps([e.to_dict() for e in parse_evidence(v)], ensure_ascii=False)
        for v in crit["evidence"]
    ]
    if fmt == "csv":
        paths = folder / "calls.csv", folder / "criteria.csv"
        from qa_pipeline.csvsafe import write_csv

        write_csv(frames.calls, paths[0])
        write_csv(crit, paths[1])
    elif fmt == "parquet":
        paths = folder / "calls.parquet", folder / "criteria.parquet"
        try:
            frames.calls.to_parquet(paths[0], index=False)
            crit.to_parquet(paths[1], index=False)
        except ImportError as exc:
            raise ReportError("writing Parquet needs pyarrow (pip install pyarrow)") from exc
    else:
        raise ReportError(f"unknown table format {fmt!r} (use csv or parquet)")
    return paths
