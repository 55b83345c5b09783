"""Descriptive statistics of QA scores, criterion pass rates and handle time, per group."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

CENTRE = "centre"


def _keys(df: pd.DataFrame, by: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Group keys; an empty ``by`` means the whole centre as one group."""
    if by:
        return df, list(by)
    return df.assign(scope=CENTRE), ["scope"]


def describe_scores(calls: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Score and handle-time statistics per group.

    Args:
        calls: A prepared calls table.
        by: Grouping columns, e.g. ``["agent_id"]`` or ``["team"]``; empty = the whole centre
            (one row, keyed ``scope == "centre"``).

    Returns:
        One row per group with ``n``, ``mean``, ``std`` (sample, ddof=1), ``cv`` (std/mean;
        NaN when the mean is 0), ``median``, ``min``, ``max``, ``aht_s`` (mean handle time),
        ``critical_rate`` (share of calls with a failed critical criterion), ``first_call``
        and ``last_call``.
    """
    df, keys = _keys(calls, by)
    g = df.groupby(keys, sort=True, observed=True)
    s = g["call_score"]
    out = pd.DataFrame(
        {
            "n": s.size(),
            "mean": s.mean(),
            "std": s.std(ddof=1),
            "median": s.median(),
            "min": s.min(),
            "max": s.max(),
            "aht_s": g["duration_s"].mean(),
            "critical_rate": g["critical_failed"].mean(),
            "first_call": g["started_at"].min(),
            "last_call": g["started_at"].max(),
        }
    )
    out["cv"] = out["std"] / out["mean"].where(out["mean"] != 0)
    return out.reset_index()


def pass_rates(criteria: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Per-criterion pass rates per group; ``na`` verdicts are excluded from the rate.

    Returns:
        One row per (group, criterion) with ``criterion_title``, ``n`` (applicable rows),
        ``passes``, ``fails``, ``na`` and ``pass_rate`` (NaN when nothing applied).
    """
    df, keys = _keys(criteria, by)
    keys = keys + ["criterion_id"]
    verdict = df["verdict"].to_numpy()
    tmp = df[keys].assign(
        passes=(verdict == "pass").astype(np.int64),
        fails=(verdict == "fail").astype(np.int64),
        na=(verdict == "na").astype(np.int64),
    )
    out = tmp.groupby(keys, sort=True, observed=True)[["passes", "fails", "na"]].sum()
    out["n"] = out["passes"] + out["fails"]
    out["pass_rate"] = out["passes"] / out["n"].where(out["n"] > 0)
    titles = df.drop_duplicates("criterion_id").set_index("criterion_id")["criterion_title"]
    out = out.reset_index()
    out.insert(len(keys), "criterion_title", titles.reindex(out["criterion_id"]).to_numpy())
    return out[keys + ["criterion_title", "n", "passes", "fails", "na", "pass_rate"]]


def rollup_rates(rates: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Re-aggregate a :func:`pass_rates` table to coarser groups (cheap: no pass over the rows).

    Args:
        rates: Output of :func:`pass_rates` at a finer grouping.
        by: Coarser grouping columns, e.g. ``["team"]``; empty = the whole centre.

    Returns:
        The same columns as :func:`pass_rates` for ``by`` + ``criterion_id``.
    """
    df, keys = _keys(rates, by)
    keys = keys + ["criterion_id"]
    out = df.groupby(keys, sort=True, observed=True)[["passes", "fails", "na"]].sum()
    out["n"] = out["passes"] + out["fails"]
    out["pass_rate"] = out["passes"] / out["n"].where(out["n"] > 0)
    titles = rates.drop_duplicates("criterion_id").set_index("criterion_id")["criterion_title"]
    out = out.reset_index()
    out.insert(len(keys), "criterion_title", titles.reindex(out["criterion_id"]).to_numpy())
    return out[keys + ["criterion_title", "n", "passes", "fails", "na", "pass_rate"]]


def pooled_pass_rate(rates: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """All criteria pooled: the share of applicable verdicts that passed, from a rates table."""
    df, keys = _keys(rates, by)
    out = df.groupby(keys, sort=True, observed=True)[["passes", "n"]].sum()
    out["pass_rate"] = out["passes"] / out["n"].where(out["n"] > 0)
    return out.reset_index()[keys + ["pass_rate"]]


def week_start(started_at: pd.Series) -> pd.Series:
    """The Monday (00:00) of each timestamp's ISO week."""
    day = started_at.dt.floor("D")
    return day - pd.to_timedelta(day.dt.day_of_week, unit="D")


def weekly_means(df: pd.DataFrame, by: Sequence[str], value: str) -> pd.DataFrame:
    """Weekly mean of ``value`` per group (weeks start on Monday).

    Returns:
        Rows of ``by`` + ``week`` (Timestamp of the Monday), ``mean`` and ``n``.
    """
    frame, keys = _keys(df, by)
    tmp = frame[keys + [value]].assign(week=week_start(frame["started_at"]))
    g = tmp.groupby(keys + ["week"], sort=True, observed=True)[value]
    return pd.DataFrame({"mean": g.mean(), "n": g.size()}).reset_index()


def weekly_pass_rates(criteria: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Weekly pass rate per group and criterion (``na`` excluded).

    Returns:
        Rows of ``by`` + ``criterion_id``, ``week``, ``pass_rate`` and ``n``.
    """
    frame, keys = _keys(criteria, by)
    applicable = frame["verdict"].to_numpy() != "na"
    sub = frame.loc[applicable, keys + ["criterion_id", "started_at"]]
    tmp = sub[keys + ["criterion_id"]].assign(
        week=week_start(sub["started_at"]), passed=(frame.loc[applicable, "verdict"] == "pass").astype(float)
    )
    g = tmp.groupby(keys + ["criterion_id", "week"], sort=True, observed=True)["passed"]
    return pd.DataFrame({"pass_rate": g.mean(), "n": g.size()}).reset_index()
