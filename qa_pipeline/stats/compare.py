"""This period against the previous one of equal length, per agent: is the change beyond noise?

Mean score and mean handle time are compared with Welch's t-test (unequal variances: an agent's
spread can change between periods); the pooled criterion pass rate with a two-proportion z-test
on applicable verdicts. Verdicts of one call are not independent, so the pass-rate test is a
little optimistic; it is shown beside the score test, which is exact in its own assumptions.
A change is tested only when both periods have at least ``min_calls`` calls; otherwise its
``*_sig`` is False and ``compare_note`` says why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from qa_pipeline.stats.options import not_enough

COMPARE_COLUMNS: tuple[str, ...] = (
    "prev_n",
    "prev_mean",
    "mean_change",
    "mean_change_p",
    "mean_change_sig",
    "prev_pass_rate",
    "pass_rate_change",
    "pass_rate_change_p",
    "pass_rate_change_sig",
    "prev_aht_s",
    "aht_change_s",
    "aht_change_p",
    "aht_change_sig",
    "compare_note",
)


def welch_p(m1: np.ndarray, s1: np.ndarray, n1: np.ndarray, m2: np.ndarray, s2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Two-sided Welch t-test p-values from group means, sample SDs and sizes (NaN where undefined)."""
    m1, s1, n1, m2, s2, n2 = (np.asarray(a, dtype=float) for a in (m1, s1, n1, m2, s2, n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        v1, v2 = s1**2 / n1, s2**2 / n2
        se = np.sqrt(v1 + v2)
        t = (m1 - m2) / se
        df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
        p = 2 * sps.t.sf(np.abs(t), df)
    # Both periods without any spread: equal means are no change, different ones are certain.
    exact = (se == 0) & (n1 >= 2) & (n2 >= 2)
    p = np.where(exact, np.where(m1 == m2, 1.0, 0.0), p)
    return np.where((n1 >= 2) & (n2 >= 2), p, np.nan)


def two_proportion_p(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Two-sided pooled two-proportion z-test p-values (NaN where a group is empty)."""
    x1, n1, x2, n2 = (np.asarray(a, dtype=float) for a in (x1, n1, x2, n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = (x1 + x2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (x1 / n1 - x2 / n2) / se
        p = 2 * sps.norm.sf(np.abs(z))
    p = np.where(se == 0, 1.0, p)
    return np.where((n1 > 0) & (n2 > 0), p, np.nan)


def _summary(calls: pd.DataFrame, criteria: pd.DataFrame, by: str) -> pd.DataFrame:
    g = calls.groupby(by, sort=True)
    out = pd.DataFrame(
        {
            "n": g.size(),
            "mean": g["call_score"].mean(),
            "sd": g["call_score"].std(ddof=1),
            "aht": g["duration_s"].mean(),
            "aht_sd": g["duration_s"].std(ddof=1),
        }
    )
    verdict = criteria["verdict"]
    # Grouping the column itself: pulling 10^6 strings into a numpy array is the slow part.
    tmp = pd.DataFrame({"passes": (verdict == "pass").to_numpy(), "applicable": (verdict != "na").to_numpy()})
    v = tmp.groupby(criteria[by].reset_index(drop=True), sort=True)[["passes", "applicable"]].sum()
    out["passes"] = v["passes"].reindex(out.index).fillna(0)
    out["applicable"] = v["applicable"].reindex(out.index).fillna(0)
    return out


def compare_periods(
    now_calls: pd.DataFrame,
    now_criteria: pd.DataFrame,
    prev_calls: pd.DataFrame,
    prev_criteria: pd.DataFrame,
    alpha: float = 0.05,
    min_calls: int = 5,
    by: str = "agent_id",
) -> pd.DataFrame:
    """Per agent (or team) of ``now_calls``: the previous period's figures and the change to this one.

    Args:
        now_calls: This period's calls (prepared calls table).
        now_criteria: This period's criterion rows.
        prev_calls: The previous period's calls.
        prev_criteria: The previous period's criterion rows.
        alpha: A change is beyond noise when its two-sided p-value is below this.
        min_calls: Calls each period needs before a change is tested.
        by: ``agent_id`` or ``team`` (both tables need the column).

    Returns:
        Indexed by ``by``: the columns of :data:`COMPARE_COLUMNS`. Changes are this
        period minus the previous one (score in points, pass rate as a share, handle time in
        seconds); an agent with no previous calls has missing previous figures.
    """
    now = _summary(now_calls, now_criteria, by)
    prev = _summary(prev_calls, prev_criteria, by).reindex(now.index)
    prev["n"] = prev["n"].fillna(0)
    testable = (now["n"] >= min_calls) & (prev["n"] >= min_calls)
    out = pd.DataFrame(index=now.index)
    out["prev_n"] = prev["n"].astype(int)
    out["prev_mean"] = prev["mean"]
    out["mean_change"] = now["mean"] - prev["mean"]
    out["mean_change_p"] = np.where(testable, welch_p(now["mean"], now["sd"], now["n"], prev["mean"], prev["sd"], prev["n"]), np.nan)
    now_rate = now["passes"] / now["applicable"].where(now["applicable"] > 0)
    prev_rate = prev["passes"] / prev["applicable"].where(prev["applicable"] > 0)
    out["prev_pass_rate"] = prev_rate
    out["pass_rate_change"] = now_rate - prev_rate
    out["pass_rate_change_p"] = np.where(
        testable, two_proportion_p(now["passes"], now["applicable"], prev["passes"].fillna(0), prev["applicable"].fillna(0)), np.nan
    )
    out["prev_aht_s"] = prev["aht"]
    out["aht_change_s"] = now["aht"] - prev["aht"]
    out["aht_change_p"] = np.where(testable, welch_p(now["aht"], now["aht_sd"], now["n"], prev["aht"], prev["aht_sd"], prev["n"]), np.nan)
    for name in ("mean_change", "pass_rate_change", "aht_change"):
        out[f"{name}_sig"] = (out[f"{name}_p"].fillna(1.0) < alpha).astype(bool)
    short = [min(int(a), int(b)) for a, b in zip(now["n"], prev["n"])]
    out["compare_note"] = [
        None if ok else not_enough(s, min_calls) + " in one of the two periods"
        for ok, s in zip(testable, short)
    ]
    return out[list(COMPARE_COLUMNS)]
