"""Goals: targets per agent or team for a month or quarter, and how far they are attained.

A targets file is YAML (a list, or a mapping with a ``targets`` list) or CSV, one target per
entry/row::

    targets:
      - {agent: A007, period: 2026-11, metric: qa_score, target: 85}
      - {team: North, period: 2026Q4, metric: "pass_rate:empathy", target: 0.8}
      - {team: North, period: 2026Q4, metric: aht_s, target: 360}      # at_most by default

    agent,team,period,metric,target,direction
    A007,,2026-11,qa_score,85,at_least

``metric`` is ``qa_score`` (mean call score), ``aht_s`` (mean handle time, seconds) or
``pass_rate:<criterion_id>`` (share of applicable calls passed; a target above 1 is read as a
percentage). ``direction`` is ``at_least`` (default) or ``at_most`` (default for ``aht_s``).

While a period runs, the projected value is what the period's mean will be if the period's
trend so far continues: the elapsed part counts at its actual mean, the remaining part at the
fitted trend line's mean over the remaining days.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import yaml

from qa_pipeline.errors import ConfigError
from qa_pipeline.stats.frames import Frames

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})\s*-?\s*[Qq]([1-4])$")
DIRECTIONS = ("at_least", "at_most")


def period_bounds(label: str) -> tuple[date, date]:
    """First and last day of a month (``2026-11``) or quarter (``2026Q4``).

    Raises:
        ValueError: The label is neither.
    """
    text = str(label).strip()
    m = _MONTH.match(text)
    if m and 1 <= int(m.group(2)) <= 12:
        year, month = int(m.group(1)), int(m.group(2))
        first = date(year, month, 1)
    else:
        q = _QUARTER.match(text)
        if not q:
            raise ValueError(f"period must be a month YYYY-MM or a quarter YYYYQn, got {label!r}")
        year, month = int(q.group(1)), 3 * int(q.group(2)) - 2
        first = date(year, month, 1)
        month += 2
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


@dataclass(frozen=True)
class Target:
    """One goal.

    Attributes:
        scope: ``agent`` or ``team``.
        subject: The agent id or team name.
        period: Month ``YYYY-MM`` or quarter ``YYYYQn``.
        metric: ``qa_score``, ``aht_s`` or ``pass_rate:<criterion_id>``.
        target: The value to reach (pass rates as a share 0–1).
        direction: ``at_least`` or ``at_most``.
    """

    scope: str
    subject: str
    period: str
    metric: str
    target: float
    direction: str = "at_least"

    def __post_init__(self) -> None:
        if self.scope not in ("agent", "team"):
            raise ValueError(f"scope must be agent or team, got {self.scope!r}")
        if not self.subject:
            raise ValueError("a target needs an agent or a team")
        period_bounds(self.period)
        if not (self.metric in ("qa_score", "aht_s") or (self.metric.startswith("pass_rate:") and len(self.metric) > 10)):
            raise ValueError(f"metric must be qa_score, aht_s or pass_rate:<criterion>, got {self.metric!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be at_least or at_most, got {self.direction!r}")
        if not math.isfinite(self.target):
            raise ValueError("target must be a number")

    @property
    def bounds(self) -> tuple[date, date]:
        return period_bounds(self.period)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "subject": self.subject,
            "period": self.period,
            "metric": self.metric,
            "target": self.target,
            "direction": self.direction,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Target":
        """Build from a file entry: ``agent`` or ``team`` names the subject (agent wins)."""
        if "scope" in data and "subject" in data:
            scope, subject = str(data["scope"]), str(data["subject"])
        elif _filled(data.get("agent")):
            scope, subject = "agent", str(data["agent"]).strip()
        elif _filled(data.get("team")):
            scope, subject = "team", str(data["team"]).strip()
        else:
            raise ValueError("a target needs an agent or a team")
        for key in ("period", "metric", "target"):
            if not _filled(data.get(key)):
                raise ValueError(f"missing {key}")
        metric = str(data["metric"]).strip()
        target = float(data["target"])
        if metric.startswith("pass_rate:") and target > 1:
            target /= 100.0
        direction = str(data["direction"]).strip() if _filled(data.get("direction")) else (
            "at_most" if metric == "aht_s" else "at_least"
        )
        return cls(scope, subject, str(data["period"]).strip(), metric, target, direction)


def _filled(value: Any) -> bool:
    return value is not None and str(value).strip() != "" and not (isinstance(value, float) and math.isnan(value))


def load_targets(path: str | Path) -> tuple[Target, ...]:
    """Read a targets file (YAML or CSV, by suffix).

    Raises:
        ConfigError: The file is missing, unparsable, or an entry is invalid (the message
            names the file and the entry).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read targets file ({exc.strerror or exc})") from exc
    if path.suffix.lower() == ".csv":
        rows: list[Any] = list(csv.DictReader(text.splitlines()))
        where = "row {}"
        first = 2  # the header is line 1
    elif path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
        if isinstance(data, dict):
            data = data.get("targets")
        if data is None:
            return ()
        if not isinstance(data, list):
            raise ConfigError(f"{path}: expected a list of targets (or a 'targets:' list)")
        rows = data
        where = "entry {}"
        first = 1
    else:
        raise ConfigError(f"{path}: targets file must be .yaml, .yml or .csv")
    out = []
    for i, row in enumerate(rows, start=first):
        if not isinstance(row, dict):
            raise ConfigError(f"{path}: {where.format(i)}: expected a mapping")
        try:
            out.append(Target.from_dict(row))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: {where.format(i)}: {exc}") from exc
    return tuple(out)


