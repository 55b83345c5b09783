"""Trends over time: OLS slope per week with its confidence interval, checked robustly.

Time is measured in weeks (days / 7) from a fixed origin, so a slope reads "points per week".
The least-squares fit uses every call and is computed for all groups at once from grouped sums;
the robust checks (Theil–Sen slope, Kendall's tau as the Mann–Kendall trend test) run per group
with SciPy on daily means.
"""

from __future__ import annotations

from enum import Enum
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from qa_pipeline.stats.describe import _keys
from qa_pipeline.stats.options import not_enough

DAY_NS = 86_400 * 10**9


class Direction(str, Enum):
    """What a trend test concluded."""

    IMPROVING = "improving"
    DECLINING = "declining"
    FLAT = "flat"


def weeks_since(started_at: pd.Series, origin: pd.Timestamp) -> np.ndarray:
    """Time in weeks (float) from ``origin``."""
    ns = started_at.to_numpy(dtype="datetime64[ns]").astype(np.int64) - np.int64(pd.Timestamp(origin).value)
    return ns / (7 * DAY_NS)


def ols_by_group(keys: np.ndarray, x: np.ndarray, y: np.ndarray, alpha: float = 0.05) -> pd.DataFrame:
    """Ordinary least squares ``y = intercept + slope * x`` for every group at once.

    Args:
        keys: Group label of each point.
        x: Predictor (weeks).
        y: Response.
        alpha: The confidence interval is ``1 - alpha``.

    Returns:
        Indexed by group: ``n``, ``slope``, ``intercept``, ``stderr``, ``ci_low``, ``ci_high``,
        ``p_value`` (two-sided t-test of slope = 0, n - 2 degrees of freedom) and ``r``.
        Groups with fewer than 3 points or no spread in x get NaN statistics.
    """
    codes, uniques = pd.factorize(keys, sort=True)
    k = len(uniques)
    n = np.bincount(codes, minlength=k).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.bincount(codes, x, k) / n
        my = np.bincount(codes, y, k) / n
        dx = x - mx[codes]
        dy = y - my[codes]
        sxx = np.bincount(codes, dx * dx, k)
        sxy = np.bincount(codes, dx * dy, k)
        syy = np.bincount(codes, dy * dy, k)
        ok = (n >= 3) & (sxx > 0)
        slope = np.where(ok, sxy / sxx, np.nan)
        intercept = my - slope * mx
        df = n - 2
        sse = np.clip(syy - slope * sxy, 0.0, None)
        stderr = np.where(ok, np.sqrt(sse / df / sxx), np.nan)
        tstat = slope / stderr
        # A perfect fit has zero standard error: the slope is exact, so p is 0 unless flat.
        tstat = np.where(ok & (stderr == 0), np.where(slope == 0, 0.0, np.inf), tstat)
        p = np.where(ok, 2 * sps.t.sf(np.abs(tstat), np.where(ok, df, 1)), np.nan)
        q = np.where(ok, sps.t.ppf(1 - alpha / 2, np.where(ok, df, 1)), np.nan)
        r = np.where(ok & (syy > 0), sxy / np.sqrt(sxx * syy), np.nan)
    return pd.DataFrame(
        {
            "n": n.astype(int),
            "slope": slope,
            "intercept": intercept,
            "stderr": stderr,
            "ci_low": slope - q * stderr,
            "ci_high": slope + q * stderr,
            "p_value": p,
            "r": r,
        },
        index=pd.Index(uniques, name="key"),
    )


