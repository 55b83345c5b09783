"""One unit per quantity in what reports and the terminal show.

Durations are ``m:ss`` (``h:mm:ss`` from an hour), score changes are "+4.3 points" /
"−3.2 points" (true minus sign), trends are "points per week", pass rates are percentages and
their changes "percentage points". Test statistics (p, τ, Theil–Sen) never sit in the
headline figures: :func:`agent_view` puts them in a ``details`` list that templates fold into a
``<details>`` element.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from qa_pipeline.stats.options import not_enough

MINUS = "\u2212"


def not_enough_text(n: int, need: int) -> str:
    """The one wording for a figure withheld for lack of calls."""
    return not_enough(n, need)


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def duration(seconds: Any) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour); "–" when missing."""
    s = _num(seconds)
    if s is None:
        return "–"
    sign = MINUS if s < 0 else ""
    total = int(round(abs(s)))
    h, rem = divmod(total, 3600)
    m, sec = divmod(rem, 60)
    return f"{sign}{h}:{m:02d}:{sec:02d}" if h else f"{sign}{m}:{sec:02d}"


def signed_duration(seconds: Any) -> str:
    """A handle-time change: "+0:25" or "−1:10"."""
    s = _num(seconds)
    if s is None:
        return "–"
    return ("+" if s >= 0 else "") + duration(s)


def signed(value: Any, digits: int = 1) -> str:
    """A signed number with a true minus sign ("+4.3", "−3.2")."""
    v = _num(value)
    if v is None:
        return "–"
    text = f"{abs(v):.{digits}f}"
    if float(text) == 0:
        return f"{0:.{digits}f}"
    return ("+" if v > 0 else MINUS) + text


def points(value: Any, digits: int = 1) -> str:
    """A score change: "+4.3 points"."""
    text = signed(value, digits)
    return "–" if text == "–" else f"{text} points"


def per_week(value: Any, digits: int = 1) -> str:
    """A score trend: "−1.7 points per week"."""
    text = signed(value, digits)
    return "–" if text == "–" else f"{text} points per week"


def percent(share: Any, digits: int = 0) -> str:
    """A share as a percentage: "82%"."""
    v = _num(share)
    return "–" if v is None else f"{100 * v:.{digits}f}%"


def percentage_points(change: Any, digits: int = 0) -> str:
    """A change of a share: "+5 percentage points"."""
    v = _num(change)
    if v is None:
        return "–"
    return f"{signed(100 * v, digits)} percentage points"


def score(value: Any, digits: int = 1) -> str:
    """A QA score on the 0–100 scale."""
    v = _num(value)
    return "–" if v is None else f"{v:.{digits}f}"


def pvalue(p: Any) -> str:
    v = _num(p)
    if v is None:
        return "–"
    return "< 0.001" if v < 0.001 else f"{v:.3f}"


QUARTERS = {1: "top quarter of the team", 2: "second quarter", 3: "third quarter", 4: "bottom quarter of the team"}


def _change_row(name: str, now: str, before: str, change: str, p: Any, sig: Any, note: Any, up_is_good: bool,
                delta: Any) -> dict[str, Any]:
    d = _num(delta)
    beyond = bool(sig) and d is not None
    verdict = "no change beyond noise"
    if beyond and d is not None:
        better = (d > 0) == up_is_good
        verdict = "better, beyond noise" if better else "worse, beyond noise"
    if note:
        verdict = str(note)
    return {"name": name, "now": now, "before": before, "change": change, "beyond_noise": beyond,
            "verdict": verdict, "p": pvalue(p)}


