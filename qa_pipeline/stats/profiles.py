"""Per-agent profiles against the team: abilities (criteria grouped by the scorecard) and
communication style (call characteristics).

The ability grouping is the scorecard's top-level ``abilities:`` block (ability name → criterion
ids); an ability's pass share pools the applicable verdicts of its criteria. The style profile
reads optional call columns (see :data:`STYLE_MEASURES`) — the characteristics measured when a
call is scored — and, for questions asked, the agent's turns in stored transcripts; a measure
that is not available is left out with a note rather than shown as zero.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from qa_pipeline.stats.options import not_enough

# Column, label, unit ("per_min", "share", "count", "seconds") of each style measure.
STYLE_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("agent_speed_per_min", "Talk speed", "per_min"),
    ("agent_talk_share", "Share of talk time", "share"),
    ("questions", "Questions asked per call", "count"),
    ("interruptions", "Interruptions per call", "count"),
    ("non_talk_s", "Silence per call", "seconds"),
)
QUESTION_ENDINGS: tuple[str, ...] = ("?", "？", "吗", "呢", "吗？", "呢？")


def ability_profile(
    rates: pd.DataFrame, abilities: Mapping[str, tuple[str, ...]], min_calls: int = 8
) -> pd.DataFrame:
    """Each agent's pass share per ability, against their team's.

    Args:
        rates: Pass rates per (team, agent, criterion): ``team``, ``agent_id``,
            ``criterion_id``, ``passes``, ``n`` (:func:`~qa_pipeline.stats.describe.pass_rates`).
        abilities: Ability name → criterion ids, in display order.
        min_calls: Fewer applicable verdicts than this: the agent's share is withheld.

    Returns:
        One row per (agent, ability), abilities in the given order: ``agent_id``, ``team``,
        ``ability``, ``n`` (applicable verdicts), ``pass_rate`` (missing below ``min_calls``),
        ``team_pass_rate``, ``diff`` and ``note``. Empty without abilities.
    """
    columns = ["agent_id", "team", "ability", "n", "pass_rate", "team_pass_rate", "diff", "note"]
    if not abilities or rates.empty:
        return pd.DataFrame(columns=columns)
    pairs = pd.DataFrame(
        [(name, cid, order) for order, (name, ids) in enumerate(abilities.items()) for cid in ids],
        columns=["ability", "criterion_id", "order"],
    )
    joined = rates[["team", "agent_id", "criterion_id", "passes", "n"]].merge(pairs, on="criterion_id")
    agent = joined.groupby(["team", "agent_id", "ability", "order"], sort=False)[["passes", "n"]].sum().reset_index()
    team = joined.groupby(["team", "ability"], sort=False)[["passes", "n"]].sum()
    team_rate = (team["passes"] / team["n"].where(team["n"] > 0)).rename("team_pass_rate")
    agent = agent.merge(team_rate.reset_index(), on=["team", "ability"], how="left")
    enough = agent["n"] >= min_calls
    agent["pass_rate"] = (agent["passes"] / agent["n"].where(agent["n"] > 0)).where(enough)
    agent["diff"] = agent["pass_rate"] - agent["team_pass_rate"]
    agent["note"] = [None if ok else not_enough(n, min_calls) for ok, n in zip(enough, agent["n"])]
    agent = agent.sort_values(["agent_id", "order"], kind="stable")
    return agent[columns].reset_index(drop=True)


def count_questions(transcript_path: object) -> float:
    """Agent turns ending in a question ("?", "吗", "呢") in a stored transcript; NaN without one."""
    if not isinstance(transcript_path, str) or not transcript_path or not Path(transcript_path).is_file():
        return np.nan
    try:
        data = json.loads(Path(transcript_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return np.nan
    turns = data.get("turns") if isinstance(data, dict) else None
    if not isinstance(turns, list):
        return np.nan
    count = 0
    for turn in turns:
        if isinstance(turn, dict) and str(turn.get("speaker", "")).lower() == "agent":
            text = str(turn.get("text", "")).rstrip().rstrip("。.!！")
            count += text.endswith(QUESTION_ENDINGS)
    return float(count)


def style_profile(calls: pd.DataFrame, min_calls: int = 8, read_transcripts: bool = True) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Each agent's communication style against their team: averages of the style measures.

    Args:
        calls: A calls table; the measures of :data:`STYLE_MEASURES` are read from its
            columns when present (``questions`` is counted from ``transcript_path`` when the
            column is absent and ``read_transcripts`` is on).
        min_calls: Fewer calls with a measure than this: the agent's value is withheld.
        read_transcripts: Count questions from transcripts.

    Returns:
        The profile — one row per (agent, measure): ``agent_id``, ``team``, ``measure``,
        ``label``, ``unit``, ``n``, ``value``, ``team_value``, ``note``, ``value_text`` and
        ``team_value_text`` (in the measure's unit) — and notes on the
        measures left out (e.g. "Talk speed: not measured for these calls").
    """
    columns = ["agent_id", "team", "measure", "label", "unit", "n", "value", "team_value", "note", "value_text",
               "team_value_text"]
    data = calls[["agent_id", "team"]].copy()
    omitted: list[str] = []
    for column, label, _unit in STYLE_MEASURES:
        if column in calls.columns and calls[column].notna().any():
            data[column] = pd.to_numeric(calls[column], errors="coerce")
        elif column == "questions" and read_transcripts and "transcript_path" in calls.columns:
            counted = [count_questions(p) for p in calls["transcript_path"]]
            if np.isfinite(np.asarray(counted, dtype=float)).any():
                data[column] = counted
            else:
                omitted.append(f"{label}: no stored transcripts to count them in")
        else:
            omitted.append(f"{label}: not measured for these calls")
    rows = []
    for column, label, unit in STYLE_MEASURES:
        if column not in data.columns:
            continue
        g = data.groupby("agent_id", sort=True)[column]
        means = g.mean()
        team_value = data.groupby("team")[column].mean()
        team_of = data.drop_duplicates("agent_id", keep="last").set_index("agent_id")["team"]
        for agent_id, n in g.count().items():
            value = means.get(agent_id)
            team = team_of[agent_id]
            rows.append(
                {
                    "agent_id": agent_id, "team": team, "measure": column, "label": label, "unit": unit,
                    "n": int(n), "value": value if n >= min_calls else np.nan, "team_value": team_value.get(team),
                    "note": None if n >= min_calls else not_enough(n, min_calls),
                    "value_text": style_text(value, unit) if n >= min_calls else "–",
                    "team_value_text": style_text(team_value.get(team), unit),
                }
            )
    return pd.DataFrame(rows, columns=columns), tuple(omitted)


def style_text(value: float | None, unit: str) -> str:
    """A style measure in its one unit: "142 per minute", "46%", "1.2", "0:35"."""
    from qa_pipeline.stats import display

    if value is None or not np.isfinite(value):
        return "–"
    if unit == "per_min":
        return f"{value:.0f} per minute"
    if unit == "share":
        return display.percent(value)
    if unit == "seconds":
        return display.duration(value)
    return f"{value:.1f}"
