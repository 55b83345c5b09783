"""One call computes every statistic a report needs, per agent, team and centre."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from qa_pipeline.errors import ReportError
from qa_pipeline.log import get_logger
from qa_pipeline.stats.compare import compare_periods
from qa_pipeline.stats.control import control_limits, out_of_limits
from qa_pipeline.stats.describe import (
    describe_scores,
    pass_rates,
    pooled_pass_rate,
    rollup_rates,
    weekly_means,
    weekly_pass_rates,
)
from qa_pipeline.stats.flags import Flag, coaching_flags
from qa_pipeline.stats.frames import Frames
from qa_pipeline.stats.goals import Target, goal_attainment
from qa_pipeline.stats.options import Period, StatsOptions
from qa_pipeline.stats.profiles import ability_profile, style_profile
from qa_pipeline.stats.problems import common_problems, individual_problems, rank_by_impact
from qa_pipeline.stats.trend import trend_table

log = get_logger("stats")


@dataclass(frozen=True)
class Analysis:
    """Everything computed over one period. All tables are pandas frames.

    Attributes:
        period: The period analysed.
        options: The options used.
        frames: The calls and criteria rows inside the period (each agent in their latest team).
        agents: One row per agent: ``agent_id``, ``agent_name``, ``team``, the columns of
            :func:`~qa_pipeline.stats.describe.describe_scores`, ``pass_rate``, the trend
            columns of :func:`~qa_pipeline.stats.trend.trend_table`, ``aht_slope_per_week`` and
            ``aht_slope_p`` (least squares), ``rank`` (1 = best in team), ``team_size``,
            ``quartile`` (1 = top quarter), ``z`` (against the team's agent means) — these
            three among agents with at least ``min_calls`` calls, missing for others — the flag
            columns of :func:`~qa_pipeline.stats.flags.coaching_flags`, the comparison with the
            previous period of equal length (:data:`~qa_pipeline.stats.compare.COMPARE_COLUMNS`:
            ``prev_mean``, ``mean_change``, ``mean_change_p``, ``mean_change_sig``, the same for
            ``pass_rate`` and ``aht``, ``compare_note``), ``trend_note`` (why there is no
            trend, or None), ``out_of_limits``
            (calls beyond 2σ) and ``problems`` (significant individual problems); sorted by
            team and rank.
        teams: One row per team: score statistics, trend, ``pass_rate``, the comparison
            with the previous period (the columns of
            :data:`~qa_pipeline.stats.compare.COMPARE_COLUMNS`), ``agents`` and a count column
            per flag.
        centre: One row: the whole centre.
        agent_criteria: Pass rates per (agent, criterion), with ``team_pass_rate``.
        team_criteria: Pass rates per (team, criterion).
        weekly: Weekly mean score per agent (``agent_id``, ``week``, ``mean``, ``n``).
        team_weekly: Weekly mean score per team.
        weekly_aht: Weekly mean handle time per agent.
        team_weekly_aht: Weekly mean handle time per team.
        weekly_criteria: Weekly pass rate per (agent, criterion).
        limits: Control limits per team.
        outliers: Calls beyond their team's 2σ limits.
        problems: Individual problem table (every agent × criterion).
        common: Common problem table.
        goals: Goal attainment (empty when no targets were given).
        abilities: Ability profile per agent against the team
            (:func:`~qa_pipeline.stats.profiles.ability_profile`; empty without abilities).
        style: Communication-style profile per agent against the team
            (:func:`~qa_pipeline.stats.profiles.style_profile`).
        style_notes: The style measures left out, and why.
    """

    period: Period
    options: StatsOptions
    frames: Frames
    agents: pd.DataFrame
    teams: pd.DataFrame
    centre: pd.DataFrame
    agent_criteria: pd.DataFrame
    team_criteria: pd.DataFrame
    weekly: pd.DataFrame
    team_weekly: pd.DataFrame
    weekly_aht: pd.DataFrame
    team_weekly_aht: pd.DataFrame
    weekly_criteria: pd.DataFrame
    limits: pd.DataFrame
    outliers: pd.DataFrame
    problems: pd.DataFrame
    common: pd.DataFrame
    goals: pd.DataFrame
    abilities: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    style: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    style_notes: tuple[str, ...] = ()

    @property
    def calls(self) -> pd.DataFrame:
        return self.frames.calls

    @property
    def criteria(self) -> pd.DataFrame:
        return self.frames.criteria

    def agent(self, agent_id: str) -> pd.Series:
        """The agent's row of :attr:`agents`.

        Raises:
            ReportError: No agent with that id has calls in the period (the message suggests
                close ids).
        """
        rows = self.agents.loc[self.agents["agent_id"] == str(agent_id)]
        if rows.empty:
            close = difflib.get_close_matches(str(agent_id), self.agents["agent_id"].tolist(), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ReportError(f"agent {agent_id!r} has no calls in {self.period.label}{hint}")
        return rows.iloc[0]

    def resolve_agent(self, query: str) -> str:
        """The id of the agent a coach typed: an id, or a name (case-insensitive).

        An exact id wins; otherwise the whole name is matched ignoring case, then names
        containing the query.

        Raises:
            ReportError: No agent matches (the message suggests close ids and names), or
                several do (the message lists them).
        """
        text = str(query).strip()
        ids = self.agents["agent_id"].astype(str)
        if (ids == text).any():
            return text
        names = self.agents["agent_name"].astype(str)
        folded = names.str.casefold()
        for hit in (folded == text.casefold(), folded.str.contains(text.casefold(), regex=False)):
            if hit.sum() == 1:
                return str(ids[hit].iloc[0])
            if hit.sum() > 1:
                listed = "; ".join(f"{i} ({n})" for i, n in sorted(zip(ids[hit], names[hit])))
                raise ReportError(f"{query!r} matches {int(hit.sum())} agents: {listed}; give the id")
        close = difflib.get_close_matches(text, ids.tolist() + names.tolist(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ReportError(f"agent {query!r} has no calls in {self.period.label} (no agent has that id or name){hint}")

    def agent_calls(self, agent_id: str) -> pd.DataFrame:
        """The agent's calls in the period, oldest first."""
        return self.calls.loc[self.calls["agent_id"] == str(agent_id)]

    @property
    def previous_period(self) -> Period:
        """The period of equal length before :attr:`period` that agents are compared with."""
        return self.options.previous_period(self.period)

    def agent_problems(self, agent_id: str, significant_only: bool = True) -> pd.DataFrame:
        """The agent's rows of the individual problem table, costliest first (``priority``)."""
        rows = self.problems.loc[self.problems["agent_id"] == str(agent_id)]
        return rows.loc[rows["significant"]] if significant_only else rows

    def ranked_calls(self, n: int, worst: bool = True, agent_id: str | None = None) -> pd.DataFrame:
        """Each agent's ``n`` lowest (or highest) scoring calls, most recent first among ties.

        Ranking needs ``options.min_list_calls`` calls: below that an agent has no best calls
        at all (the "best" of two calls says nothing), and their calls to review are simply
        their calls, lowest score first, with ``ranked`` False. A call that failed a critical
        criterion (score zeroed) is never among the best.

        Args:
            n: Calls per agent.
            worst: Lowest scores when True, highest when False.
            agent_id: Only this agent.

        Returns:
            Rows of the calls table plus ``ranked`` (whether the agent had enough calls for
            the list to be a ranking).
        """
        calls = self.calls if agent_id is None else self.agent_calls(agent_id)
        counts = calls.groupby("agent_id")["call_id"].transform("size")
        enough = (counts >= self.options.min_list_calls).to_numpy()
        if not worst:
            zeroed = calls["critical_failed"].to_numpy(dtype=bool) | (calls["call_score"].to_numpy() <= 0)
            calls = calls.loc[enough & ~zeroed]
            enough = np.ones(len(calls), dtype=bool)
        calls = calls.assign(ranked=enough)
        ordered = calls.sort_values(["call_score", "started_at"], ascending=[worst, False], kind="stable")
        return ordered.groupby("agent_id", sort=False).head(n).reset_index(drop=True)


def _latest_team(calls: pd.DataFrame) -> pd.DataFrame:
    last = calls.drop_duplicates("agent_id", keep="last").set_index("agent_id")
    return last[["agent_name", "team"]]


def analyse(
    frames: Frames,
    options: StatsOptions | None = None,
    targets: Iterable[Target] = (),
    abilities: Mapping[str, tuple[str, ...]] | None = None,
) -> Analysis:
    """Compute the statistics of a period.

    Args:
        frames: Prepared frames (see :mod:`qa_pipeline.stats.frames`); may span more than the
            period: goals use their own periods, and agents are compared with the previous
            period of equal length.
        options: Statistics options; defaults to :class:`StatsOptions`.
        targets: Goals to assess (see :mod:`qa_pipeline.stats.goals`).
        abilities: Ability name → criterion ids (the scorecard's ``abilities:`` block), for
            the ability profiles; None = no ability profile.

    Raises:
        ReportError: There are no calls in the period.
    """
    opts = options or StatsOptions()
    period = opts.resolve_period(frames.calls["started_at"])
    sub = frames.between(period.start_ts, period.end_ts)
    if sub.calls.empty:
        raise ReportError(f"no calls in the period {period.label}")
    # An agent who changed teams is reported in their latest team, so that each agent is one row.
    who = _latest_team(sub.calls)
    calls = sub.calls.assign(team=sub.calls["agent_id"].map(who["team"]), agent_name=sub.calls["agent_id"].map(who["agent_name"]))
    criteria = sub.criteria.assign(team=sub.criteria["agent_id"].map(who["team"]))
    sub = Frames(calls, criteria)
    origin = period.start_ts
    log.info("analysing %d calls of %d agents over %s", len(calls), len(who), period.label)

    agents = describe_scores(calls, ["agent_id"]).set_index("agent_id")
    agents.insert(0, "team", who["team"].reindex(agents.index))
    agents.insert(0, "agent_name", who["agent_name"].reindex(agents.index))
    # One pass over the criterion rows; every other pass-rate table is a roll-up of this one.
    rates = pass_rates(criteria, ["team", "agent_id"])
    agents["pass_rate"] = pooled_pass_rate(rates, ["agent_id"]).set_index("agent_id")["pass_rate"]
    need_calls, need_days = opts.min_trend_calls, opts.min_trend_days
    trend = trend_table(calls, ["agent_id"], "call_score", origin, opts.alpha, min_calls=need_calls, min_days=need_days)
    agents = agents.join(trend.set_index("agent_id"))
    aht = trend_table(calls, ["agent_id"], "duration_s", origin, opts.alpha, robust=False, min_calls=need_calls, min_days=need_days)
    agents = agents.join(
        aht.set_index("agent_id")[["slope_per_week", "slope_p"]].rename(
            columns={"slope_per_week": "aht_slope_per_week", "slope_p": "aht_slope_p"}
        )
    )
    previous = opts.previous_period(period)
    before = frames.between(previous.start_ts, previous.end_ts)
    agents = agents.join(
        compare_periods(calls, criteria, before.calls, before.criteria, opts.alpha, opts.min_compare_calls)
    )
    agents = agents.reset_index()
    # Rank, quartile and z only among agents with enough calls: five lucky calls are no rank 1.
    eligible = agents["n"] >= opts.min_calls
    g = agents["mean"].where(eligible).groupby(agents["team"])
    agents["rank"] = g.rank(ascending=False, method="min").astype("Int64")
    agents["team_size"] = g.transform("count").astype(int)
    agents["quartile"] = np.ceil(4 * agents["rank"].astype(float) / agents["team_size"]).clip(1, 4).astype("Int64")
    agents["z"] = (agents["mean"] - g.transform("mean")) / g.transform("std")
    agents.loc[~eligible, "z"] = np.nan
    agents = coaching_flags(agents, opts.min_calls, opts.cv_factor)

    limits = control_limits(calls, min_calls=opts.min_limit_calls)
    outliers = out_of_limits(calls, limits)
    agents["out_of_limits"] = agents["agent_id"].map(outliers.groupby("agent_id").size()).fillna(0).astype(int)
    problems = individual_problems(criteria, opts.alpha, opts.examples, rates, min_calls=opts.min_problem_calls)
    problems = rank_by_impact(problems, criteria, agents.set_index("agent_id")["n"])
    sig = problems.loc[problems["significant"]].groupby("agent_id").size()
    agents["problems"] = agents["agent_id"].map(sig).fillna(0).astype(int)
    agents = agents.sort_values(["team", "rank", "mean", "agent_id"], ascending=[True, True, False, True], kind="stable",
                                na_position="last").reset_index(drop=True)

    teams = describe_scores(calls, ["team"]).set_index("team")
    teams["pass_rate"] = pooled_pass_rate(rates, ["team"]).set_index("team")["pass_rate"]
    teams = teams.join(
        trend_table(calls, ["team"], "call_score", origin, opts.alpha, min_calls=need_calls, min_days=need_days).set_index("team")
    )
    # The previous period's calls counted in each agent's latest team, like this period's.
    before_calls = before.calls.assign(team=before.calls["agent_id"].map(who["team"]).fillna(before.calls["team"]))
    before_crit = before.criteria.assign(team=before.criteria["agent_id"].map(who["team"]).fillna(before.criteria["team"]))
    teams = teams.join(
        compare_periods(calls, criteria, before_calls, before_crit, opts.alpha, opts.min_compare_calls, by="team")
    )
    teams["agents"] = agents.groupby("team").size()
    counts = pd.crosstab(agents["team"], agents["flag"])
    incons = agents.groupby("team")["inconsistent"].sum()
    for flag in Flag:
        col = incons if flag is Flag.INCONSISTENT else counts.get(flag.value)
        teams[f"flag_{flag.value}"] = (col.reindex(teams.index) if col is not None else 0)
        teams[f"flag_{flag.value}"] = teams[f"flag_{flag.value}"].fillna(0).astype(int)
    teams = teams.reset_index()

    centre = describe_scores(calls)
    centre["pass_rate"] = pooled_pass_rate(rates).set_index("scope")["pass_rate"].reindex(centre["scope"]).to_numpy()
    centre_trend = trend_table(calls, [], "call_score", origin, opts.alpha, min_calls=need_calls, min_days=need_days)
    centre = centre.merge(centre_trend, on="scope")
    centre["agents"] = len(agents)
    centre["teams"] = len(teams)

    team_criteria = rollup_rates(rates, ["team"])
    agent_criteria = rates.merge(
        team_criteria[["team", "criterion_id", "pass_rate"]].rename(columns={"pass_rate": "team_pass_rate"}),
        on=["team", "criterion_id"],
        how="left",
    )
    goals = goal_attainment(frames, tuple(targets), period.end_ts, opts.min_trend_calls, opts.min_trend_days)
    style, style_notes = style_profile(calls, opts.min_calls)

    return Analysis(
        period=period,
        options=opts,
        frames=sub,
        agents=agents,
        teams=teams,
        centre=centre,
        agent_criteria=agent_criteria,
        team_criteria=team_criteria,
        weekly=weekly_means(calls, ["agent_id"], "call_score"),
        team_weekly=weekly_means(calls, ["team"], "call_score"),
        weekly_aht=weekly_means(calls, ["agent_id"], "duration_s"),
        team_weekly_aht=weekly_means(calls, ["team"], "duration_s"),
        weekly_criteria=weekly_pass_rates(criteria, ["agent_id"]),
        limits=limits,
        outliers=outliers,
        problems=problems,
        common=common_problems(
            criteria, opts.common_call_rate, opts.common_agent_share, opts.agent_fail_rate, opts.min_calls, rates,
            min_criterion_calls=opts.min_common_calls, min_fails=opts.min_common_fails,
        ),
        goals=goals,
        abilities=ability_profile(rates, abilities or {}, opts.min_problem_calls),
        style=style,
        style_notes=style_notes,
    )
