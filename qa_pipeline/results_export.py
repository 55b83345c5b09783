"""Exporting results: one row per (call, criterion), plus a table of calls.

Columns are stable and documented (``docs/batch.md``); the two files read back into
statistics and reports with ``qa report --calls … --criteria …``.

**criteria** (the main file): ``call_id, agent_id, agent_name, team, started_at, criterion_id,
criterion_title, verdict, points, max_points, call_score, duration_s, evidence, missing``.

**calls** (beside it, ``NAME.calls.EXT``): ``call_id, agent_id, agent_name, team, started_at,
duration_s, call_score, critical_failed, roles_inferred, audio_path, transcript_path, language,
scorecard_name, scorecard_hash, speech_coverage, agent_speed_per_min, agent_talk_share, interruptions,
non_talk_s``.

``speech_coverage`` is the worst party's share (0..1) of detected speech that got recognised
words (empty for calls transcribed before it was measured); the last four are measured
characteristics (empty when not measured).

``started_at`` is ISO 8601 in UTC without a zone; ``verdict`` is ``pass``, ``fail`` or ``na``;
``evidence`` is a JSON list of ``{kind, rule, speaker, start, end, text, context}`` (a JSON
string in CSV and Parquet, a nested list in JSON); ``missing`` says what a failed criterion
looked for and did not find.

In CSV, a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
gets a single quote in front (``'=cmd``), so spreadsheets show it instead of running it;
``qa report`` removes the quote when it reads the file back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from qa_pipeline.csvsafe import write_csv
from qa_pipeline.errors import ConfigError
from qa_pipeline.store import CALL_FRAME_COLUMNS, CRITERIA_FRAME_COLUMNS, Store

EXPORT_FORMATS: tuple[str, ...] = ("csv", "parquet", "json")
CRITERIA_EXPORT_COLUMNS: tuple[str, ...] = CRITERIA_FRAME_COLUMNS
CALLS_EXPORT_COLUMNS: tuple[str, ...] = CALL_FRAME_COLUMNS


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote.

    Attributes:
        criteria_path: The (call, criterion) table.
        calls_path: The calls table.
        rows: Rows in the criteria table.
        calls: Rows in the calls table.
    """

    criteria_path: Path
    calls_path: Path
    rows: int
    calls: int

    def to_dict(self) -> dict[str, Any]:
        return {"criteria_path": str(self.criteria_path), "calls_path": str(self.calls_path), "rows": self.rows, "calls": self.calls}


def calls_path_for(out: Path) -> Path:
    """Where the calls table goes beside ``out``: ``results.csv`` → ``results.calls.csv``."""
    return out.with_name(f"{out.stem}.calls{out.suffix}")


def format_for(out: Path, fmt: str | None) -> str:
    """The export format: as given, else from the file's extension.

    Raises:
        ConfigError: Neither names a known format.
    """
    if fmt is None:
        fmt = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json"}.get(out.suffix.lower())
        if fmt is None:
            raise ConfigError(f"--out {out}: cannot tell the format from the extension; pass --format {'|'.join(EXPORT_FORMATS)}")
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"--format: unknown format {fmt!r}; choose from {', '.join(EXPORT_FORMATS)}")
    return fmt


def export_results(
    store: Store,
    out: str | Path,
    fmt: str | None = None,
    calls_out: str | Path | None = None,
    period_from: date | datetime | None = None,
    period_to: date | datetime | None = None,
    scorecard_hash: str | None = None,
) -> ExportResult:
    """Write the criteria table to ``out`` and the calls table beside it.

    Args:
        store: The results store.
        out: The criteria file.
        fmt: ``csv``, ``parquet`` or ``json``; default from ``out``'s extension.
        calls_out: The calls file; default :func:`calls_path_for`.
        period_from: First day (inclusive), or None.
        period_to: Last day (inclusive), or None.
        scorecard_hash: Only scores of this scorecard; None = each call's latest score.

    Raises:
        ConfigError: Unknown format, or Parquet without pyarrow installed.
    """
    out = Path(out)
    fmt = format_for(out, fmt)
    calls_path = Path(calls_out) if calls_out is not None else calls_path_for(out)
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise ConfigError("--format parquet needs pyarrow: pip install pyarrow") from exc
    calls, criteria = store.load_frames(period_from, period_to, scorecard_hash)
    calls = calls[list(CALLS_EXPORT_COLUMNS)]
    criteria = criteria[list(CRITERIA_EXPORT_COLUMNS)]
    out.parent.mkdir(parents=True, exist_ok=True)
    calls_path.parent.mkdir(parents=True, exist_ok=True)
    _write(calls, calls_path, fmt)
    if fmt == "json":
        criteria = criteria.assign(evidence=[json.loads(e) if e else [] for e in criteria["evidence"]])
    _write(criteria, out, fmt)
    return ExportResult(out, calls_path, len(criteria), len(calls))


def _write(df: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "csv":
        # Names, teams and evidence are untrusted text: no cell may run as a spreadsheet formula.
        write_csv(df.assign(started_at=_iso(df["started_at"])), path)
    elif fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        records = df.assign(started_at=_iso(df["started_at"])).to_dict(orient="records")
        path.write_text(json.dumps(records, ensure_ascii=False, indent=1, default=_json_default), encoding="utf-8")


def _iso(values: pd.Series) -> list[str]:
    return [v.strftime("%Y-%m-%dT%H:%M:%S") if pd.notna(v) else "" for v in values]


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