def _robust(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[float, float, float, float, float]:
    if len(x) < 3 or np.ptp(x) == 0:
        return (np.nan,) * 5
    ts = sps.theilslopes(y, x, alpha=1 - alpha)
    if np.ptp(y) == 0:
        return float(ts.slope), float(ts.low_slope), float(ts.high_slope), np.nan, np.nan
    tau = sps.kendalltau(x, y)
    return float(ts.slope), float(ts.low_slope), float(ts.high_slope), float(tau.statistic), float(tau.pvalue)


def robust_by_group(keys: np.ndarray, x: np.ndarray, y: np.ndarray, alpha: float = 0.05) -> pd.DataFrame:
    """Theil–Sen slope (with its ``1 - alpha`` interval) and Kendall's tau per group, on daily means.

    Each group's points are first averaged per day (``x`` in weeks, so a day is ``1/7``).
    Call scores are discrete and pile up at 100, so per-call pairs tie so often that the
    per-call Theil–Sen median collapses to 0 for good agents; daily means rarely tie, and a
    whole centre's series stays a few hundred points long (Theil–Sen is quadratic). Kendall's
    tau between day and daily mean is the Mann–Kendall trend test; its p-value is the
    two-sided test of no monotonic trend.

    Returns:
        Indexed by group: ``theil_slope``, ``theil_low``, ``theil_high`` (per week, like
        ``x``), ``kendall_tau``, ``kendall_p`` and ``days`` (points used).
    """
    day = np.floor(x * 7).astype(np.int64)
    frame = pd.DataFrame({"k": keys, "day": day, "y": y})
    daily = frame.groupby(["k", "day"], sort=True)["y"].mean().reset_index()
    k = daily["k"].to_numpy()
    uniques, starts = np.unique(k, return_index=True)
    bounds = np.append(starts, len(k))
    dx = (daily["day"].to_numpy(dtype=float) + 0.5) / 7
    dy = daily["y"].to_numpy(dtype=float)
    rows = []
    for i in range(len(uniques)):
        sl = slice(bounds[i], bounds[i + 1])
        rows.append(_robust(dx[sl], dy[sl], alpha) + (bounds[i + 1] - bounds[i],))
    return pd.DataFrame(
        rows,
        columns=["theil_slope", "theil_low", "theil_high", "kendall_tau", "kendall_p", "days"],
        index=pd.Index(uniques, name="key"),
    )


def classify(
    slope: np.ndarray,
    p_value: np.ndarray,
    theil_slope: np.ndarray,
    alpha: float,
    kendall_p: np.ndarray | None = None,
) -> np.ndarray:
    """Direction of each trend: improving/declining only when the least-squares and Theil–Sen
    slopes agree in sign and either the least-squares slope (``p < alpha``) or the Mann–Kendall
    rank test (``kendall_p < alpha``) is significant; flat otherwise.

    The rank test counts because QA scores are heavy-tailed: a critical failure scores 0, and a
    couple of such calls inflate the least-squares error enough to hide a steady climb that
    every rank-based statistic sees.
    """
    slope = np.asarray(slope, dtype=float)
    sig = np.nan_to_num(np.asarray(p_value, dtype=float), nan=1.0) < alpha
    if kendall_p is not None:
        sig = sig | (np.nan_to_num(np.asarray(kendall_p, dtype=float), nan=1.0) < alpha)
    ts = np.nan_to_num(np.asarray(theil_slope, dtype=float))
    up = sig & (slope > 0) & (ts > 0)
    down = sig & (slope < 0) & (ts < 0)
    return np.where(up, Direction.IMPROVING.value, np.where(down, Direction.DECLINING.value, Direction.FLAT.value))


def trend_table(
    df: pd.DataFrame,
    by: Sequence[str],
    value: str,
    origin: pd.Timestamp,
    alpha: float = 0.05,
    robust: bool = True,
    min_calls: int = 3,
    min_days: int = 2,
) -> pd.DataFrame:
    """Trend of ``value`` over ``started_at`` per group.

    Args:
        df: A table with ``started_at`` and ``value`` columns.
        by: Grouping columns (one), or empty for the whole centre.
        value: Column to trend (e.g. ``call_score``, ``duration_s``).
        origin: Time zero (usually the period start); the intercept is the fitted value there.
        alpha: Significance level and ``1 - alpha`` interval.
        robust: Also compute Theil–Sen and Kendall's tau on daily means (needed for
            ``direction``); see :func:`robust_by_group`.
        min_calls: Groups with fewer points get no trend at all (every statistic missing,
            ``direction`` None): a slope through a handful of calls is noise shown as a finding.
        min_days: Groups whose points fall on fewer distinct days get no trend either.

    Returns:
        One row per group: the columns of :func:`ols_by_group` renamed with a ``slope_per_week``
        prefix style (``slope_per_week``, ``slope_ci_low``, ``slope_ci_high``, ``slope_p``,
        ``intercept``, ``r``), plus ``theil_slope``, ``theil_low``, ``theil_high``,
        ``kendall_tau``, ``kendall_p``, ``days`` and ``direction``; and always
        ``trend_calls``, ``trend_days`` and ``trend_note`` (None, or why there is no trend).
    """
    frame, keys = _keys(df, by)
    if len(keys) != 1:
        raise ValueError("trend_table groups by one column")
    key = keys[0]
    x = weeks_since(frame["started_at"], origin)
    y = frame[value].to_numpy(dtype=float)
    k = frame[key].to_numpy()
    ols = ols_by_group(k, x, y, alpha)
    out = pd.DataFrame(
        {
            "slope_per_week": ols["slope"],
            "slope_ci_low": ols["ci_low"],
            "slope_ci_high": ols["ci_high"],
            "slope_p": ols["p_value"],
            "intercept": ols["intercept"],
            "r": ols["r"],
        }
    )
    if robust:
        out = out.join(robust_by_group(k, x, y, alpha))
        out["direction"] = classify(out["slope_per_week"], out["slope_p"], out["theil_slope"], alpha, out["kendall_p"])
    days = pd.Series(np.floor(x * 7).astype(np.int64)).groupby(k).nunique()
    out["trend_calls"] = ols["n"].to_numpy()
    out["trend_days"] = days.reindex(out.index).to_numpy()
    short = (out["trend_calls"] < min_calls) | (out["trend_days"] < min_days)
    out["trend_note"] = [
        _why_no_trend(n, d, min_calls, min_days) if s else None
        for n, d, s in zip(out["trend_calls"], out["trend_days"], short)
    ]
    stats_cols = [c for c in out.columns if c not in ("direction", "trend_calls", "trend_days", "trend_note", "days")]
    out.loc[short, stats_cols] = np.nan
    if "direction" in out.columns:
        out["direction"] = out["direction"].astype(object).where(~short, None)
    out.index.name = key
    return out.reset_index()


def _why_no_trend(n: int, days: int, min_calls: int, min_days: int) -> str:
    if n < min_calls:
        return not_enough(n, min_calls)
    return f"not enough days with calls yet ({int(days)}, need {int(min_days)})"