def _metric_values(frames: Frames, target: Target) -> pd.DataFrame:
    if target.metric.startswith("pass_rate:"):
        crit = frames.criteria
        criterion = target.metric.split(":", 1)[1]
        rows = crit.loc[(crit["criterion_id"] == criterion) & (crit["verdict"] != "na")]
        df = pd.DataFrame({"started_at": rows["started_at"], "value": (rows["verdict"] == "pass").astype(float)})
        subject = rows["agent_id"] if target.scope == "agent" else rows["team"]
    else:
        calls = frames.calls
        column = "call_score" if target.metric == "qa_score" else "duration_s"
        df = pd.DataFrame({"started_at": calls["started_at"], "value": calls[column].astype(float)})
        subject = calls["agent_id"] if target.scope == "agent" else calls["team"]
    return df.loc[subject.to_numpy() == target.subject]


def _bounds(metric: str) -> tuple[float, float]:
    if metric == "qa_score":
        return 0.0, 100.0
    if metric.startswith("pass_rate:"):
        return 0.0, 1.0
    return 0.0, math.inf


def _value_text(metric: str, value: float) -> str:
    from qa_pipeline.stats import display

    if metric.startswith("pass_rate:"):
        return display.percent(value)
    if metric == "aht_s":
        return display.duration(value)
    return display.score(value, 1).removesuffix(".0")


def goal_label(target: Target, titles: dict[str, str] | None = None) -> str:
    """A goal in words: "Average QA score at least 85", "Empathy pass rate at least 80%",
    "Average handle time at most 6:00"."""
    if target.metric.startswith("pass_rate:"):
        cid = target.metric.split(":", 1)[1]
        name = f"{(titles or {}).get(cid, cid.replace('_', ' ').capitalize())} pass rate"
    elif target.metric == "aht_s":
        name = "Average handle time"
    else:
        name = "Average QA score"
    way = "at least" if target.direction == "at_least" else "at most"
    return f"{name} {way} {_value_text(target.metric, target.target)}"


STATUS_TEXT = {
    "met": "met",
    "missed": "missed",
    "on_track": "on track",
    "off_track": "off track",
    "not_started": "not started",
    "no_data": "no calls yet",
}


def _progress(t: Target, value: float) -> float:
    """How far ``value`` is towards the target, 1.0 = reached (capped at 1)."""
    if value is None or not math.isfinite(value):
        return math.nan
    if t.direction == "at_least":
        return float(np.clip(value / t.target, 0.0, 1.0)) if t.target > 0 else 1.0
    return float(np.clip(t.target / value, 0.0, 1.0)) if value > 0 else 1.0


