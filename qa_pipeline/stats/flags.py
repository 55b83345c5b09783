"""Coaching flags: what a coach should do with each agent, from level, trend and consistency.

The method: an agent ranked low but improving is encouraged rather than criticised; an agent
near the top but sliding is reminded early rather than praised; an agent sliding from any rank
is warned — a decline is never hidden behind "coach". Every agent gets a flag, whatever their
rank.

An agent is **declining** when the score trend within the period is significantly downward
(least squares or Mann–Kendall, with Theil–Sen agreeing) *or* the mean score fell significantly from the previous
period of equal length (Welch t-test); **improving** likewise upward. A significant trend
within the period wins over the comparison when the two disagree.

=================  ============================================================================
flag               rule (team median = median of the mean scores of the team's agents that
                   have enough calls)
=================  ============================================================================
early_warning      declining and the mean still at or above the team median
declining          declining and the mean already below the team median
encourage          below the team median and improving
coach              below the median and flat
recognise          at or above the median and flat or improving
inconsistent       coefficient of variation above ``cv_factor`` × the team's median agent CV
                   (in addition to one of the five above)
insufficient_data  fewer than ``min_calls`` calls in the period (no other flag)
=================  ============================================================================
"""

from __future__ import annotations

from enum import Enum

import numpy as np
import pandas as pd

from qa_pipeline.stats.trend import Direction


class Flag(str, Enum):
    """A coaching flag."""

    ENCOURAGE = "encourage"
    EARLY_WARNING = "early_warning"
    DECLINING = "declining"
    COACH = "coach"
    RECOGNISE = "recognise"
    INCONSISTENT = "inconsistent"
    INSUFFICIENT_DATA = "insufficient_data"

    @property
    def label(self) -> str:
        return FLAG_LABELS[self]

    @property
    def advice(self) -> str:
        return FLAG_ADVICE[self]


FLAG_LABELS: dict[Flag, str] = {
    Flag.ENCOURAGE: "Encourage",
    Flag.EARLY_WARNING: "Early warning",
    Flag.DECLINING: "Declining",
    Flag.COACH: "Coach",
    Flag.RECOGNISE: "Recognise",
    Flag.INCONSISTENT: "Inconsistent",
    Flag.INSUFFICIENT_DATA: "Insufficient data",
}

FLAG_ADVICE: dict[Flag, str] = {
    Flag.ENCOURAGE: "Below the team median but significantly improving: encourage rather than criticise.",
    Flag.EARLY_WARNING: "At or above the team median but significantly declining: remind early rather than praise.",
    Flag.DECLINING: "Below the team median and significantly declining: act now, starting with the top problems.",
    Flag.COACH: "Below the team median and holding steady: plan coaching on the individual problems.",
    Flag.RECOGNISE: "At or above the team median and holding or improving: recognise the work.",
    Flag.INCONSISTENT: "Scores vary far more than the team's: look at what differs between good and bad calls.",
    Flag.INSUFFICIENT_DATA: "Too few calls in the period to judge.",
}


def coaching_flags(agents: pd.DataFrame, min_calls: int, cv_factor: float) -> pd.DataFrame:
    """Add flag columns to an agent table.

    Args:
        agents: One row per agent with ``team``, ``n``, ``mean``, ``cv`` and ``direction``;
            optionally ``mean_change`` and ``mean_change_sig`` (the comparison with the
            previous period, see :mod:`qa_pipeline.stats.compare`).
        min_calls: Fewer calls than this → ``insufficient_data`` only.
        cv_factor: See the module docstring.

    Returns:
        A copy with ``team_median`` (median of agent means in the team), ``team_cv`` (median
        agent CV in the team), ``position`` (``above``/``below``/None), ``movement``
        (``improving``/``declining``/``flat``), ``movement_basis`` (``trend``, ``previous
        period`` or None), ``flag`` (the primary flag), ``inconsistent`` (bool) and ``flags``
        (tuple of flag values, primary first).
    """
    out = agents.copy()
    enough = out["n"].to_numpy() >= min_calls
    eligible = out.loc[enough]
    med = eligible.groupby("team")["mean"].median()
    cv = eligible.groupby("team")["cv"].median()
    out["team_median"] = out["team"].map(med)
    out["team_cv"] = out["team"].map(cv)
    below = out["mean"].to_numpy() < out["team_median"].to_numpy()
    direction = out["direction"].to_numpy()
    trend_up = direction == Direction.IMPROVING.value
    trend_down = direction == Direction.DECLINING.value
    if "mean_change_sig" in out.columns:
        change = out["mean_change"].to_numpy(dtype=float)
        sig = out["mean_change_sig"].fillna(False).to_numpy(dtype=bool)
        comp_up, comp_down = sig & (change > 0), sig & (change < 0)
    else:
        comp_up = comp_down = np.zeros(len(out), dtype=bool)
    by_trend = trend_up | trend_down
    improving = trend_up | (~by_trend & comp_up)
    declining = trend_down | (~by_trend & comp_down)
    primary = np.select(
        [~enough, declining & ~below, declining, below & improving, below],
        [Flag.INSUFFICIENT_DATA.value, Flag.EARLY_WARNING.value, Flag.DECLINING.value, Flag.ENCOURAGE.value,
         Flag.COACH.value],
        default=Flag.RECOGNISE.value,
    )
    out["movement"] = np.where(improving, "improving", np.where(declining, "declining", "flat"))
    basis = np.full(len(out), None, dtype=object)
    basis[comp_up | comp_down] = "previous period"
    basis[by_trend] = "trend"
    out["movement_basis"] = basis
    inconsistent = enough & (out["cv"].to_numpy() > cv_factor * out["team_cv"].to_numpy())
    position = np.full(len(out), None, dtype=object)
    position[enough] = np.where(below, "below", "above")[enough]
    out["position"] = position
    out["flag"] = primary
    out["inconsistent"] = inconsistent
    out["flags"] = [
        (p, Flag.INCONSISTENT.value) if inc else (p,) for p, inc in zip(primary.tolist(), inconsistent.tolist())
    ]
    return out