def agent_view(row: Mapping[str, Any], period_label: str, previous_label: str) -> dict[str, Any]:
    """What an agent's page and the terminal show of an agent row, in display units.

    Args:
        row: One row of :attr:`Analysis.agents <qa_pipeline.stats.Analysis.agents>`.
        period_label: This period ("2026-11-01 – 2026-11-30").
        previous_label: The previous period of equal length.

    Returns:
        A mapping: ``trend`` (a sentence: the weekly slope and whether it is significant, or
        why there is none), ``trend_shown`` (bool), ``movement`` (improving/declining/flat),
        ``compare`` (rows of this period against the previous one: ``name``, ``now``,
        ``before``, ``change``, ``beyond_noise``, ``verdict``), ``period``, ``previous``,
        ``aht`` (m:ss), ``aht_trend`` ("−0:14 per week"), ``quarter`` ("top quarter of the
        team") and ``details`` (pairs of statistic name and value, for a folded
        details block).
    """
    note = row.get("trend_note")
    direction = row.get("direction")
    slope = row.get("slope_per_week")
    if note:
        trend = str(note)
    elif direction in ("improving", "declining"):
        trend = f"{per_week(slope)}: significantly {direction}"
    else:
        trend = f"{per_week(slope)}: no significant trend"
    compare_note = row.get("compare_note")
    compare = [
        _change_row("Average QA score", score(row.get("mean")), score(row.get("prev_mean")), points(row.get("mean_change")),
                    row.get("mean_change_p"), row.get("mean_change_sig"), compare_note, True, row.get("mean_change")),
        _change_row("Criteria passed", percent(row.get("pass_rate")), percent(row.get("prev_pass_rate")),
                    percentage_points(row.get("pass_rate_change")), row.get("pass_rate_change_p"),
                    row.get("pass_rate_change_sig"), compare_note, True, row.get("pass_rate_change")),
        _change_row("Average handle time", duration(row.get("aht_s")), duration(row.get("prev_aht_s")),
                    signed_duration(row.get("aht_change_s")), row.get("aht_change_p"), row.get("aht_change_sig"),
                    compare_note, False, row.get("aht_change_s")),
    ]
    details = [
        ("Least-squares slope (every call)", per_week(slope, 2)),
        ("95% interval of the slope", f"{signed(row.get('slope_ci_low'), 2)} to {signed(row.get('slope_ci_high'), 2)}"),
        ("p-value of the slope", pvalue(row.get("slope_p"))),
        ("Theil–Sen slope (daily means)", per_week(row.get("theil_slope"), 2)),
        ("Mann–Kendall τ (daily means)", signed(row.get("kendall_tau"), 2)),
        ("Mann–Kendall p-value", pvalue(row.get("kendall_p"))),
        ("Handle-time trend", f"{signed_duration(row.get('aht_slope_per_week'))} per week"),
        ("Score change p-value (Welch t-test)", pvalue(row.get("mean_change_p"))),
        ("Pass-rate change p-value (two-proportion test)", pvalue(row.get("pass_rate_change_p"))),
        ("Handle-time change p-value (Welch t-test)", pvalue(row.get("aht_change_p"))),
        ("Position in team (z-score)", signed(row.get("z"), 2)),
    ]
    quartile = _num(row.get("quartile"))
    quarter = "–" if quartile is None else QUARTERS.get(int(quartile), "–")
    aht_trend = str(note) if note else f"{signed_duration(row.get('aht_slope_per_week'))} per week"
    return {
        "quarter": quarter,
        "aht_trend": aht_trend,
        "trend": trend,
        "trend_shown": not note,
        "movement": row.get("movement"),
        "movement_basis": row.get("movement_basis"),
        "compare": compare,
        "period": period_label,
        "previous": previous_label,
        "previous_calls": int(_num(row.get("prev_n")) or 0),
        "aht": duration(row.get("aht_s")),
        "details": details,
    }


def problem_view(problem: Mapping[str, Any]) -> dict[str, Any]:
    """An individual problem in display units: its priority, cost and rates."""
    return {
        "priority": problem.get("priority"),
        "criterion": problem.get("criterion_title"),
        "criterion_id": problem.get("criterion_id"),
        "fails": f"{int(_num(problem.get('fails')) or 0)} of {int(_num(problem.get('n')) or 0)} calls",
        "rate": percent(problem.get("rate")),
        "team_rate": percent(problem.get("team_rate")),
        "cost": f"{score(problem.get('impact'))} points per call",
        "examples": tuple(problem.get("example_calls") or ()),
    }