def goal_attainment(
    frames: Frames, targets: Iterable[Target], as_of: pd.Timestamp, min_calls: int = 3, min_days: int = 2
) -> pd.DataFrame:
    """Attainment of each target as of a moment.

    Args:
        frames: All calls (not cut to the reporting period: a goal has its own period).
        targets: The goals.
        as_of: "Now": calls after it are ignored and the period is judged up to it.
        min_calls: Fewer calls so far than this: no trend is projected (the projection is
            the value so far), since a line through a handful of calls runs off the scale.
        min_days: Likewise for calls on fewer distinct days.

    Returns:
        One row per target: the target's fields, ``period_start``, ``period_end``, ``elapsed``
        (share of the period passed), ``n``, ``actual`` (mean so far), ``projected`` (see the
        module docstring; equals ``actual`` once the period is over), ``status``
        (``met``/``missed`` for a finished period, ``on_track``/``off_track`` while it runs,
        ``not_started``, or ``no_data``), ``gap`` (projected - target), and for display
        ``label`` ("Average QA score at least 85"), ``who`` ("agent Alice Adams", "team
        North"), ``progress`` (actual towards the target, 0–1), ``target_text``,
        ``actual_text``, ``projected_text`` (in the metric's unit) and ``status_text``.
    """
    as_of = pd.Timestamp(as_of)
    targets = tuple(targets)
    titles: dict[str, str] = {}
    names: dict[str, str] = {}
    if targets:
        first = frames.criteria.drop_duplicates("criterion_id")
        titles = dict(zip(first["criterion_id"].astype(str), first["criterion_title"].astype(str)))
        last = frames.calls.drop_duplicates("agent_id", keep="last")
        names = dict(zip(last["agent_id"].astype(str), last["agent_name"].astype(str)))
    rows = []
    for t in targets:
        first, last = t.bounds
        start, end = pd.Timestamp(first), pd.Timestamp(last + timedelta(days=1))
        span = (end - start) / pd.Timedelta(days=1)
        elapsed = float(np.clip((as_of - start) / pd.Timedelta(days=1) / span, 0.0, 1.0))
        values = _metric_values(frames, t)
        values = values.loc[(values["started_at"] >= start) & (values["started_at"] < min(end, as_of))]
        n = len(values)
        actual = float(values["value"].mean()) if n else math.nan
        projected = actual
        if n and elapsed < 1.0:
            x = ((values["started_at"] - start) / pd.Timedelta(days=1)).to_numpy(dtype=float)
            y = values["value"].to_numpy(dtype=float)
            if n >= max(min_calls, 3) and len(np.unique(np.floor(x))) >= max(min_days, 2) and np.ptp(x) > 0:
                slope, intercept = np.polyfit(x, y, 1)
                elapsed_days = elapsed * span
                remaining_mid = (elapsed_days + span) / 2
                rest = intercept + slope * remaining_mid
                lo, hi = _bounds(t.metric)
                projected = float(np.clip(elapsed * actual + (1 - elapsed) * rest, lo, hi))
        if n == 0:
            status = "not_started" if elapsed == 0 else "no_data"
        else:
            ok = projected >= t.target if t.direction == "at_least" else projected <= t.target
            if elapsed >= 1.0:
                status = "met" if ok else "missed"
            else:
                status = "on_track" if ok else "off_track"
        rows.append(
            {
                **t.to_dict(),
                "period_start": first,
                "period_end": last,
                "elapsed": elapsed,
                "n": n,
                "actual": actual,
                "projected": projected,
                "status": status,
                "gap": projected - t.target if n else math.nan,
                "label": goal_label(t, titles),
                "who": f"agent {names.get(t.subject, t.subject)}" if t.scope == "agent" else f"team {t.subject}",
                "progress": _progress(t, actual),
                "target_text": _value_text(t.metric, t.target),
                "actual_text": _value_text(t.metric, actual),
                "projected_text": _value_text(t.metric, projected),
                "status_text": STATUS_TEXT[status],
            }
        )
    columns = list(Target.__dataclass_fields__) + [
        "period_start", "period_end", "elapsed", "n", "actual", "projected", "status", "gap",
        "label", "who", "progress", "target_text", "actual_text", "projected_text", "status_text",
    ]
    return pd.DataFrame(rows, columns=columns)
