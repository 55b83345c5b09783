"""Problem tables: what one agent fails more than the team, and what everyone fails.

The individual test is Fisher's exact test, one-sided ("this agent fails more often than the
rest of the team"), on the 2×2 table of the agent's and the rest of the team's fails and passes
of one criterion. Its p-value is the upper tail of the hypergeometric distribution, which lets
every (agent, criterion) pair be tested in one vectorised call. Each agent's criteria are one
family of tests: p-values are adjusted with Benjamini–Hochberg within the agent, and a problem
is significant when the adjusted value is below ``alpha``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from qa_pipeline.stats.describe import pass_rates, rollup_rates
from qa_pipeline.stats.options import not_enough


def fisher_greater(fails: np.ndarray, n: np.ndarray, other_fails: np.ndarray, other_n: np.ndarray) -> np.ndarray:
    """One-sided Fisher exact p-value that the first group fails more often than the second.

    Args:
        fails: Failures in the first group.
        n: Trials in the first group.
        other_fails: Failures in the second group.
        other_n: Trials in the second group.

    Returns:
        ``P(X >= fails)`` for X hypergeometric with population ``n + other_n``, ``fails +
        other_fails`` failures in it and ``n`` draws; NaN where either group is empty.
    """
    fails, n, other_fails, other_n = (np.asarray(a, dtype=np.int64) for a in (fails, n, other_fails, other_n))
    p = sps.hypergeom.sf(fails - 1, n + other_n, fails + other_fails, n)
    return np.where((n > 0) & (other_n > 0), p, np.nan)


def bh_adjust(p: pd.Series, groups: pd.Series) -> pd.Series:
    """Benjamini–Hochberg adjusted p-values within each group (NaN p-values are left out)."""
    frame = pd.DataFrame({"p": p, "g": groups}).dropna(subset=["p"])
    frame = frame.sort_values(["g", "p"], kind="stable")
    m = frame.groupby("g")["p"].transform("size")
    rank = frame.groupby("g").cumcount() + 1
    frame["raw"] = np.minimum(frame["p"] * m / rank, 1.0)
    # Step-up: each adjusted value is the minimum of the raw values at its rank or above.
    frame["q"] = frame.iloc[::-1].groupby("g")["raw"].cummin().iloc[::-1]
    return frame["q"].reindex(p.index)


def individual_problems(
    criteria: pd.DataFrame,
    alpha: float = 0.05,
    examples: int = 3,
    rates: pd.DataFrame | None = None,
    min_calls: int = 1,
) -> pd.DataFrame:
    """Every (agent, criterion) pair with the agent's failure rate against the rest of the team's.

    Args:
        criteria: A prepared criteria table.
        alpha: Significance level for the adjusted p-value.
        examples: Example call ids kept per significant problem (most recent failures first).
        rates: ``pass_rates(criteria, ["team", "agent_id"])`` when already computed.
        min_calls: Applicable calls the agent needs on a criterion before a problem can be
            significant (two failed calls out of two are no finding).

    Returns:
        One row per (agent, criterion): ``agent_id``, ``team``, ``criterion_id``,
        ``criterion_title``, ``n``, ``fails``, ``rate`` (fail rate), ``team_n``, ``team_fails``,
        ``team_rate`` (the rest of the team, the agent excluded), ``diff`` (rate - team_rate),
        ``p_value``, ``q_value``, ``significant`` and ``example_calls`` (tuple of call ids;
        filled for significant rows). Sorted by agent, significant first, then by p-value.
    """
    agent = rates if rates is not None else pass_rates(criteria, ["team", "agent_id"])
    team = agent.groupby(["team", "criterion_id"], sort=False)[["n", "fails"]].transform("sum")
    out = agent[["agent_id", "team", "criterion_id", "criterion_title", "n", "fails"]].copy()
    out["team_n"] = team["n"] - out["n"]
    out["team_fails"] = team["fails"] - out["fails"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rate"] = out["fails"] / out["n"].where(out["n"] > 0)
        out["team_rate"] = out["team_fails"] / out["team_n"].where(out["team_n"] > 0)
    out["diff"] = out["rate"] - out["team_rate"]
    out["p_value"] = fisher_greater(out["fails"], out["n"], out["team_fails"], out["team_n"])
    out["q_value"] = bh_adjust(out["p_value"], out["agent_id"])
    out["significant"] = (out["q_value"].fillna(1.0) < alpha) & (out["diff"].fillna(0.0) > 0) & (out["n"] >= min_calls)
    out["example_calls"] = [()] * len(out)
    if examples and out["significant"].any():
        sig = out.loc[out["significant"], ["agent_id", "criterion_id"]]
        failed = criteria.loc[criteria["verdict"].to_numpy() == "fail", ["agent_id", "criterion_id", "call_id", "started_at"]]
        failed = failed.merge(sig, on=["agent_id", "criterion_id"])
        failed = failed.sort_values("started_at", ascending=False, kind="stable")
        ex = failed.groupby(["agent_id", "criterion_id"], sort=False).head(examples)
        ex = ex.groupby(["agent_id", "criterion_id"], sort=False)["call_id"].agg(tuple)
        idx = pd.MultiIndex.from_frame(out[["agent_id", "criterion_id"]])
        found = ex.reindex(idx)
        out["example_calls"] = [v if isinstance(v, tuple) else () for v in found]
    out = out.sort_values(["agent_id", "significant", "p_value"], ascending=[True, False, True], kind="stable")
    return out.reset_index(drop=True)


def common_problems(
    criteria: pd.DataFrame,
    call_rate: float = 0.20,
    agent_share: float = 0.30,
    agent_fail_rate: float = 0.25,
    min_calls: int = 8,
    rates: pd.DataFrame | None = None,
    min_criterion_calls: int = 1,
    min_fails: int = 1,
) -> pd.DataFrame:
    """Criteria failed widely: retraining candidates.

    A criterion is common when it fails on at least ``call_rate`` of the calls it applies to, or
    when at least ``agent_share`` of the agents (with ``min_calls`` applicable calls) fail it on
    at least ``agent_fail_rate`` of their calls — and in either case it applied to at least
    ``min_criterion_calls`` calls and failed on at least ``min_fails``, so two failed calls
    never make a retraining candidate. ``rates`` is ``pass_rates(criteria, ["team",
    "agent_id"])`` when already computed.

    Returns:
        One row per criterion: ``criterion_id``, ``criterion_title``, ``n``, ``fails``,
        ``fail_rate``, ``agents`` (agents assessed), ``agents_failing``, ``agent_share``,
        ``common``, ``note`` (None, or why it cannot be judged yet) and ``rank`` (1 = the
        widest problem), ranked common first, then by agent share and failure rate.
    """
    if rates is None:
        rates = pass_rates(criteria, ["team", "agent_id"])
    whole = rollup_rates(rates)
    out = whole[["criterion_id", "criterion_title", "n", "fails"]].copy()
    out["fail_rate"] = out["fails"] / out["n"].where(out["n"] > 0)
    per_agent = rollup_rates(rates, ["agent_id"])
    per_agent = per_agent.loc[per_agent["n"] >= min_calls]
    per_agent = per_agent.assign(failing=(per_agent["fails"] / per_agent["n"]) >= agent_fail_rate)
    agg = per_agent.groupby("criterion_id")["failing"].agg(["size", "sum"])
    out["agents"] = out["criterion_id"].map(agg["size"]).fillna(0).astype(int)
    out["agents_failing"] = out["criterion_id"].map(agg["sum"]).fillna(0).astype(int)
    out["agent_share"] = out["agents_failing"] / out["agents"].where(out["agents"] > 0)
    enough = (out["n"] >= min_criterion_calls) & (out["fails"] >= min_fails)
    out["common"] = enough & ((out["fail_rate"].fillna(0) >= call_rate) | (out["agent_share"].fillna(0) >= agent_share))
    out["note"] = [
        None if ok else (
            not_enough(n, min_criterion_calls) if n < min_criterion_calls
            else f"not enough failures yet ({int(f)}, need {min_fails})"
        )
        for ok, n, f in zip(enough, out["n"], out["fails"])
    ]
    out = out.sort_values(["common", "agent_share", "fail_rate"], ascending=False, kind="stable", na_position="last")
    out["rank"] = np.arange(1, len(out) + 1)
    return out.reset_index(drop=True)


def rank_by_impact(problems: pd.DataFrame, criteria: pd.DataFrame, calls_per_agent: pd.Series | None = None) -> pd.DataFrame:
    """Order each agent's problems by what they cost: points lost per call × share of calls.

    A criterion's impact is the score points (0–100 scale) it takes off the agent's average
    call: the mean points lost on a failed call — the criterion's share of the call's available
    points — times the share of the agent's calls that failed it. Fixing the top problem first
    recovers the most score.

    Args:
        problems: The table of :func:`individual_problems`.
        criteria: The criterion rows it was computed from (``points``, ``max_points``).
        calls_per_agent: Calls per agent id, when already known (else counted from
            ``criteria``).

    Returns:
        The table with ``points_lost`` (per failed call), ``fail_share`` (failed calls / all
        the agent's calls), ``impact`` (their product) and ``priority`` (1 = the costliest
        significant problem of the agent; missing for rows that are not significant), sorted
        by agent, significant first, then by impact.
    """
    out = problems.copy()
    crit = criteria
    failed = crit.loc[(crit["verdict"] == "fail").to_numpy(), ["agent_id", "criterion_id", "call_id", "points", "max_points"]]
    # Only failed rows need their call's available points: one reduction, looked up for them.
    available = crit.groupby("call_id", sort=False)["max_points"].sum().reindex(failed["call_id"]).to_numpy(dtype=float)
    lost = failed["max_points"].to_numpy(dtype=float) - failed["points"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        lost_pts = np.where(available > 0, 100.0 * lost / available, np.nan)
    per = pd.Series(lost_pts, index=failed.index).groupby([failed["agent_id"], failed["criterion_id"]], sort=False).mean()
    if calls_per_agent is None:
        calls_per_agent = crit.groupby("agent_id")["call_id"].nunique()
    idx = pd.MultiIndex.from_frame(out[["agent_id", "criterion_id"]])
    out["points_lost"] = per.reindex(idx).to_numpy()
    out["fail_share"] = out["fails"] / out["agent_id"].map(calls_per_agent).where(lambda v: v > 0)
    out["impact"] = (out["points_lost"] * out["fail_share"]).fillna(0.0)
    out = out.sort_values(["agent_id", "significant", "impact", "p_value"], ascending=[True, False, False, True], kind="stable")
    out["priority"] = out.groupby("agent_id").cumcount().add(1).where(out["significant"]).astype("Int64")
    return out.reset_index(drop=True)
