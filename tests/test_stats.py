"""Statistics against values computed by hand (or by formulas independent of the code)."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from qa_pipeline.errors import ConfigError, ReportError
from qa_pipeline.stats import (
    StatsOptions,
    Target,
    analyse,
    coaching_flags,
    common_problems,
    control_limits,
    describe_scores,
    fisher_greater,
    goal_attainment,
    individual_problems,
    load_frames,
    load_targets,
    ols_by_group,
    out_of_limits,
    parse_evidence,
    period_bounds,
    prepare_calls,
    prepare_frames,
    robust_by_group,
    trend_table,
    write_frames,
)
from qa_pipeline.synthetic_results import SynthStoreOptions, synth_frames

DAY0 = pd.Timestamp("2026-11-02 10:00")
ROOT = Path(__file__).resolve().parent.parent


def make_calls(rows: list[tuple[str, str, int, float]], duration: float = 300.0) -> pd.DataFrame:
    """Calls from (agent, team, day, score) tuples, at 10:00 on each day."""
    return pd.DataFrame(
        {
            "call_id": [f"c{i:05d}" for i in range(len(rows))],
            "agent_id": [r[0] for r in rows],
            "team": [r[1] for r in rows],
            "started_at": [DAY0 + pd.Timedelta(days=r[2]) for r in rows],
            "duration_s": duration,
            "call_score": [r[3] for r in rows],
        }
    )


def no_criteria() -> pd.DataFrame:
    return pd.DataFrame({"call_id": [], "criterion_id": [], "verdict": []})


# ----------------------------------------------------------------------------- describe


def test_describe_scores_by_hand() -> None:
    calls = prepare_calls(make_calls([("a", "t", d, s) for d, s in enumerate([60, 70, 80, 90])]))
    row = describe_scores(calls, ["agent_id"]).iloc[0]
    std = math.sqrt((15**2 + 5**2 + 5**2 + 15**2) / 3)  # sample standard deviation
    assert row["n"] == 4
    assert row["mean"] == pytest.approx(75.0)
    assert row["std"] == pytest.approx(std)
    assert row["cv"] == pytest.approx(std / 75.0)
    assert row["cv"] == pytest.approx(0.172133, abs=1e-6)
    assert (row["median"], row["min"], row["max"]) == (75.0, 60.0, 90.0)
    assert row["aht_s"] == pytest.approx(300.0)


# ----------------------------------------------------------------------------- trend


def test_ols_slope_per_week_ci_and_p_by_hand() -> None:
    # One call a week: x = 0, 1, 2, 3 weeks.
    calls = prepare_calls(make_calls([("a", "t", 7 * w, s) for w, s in enumerate([60, 62, 67, 71])]))
    out = trend_table(calls, ["agent_id"], "call_score", DAY0, alpha=0.05).iloc[0]
    # x̄ = 1.5, ȳ = 65, Sxy = 19, Sxx = 5 → slope 3.8/week, intercept 59.3.
    assert out["slope_per_week"] == pytest.approx(3.8)
    assert out["intercept"] == pytest.approx(59.3)
    # Residuals 0.7, -1.1, 0.1, 0.3 → SSE 1.8; se = sqrt(1.8 / 2 / 5).
    se = math.sqrt(0.18)
    t = 3.8 / se
    # Student t with 2 degrees of freedom has closed forms for the tail and the quantile.
    p = 1 - t / math.sqrt(t * t + 2)
    q975 = 0.95 / math.sqrt(2 * 0.975 * 0.025)
    assert out["slope_p"] == pytest.approx(p, rel=1e-9)
    assert out["slope_p"] == pytest.approx(0.012237, abs=1e-6)
    assert out["slope_ci_low"] == pytest.approx(3.8 - q975 * se, rel=1e-9)
    assert out["slope_ci_high"] == pytest.approx(3.8 + q975 * se, rel=1e-9)


def test_theil_sen_and_kendall_on_a_tiny_series_by_hand() -> None:
    # Weekly points with one outlier. The ten pairwise slopes are
    # 2, 0.5, 5/3, 5, -1, 1.5, 6, 4, 9.5, 15 → median (2 + 4) / 2 = 3 (OLS would give 4.3);
    # nine of ten pairs rise → Kendall's tau = (9 - 1) / 10 = 0.8.
    calls = prepare_calls(make_calls([("a", "t", 7 * w, s) for w, s in enumerate([10, 12, 11, 15, 30])]))
    out = trend_table(calls, ["agent_id"], "call_score", DAY0).iloc[0]
    assert out["theil_slope"] == pytest.approx(3.0)
    assert out["slope_per_week"] == pytest.approx(4.3)
    assert out["kendall_tau"] == pytest.approx(0.8)
    assert out["theil_low"] <= 3.0 <= out["theil_high"]


def test_robust_trend_uses_daily_means() -> None:
    # Two calls a day averaging 50, 52, 54, 56: Theil–Sen on daily means is exactly 2/day.
    keys = np.array(["a"] * 8)
    days = np.repeat(np.arange(4), 2)
    x = (days + np.tile([0.1, 0.6], 4)) / 7
    y = np.array([40, 60, 42, 62, 44, 64, 46, 66], dtype=float)
    out = robust_by_group(keys, x, y).loc["a"]
    assert out["theil_slope"] == pytest.approx(14.0)  # 2 points/day = 14/week
    assert out["kendall_tau"] == pytest.approx(1.0)
    assert out["days"] == 4


def test_vectorised_ols_matches_linregress() -> None:
    rng = np.random.default_rng(3)
    keys = np.repeat(["a", "b", "c"], [30, 7, 50])
    x = rng.uniform(0, 8, len(keys))
    y = 70 + rng.normal(0, 10, len(keys)) + np.where(keys == "a", 2.0, -1.0) * x
    out = ols_by_group(keys, x, y)
    for k in ("a", "b", "c"):
        ref = sps.linregress(x[keys == k], y[keys == k])
        assert out.loc[k, "slope"] == pytest.approx(ref.slope)
        assert out.loc[k, "intercept"] == pytest.approx(ref.intercept)
        assert out.loc[k, "p_value"] == pytest.approx(ref.pvalue)
        assert out.loc[k, "stderr"] == pytest.approx(ref.stderr)


def test_too_few_points_give_no_trend() -> None:
    out = ols_by_group(np.array(["a", "a"]), np.array([0.0, 1.0]), np.array([50.0, 60.0]))
    assert math.isnan(out.loc["a", "slope"]) and math.isnan(out.loc["a", "p_value"])


# ----------------------------------------------------------------------------- flags


@pytest.fixture(scope="module")
def constructed() -> pd.DataFrame:
    """A team whose agents each show one planted pattern over 40 days, one call a day."""
    rng = np.random.default_rng(11)
    wiggle = np.tile([2.0, -1.0, -2.0, 1.0], 10)  # zero-mean, no trend
    rows: list[tuple[str, str, int, float]] = []
    series = {
        "low_improving": 50 + 0.5 * np.arange(40) + wiggle,
        "top_declining": 95 - 0.4 * np.arange(40) + wiggle,
        "flat_noisy": np.clip(75 + rng.normal(0, 8, 40), 0, 100),
        "steady_mid": 80 + wiggle,
        "low_flat": 55 + wiggle,
        "erratic": np.tile([45.0, 100.0], 20),
    }
    for agent, scores in series.items():
        rows += [(agent, "T", d, float(s)) for d, s in enumerate(scores)]
    rows += [("few", "T", d, 90.0) for d in range(5)]
    frames = prepare_frames(make_calls(rows), no_criteria())
    a = analyse(frames, StatsOptions(period_from=DAY0.date(), period_to=(DAY0 + pd.Timedelta(days=39)).date()))
    return a.agents.set_index("agent_id")


def test_improving_low_agent_is_encouraged(constructed: pd.DataFrame) -> None:
    row = constructed.loc["low_improving"]
    assert row["direction"] == "improving"
    assert row["position"] == "below"
    assert row["flag"] == "encourage"


def test_declining_top_agent_gets_an_early_warning(constructed: pd.DataFrame) -> None:
    row = constructed.loc["top_declining"]
    assert row["direction"] == "declining"
    assert row["mean"] > row["team_median"]
    assert row["rank"] == 1
    assert row["flag"] == "early_warning"


def test_flat_noisy_series_is_not_called_a_trend(constructed: pd.DataFrame) -> None:
    row = constructed.loc["flat_noisy"]
    assert row["slope_p"] >= 0.05
    assert row["direction"] == "flat"
    assert row["flag"] == "recognise"  # above the median, not declining


def test_other_flags(constructed: pd.DataFrame) -> None:
    assert constructed.loc["steady_mid", "flags"] == ("recognise",)
    assert constructed.loc["low_flat", "flags"] == ("coach",)
    assert constructed.loc["erratic", "flags"] == ("coach", "inconsistent")
    assert constructed.loc["few", "flags"] == ("insufficient_data",)
    # The team median is over agents with enough calls: the five-call agent does not count.
    means = constructed.loc[constructed["n"] >= 8, "mean"]
    assert constructed["team_median"].iloc[0] == pytest.approx(means.median())


def test_significant_ols_needs_theil_sen_to_agree() -> None:
    agents = pd.DataFrame(
        {"team": "T", "n": [20, 20, 20, 20], "mean": [60, 70, 80, 90], "cv": 0.1,
         "direction": ["improving", "flat", "declining", "flat"]}
    )
    out = coaching_flags(agents, min_calls=8, cv_factor=1.5)
    assert out["flag"].tolist() == ["encourage", "coach", "early_warning", "recognise"]
    from qa_pipeline.stats import classify

    # Significant OLS slope but Theil–Sen flat or opposite: no trend.
    assert classify([2.0, 2.0, -2.0], [0.001, 0.001, 0.001], [0.0, -0.5, -1.0], 0.05).tolist() == ["flat", "flat", "declining"]
    # A rank test alone can carry the direction (zeros from critical failures widen the
    # least-squares interval), but never against the sign of either slope.
    assert classify([2.0, 2.0, -2.0, 2.0], [0.06, 0.06, 0.06, 0.06], [1.0, -0.5, -1.0, 1.0], 0.05,
                    [0.02, 0.02, 0.02, 0.2]).tolist() == ["improving", "flat", "declining", "flat"]


def test_rank_quartile_and_z(constructed: pd.DataFrame) -> None:
    # Ranked among the agents with enough calls only.
    few = constructed.loc["few"]
    assert pd.isna(few["rank"]) and pd.isna(few["quartile"]) and pd.isna(few["z"])
    full = constructed.loc[constructed["n"] >= 8]
    assert sorted(full["rank"]) == list(range(1, len(full) + 1))
    top = full.loc[full["rank"] == 1].iloc[0]
    assert top["quartile"] == 1
    assert full.loc[full["rank"] == len(full), "quartile"].iloc[0] == 4
    means = full["mean"]
    expected = (means - means.mean()) / means.std(ddof=1)
    assert full["z"].to_numpy() == pytest.approx(expected.to_numpy())


# ----------------------------------------------------------------------------- control limits


def test_control_limits_and_calls_outside() -> None:
    scores = [80.0] * 10 + [82.0] * 10 + [20.0]
    calls = prepare_calls(make_calls([("a", "T", d, s) for d, s in enumerate(scores)]))
    lim = control_limits(calls).iloc[0]
    arr = np.array(scores)
    assert lim["mean"] == pytest.approx(arr.mean())
    assert lim["sd"] == pytest.approx(arr.std(ddof=1))
    assert lim["lcl3"] == pytest.approx(arr.mean() - 3 * arr.std(ddof=1))
    out = out_of_limits(calls, control_limits(calls))
    assert out["call_score"].tolist() == [20.0]
    z = (20 - arr.mean()) / arr.std(ddof=1)
    assert out.iloc[0]["z"] == pytest.approx(z)
    assert out.iloc[0]["zone"] == ("action" if abs(z) > 3 else "warning")
    assert out.iloc[0]["side"] == "low"


# ----------------------------------------------------------------------------- problems


def fisher_by_hand(fails: int, n: int, other_fails: int, other_n: int) -> float:
    """Upper tail of the hypergeometric distribution, with exact integer arithmetic."""
    total, failed = n + other_n, fails + other_fails
    denom = math.comb(total, n)
    return sum(math.comb(failed, k) * math.comb(total - failed, n - k) for k in range(fails, min(failed, n) + 1)) / denom


def test_fisher_p_value_against_independent_computation() -> None:
    p = fisher_greater(np.array([8]), np.array([20]), np.array([10]), np.array([80]))[0]
    assert p == pytest.approx(fisher_by_hand(8, 20, 10, 80), rel=1e-12)
    assert p == pytest.approx(0.0082273462, rel=1e-8)
    assert np.isnan(fisher_greater(np.array([1]), np.array([5]), np.array([0]), np.array([0]))[0])


def make_criteria_case() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Agent 'bad' fails greeting on 8 of 20 calls; four colleagues fail 10 of 80 between them."""
    call_rows, crit_rows = [], []
    plan = {"bad": 8, "b": 3, "c": 3, "d": 2, "e": 2}
    k = 0
    for agent, fails in plan.items():
        for day in range(20):
            cid = f"{agent}-{day:02d}"
            call_rows.append((cid, agent, day))
            crit_rows.append((cid, "greeting", "fail" if day >= 20 - fails else "pass"))
            crit_rows.append((cid, "closing", "na" if day % 2 else ("fail" if day % 4 == 0 else "pass")))
            k += 1
    calls = pd.DataFrame(
        {
            "call_id": [r[0] for r in call_rows],
            "agent_id": [r[1] for r in call_rows],
            "team": "T",
            "started_at": [DAY0 + pd.Timedelta(days=r[2]) for r in call_rows],
            "duration_s": 200.0,
            "call_score": 80.0,
        }
    )
    criteria = pd.DataFrame(crit_rows, columns=["call_id", "criterion_id", "verdict"])
    return calls, criteria


def test_individual_problem_table() -> None:
    frames = prepare_frames(*make_criteria_case())
    table = individual_problems(frames.criteria, alpha=0.05, examples=3)
    row = table.loc[(table["agent_id"] == "bad") & (table["criterion_id"] == "greeting")].iloc[0]
    assert (row["fails"], row["n"], row["team_fails"], row["team_n"]) == (8, 20, 10, 80)
    assert row["rate"] == pytest.approx(0.4)
    assert row["team_rate"] == pytest.approx(0.125)
    assert row["diff"] == pytest.approx(0.275)
    assert row["p_value"] == pytest.approx(fisher_by_hand(8, 20, 10, 80), rel=1e-12)
    # Two criteria for this agent: BH multiplies the smaller p by 2 / 1.
    closing_p = table.loc[(table["agent_id"] == "bad") & (table["criterion_id"] == "closing"), "p_value"].iloc[0]
    assert row["q_value"] == pytest.approx(min(1.0, row["p_value"] * 2, max(row["p_value"] * 2, closing_p)))
    assert row["significant"]
    # The most recent failures come first.
    assert row["example_calls"] == ("bad-19", "bad-18", "bad-17")
    ok = table.loc[(table["agent_id"] == "b") & (table["criterion_id"] == "greeting")].iloc[0]
    assert not ok["significant"] and ok["example_calls"] == ()
    # na rows do not count: closing applies to 10 of each agent's 20 calls.
    assert table.loc[table["criterion_id"] == "closing", "n"].unique().tolist() == [10]


def test_common_problems() -> None:
    frames = prepare_frames(*make_criteria_case())
    table = common_problems(frames.criteria, call_rate=0.2, agent_share=0.3, agent_fail_rate=0.25, min_calls=8)
    by = table.set_index("criterion_id")
    # Greeting: 18 of 100 calls fail (< 20 %) and one agent of five fails it often (< 30 %).
    assert by.loc["greeting", "fail_rate"] == pytest.approx(0.18)
    assert by.loc["greeting", "agent_share"] == pytest.approx(0.2)
    assert not by.loc["greeting", "common"]
    # Closing: 25 of 50 applicable verdicts fail, every agent at 50 %.
    assert by.loc["closing", "fail_rate"] == pytest.approx(0.5)
    assert by.loc["closing", "agents_failing"] == 5
    assert by.loc["closing", "common"] and by.loc["closing", "rank"] == 1


# ----------------------------------------------------------------------------- goals


def test_period_bounds() -> None:
    assert period_bounds("2026-11") == (date(2026, 11, 1), date(2026, 11, 30))
    assert period_bounds("2026Q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert period_bounds("2027-q1") == (date(2027, 1, 1), date(2027, 3, 31))
    assert period_bounds("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    with pytest.raises(ValueError, match="month YYYY-MM or a quarter"):
        period_bounds("2026-13")


def test_goal_attainment_projects_the_trend() -> None:
    # Scores 70, 71, … 84 at noon on 1–15 November; judged at midnight after the 15th.
    calls = pd.DataFrame(
        {
            "call_id": [f"n{d}" for d in range(15)],
            "agent_id": "a",
            "team": "T",
            "started_at": [pd.Timestamp("2026-11-01 12:00") + pd.Timedelta(days=d) for d in range(15)],
            "duration_s": 300.0,
            "call_score": [70.0 + d for d in range(15)],
        }
    )
    frames = prepare_frames(calls, no_criteria())
    targets = [
        Target("agent", "a", "2026-11", "qa_score", 80.0),
        Target("agent", "a", "2026-11", "qa_score", 90.0),
        Target("team", "T", "2026-10", "qa_score", 50.0),
        Target("team", "T", "2026-11", "aht_s", 240.0, "at_most"),
    ]
    out = goal_attainment(frames, targets, pd.Timestamp("2026-11-16"))
    # Half the month has passed at a mean of 77; the fitted line (x in days, 69.5 + x) averages
    # 92 over the remaining half (its midpoint is day 22.5): projected 0.5·77 + 0.5·92 = 84.5.
    assert out.loc[0, "elapsed"] == pytest.approx(0.5)
    assert out.loc[0, "actual"] == pytest.approx(77.0)
    assert out.loc[0, "projected"] == pytest.approx(84.5)
    assert out["status"].tolist() == ["on_track", "off_track", "no_data", "off_track"]
    done = goal_attainment(frames, targets[:1], pd.Timestamp("2026-12-05"))
    assert done.loc[0, "status"] == "missed"  # the month is over at a mean of 77
    assert done.loc[0, "projected"] == pytest.approx(77.0)


def test_load_targets_yaml_and_csv(tmp_path: Path) -> None:
    y = tmp_path / "targets.yaml"
    y.write_text(
        "targets:\n"
        "  - {agent: A001, period: 2026-11, metric: qa_score, target: 85}\n"
        "  - {team: North, period: 2026Q4, metric: 'pass_rate:empathy', target: 80}\n"
        "  - {team: North, period: 2026Q4, metric: aht_s, target: 360}\n",
        encoding="utf-8",
    )
    t = load_targets(y)
    assert t[0] == Target("agent", "A001", "2026-11", "qa_score", 85.0, "at_least")
    assert t[1].target == pytest.approx(0.8)  # a percentage read as a share
    assert t[2].direction == "at_most"
    c = tmp_path / "targets.csv"
    c.write_text("agent,team,period,metric,target,direction\nA001,,2026-11,qa_score,85,\n,North,2026Q4,aht_s,300,at_most\n")
    assert [x.scope for x in load_targets(c)] == ["agent", "team"]
    bad = tmp_path / "bad.csv"
    bad.write_text("agent,team,period,metric,target\nA001,,2026-11,speed,85\n")
    with pytest.raises(ConfigError, match=r"bad.csv: row 2: metric must be"):
        load_targets(bad)
    with pytest.raises(ConfigError, match="cannot read targets file"):
        load_targets(tmp_path / "missing.yaml")


def test_goals_in_the_analysis() -> None:
    synth = synth_frames(SynthStoreOptions(agents=6, days=60, seed=2))
    goals = [Target("agent", "A001", "2026-10", "qa_score", 50.0), Target("team", "North", "2026-10", "pass_rate:greeting", 0.5)]
    a = analyse(synth.frames, StatsOptions(period_to="2026-10-15"), goals)
    assert a.goals["status"].tolist() == ["on_track", "on_track"]
    assert a.goals["n"].min() > 0


# ----------------------------------------------------------------------------- frames


def test_missing_columns_are_named() -> None:
    calls = make_calls([("a", "t", 0, 50.0)]).drop(columns=["team", "call_score"])
    with pytest.raises(ReportError, match=r"calls frame: missing required column\(s\) team, call_score"):
        prepare_frames(calls, no_criteria())
    good = make_calls([("a", "t", 0, 50.0)])
    with pytest.raises(ReportError, match=r"criteria frame: missing required column\(s\) verdict"):
        prepare_frames(good, pd.DataFrame({"call_id": ["c00000"], "criterion_id": ["x"]}))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c, k: (c, k.assign(verdict=["maybe"])), "verdict must be pass, fail or na; got 'maybe'"),
        (lambda c, k: (c, k.assign(call_id=["nope"])), "name calls that are not in the calls table, e.g. 'nope'"),
        (lambda c, k: (c.assign(call_score=[150.0]), k), "call_score outside 0–100"),
        (lambda c, k: (pd.concat([c, c]), k), "call_id 'c00000' appears more than once"),
        (lambda c, k: (c, pd.concat([k, k])), "criterion 'x' appears twice for call 'c00000'"),
        (lambda c, k: (c.assign(duration_s=["long"]), k), "column duration_s has 1 non-numeric value"),
        (lambda c, k: (c.assign(started_at=["yesterday"]), k), "started_at has values that are not dates"),
    ],
)
def test_invalid_frames_are_refused(change, message: str) -> None:
    calls = make_calls([("a", "t", 0, 50.0)])
    crit = pd.DataFrame({"call_id": ["c00000"], "criterion_id": ["x"], "verdict": ["pass"]})
    with pytest.raises(ReportError, match=message):
        prepare_frames(*change(calls, crit))


def test_times_are_normalised_to_naive_utc() -> None:
    calls = make_calls([("a", "t", 0, 50.0)])
    calls["started_at"] = ["2026-11-02T12:00:00+02:00"]
    out = prepare_calls(calls)
    assert out["started_at"].iloc[0] == pd.Timestamp("2026-11-02 10:00")
    assert out["started_at"].dt.tz is None
    assert out["agent_name"].iloc[0] == "a"  # defaults to the id
    assert out["transcript_path"].iloc[0] is None


def test_csv_round_trip_keeps_evidence_and_chinese(tmp_path: Path) -> None:
    synth = synth_frames(SynthStoreOptions(agents=6, days=5, seed=1))
    calls_path, crit_path = write_frames(synth.frames, tmp_path)
    back = load_frames(calls_path, crit_path)
    assert len(back.calls) == len(synth.frames.calls)
    assert "王小明" in set(back.calls["agent_name"])
    zh = back.criteria.loc[(back.criteria["agent_id"] == "A006") & (back.criteria["verdict"] == "pass")].iloc[0]
    items = parse_evidence(zh["evidence"])
    assert items and any("\u4e00" <= ch <= "\u9fff" for ch in items[0].text)
    pd.testing.assert_series_equal(back.calls["call_score"], synth.frames.calls["call_score"])
    with pytest.raises(ReportError, match="evidence is not JSON"):
        parse_evidence("[{oops")


def test_options_are_validated() -> None:
    with pytest.raises(ConfigError, match="alpha must be between 0 and 1"):
        StatsOptions.from_dict({"alpha": 2})
    with pytest.raises(ConfigError, match="unknown option"):
        StatsOptions.from_dict({"alpah": 0.1})
    with pytest.raises(ConfigError, match="is after period_to"):
        StatsOptions.from_dict({"period_from": "2026-12-01", "period_to": "2026-11-01"})
    opts = StatsOptions(period_to="2026-11-30")
    period = opts.resolve_period(pd.Series([], dtype="datetime64[ns]"))
    assert (period.start, period.end, period.days) == (date(2026, 11, 1), date(2026, 11, 30), 30)


# ----------------------------------------------------------------------------- the synthetic store


def test_synthetic_store_is_deterministic_and_carries_its_planted_truth() -> None:
    one = synth_frames(SynthStoreOptions(agents=12, days=60, seed=0))
    two = synth_frames(SynthStoreOptions(agents=12, days=60, seed=0))
    pd.testing.assert_frame_equal(one.frames.calls, two.frames.calls)
    assert one.profile("A001").profile == "improving" and one.profile("A002").profile == "declining"
    a = analyse(one.frames, StatsOptions(period_from="2026-09-01", period_to="2026-10-30"))
    agents = a.agents.set_index("agent_id")
    assert agents.loc["A001", "flag"] == "encourage"
    assert agents.loc["A002", "flag"] == "early_warning"
    assert agents.loc["A003", "flag"] == "recognise"
    assert agents.loc["A004", "inconsistent"]
    assert agents.loc["A005", "flag"] == "coach"
    problems = a.agent_problems("A005")
    assert "active_listening" in set(problems["criterion_id"])
    assert a.common.iloc[0]["criterion_id"] == "empathy" and a.common.iloc[0]["common"]


def test_default_period_is_the_last_30_days_of_data() -> None:
    synth = synth_frames(SynthStoreOptions(agents=3, days=45, seed=4))
    a = analyse(synth.frames)
    last = synth.frames.calls["started_at"].max().date()
    assert a.period.end == last and a.period.days == 30
    assert a.calls["started_at"].min() >= pd.Timestamp(a.period.start)
    with pytest.raises(ReportError, match="no calls in the period"):
        analyse(synth.frames, StatsOptions(period_from="2030-01-01", period_to="2030-01-31"))
    with pytest.raises(ReportError, match=r"agent 'A0O1' has no calls .* did you mean A001"):
        a.agent("A0O1")


def test_large_dataset_is_fast() -> None:
    # 20,000 calls / 100 agents: the vectorised statistics stay well under a second or two.
    import time

    synth = synth_frames(SynthStoreOptions(agents=100, days=50, calls_per_day=4, teams=4, seed=5))
    start = time.perf_counter()
    a = analyse(synth.frames, StatsOptions(period_from="2026-09-01", period_to="2026-10-20"))
    elapsed = time.perf_counter() - start
    assert len(a.agents) == 100 and len(a.calls) > 18_000
    assert elapsed < 10.0


# ----------------------------------------------------------------------------- the method's traps


def _series_calls(series: dict[str, np.ndarray], day0: int = 0, team: str = "T") -> list[tuple[str, str, int, float]]:
    return [(agent, team, day0 + d, float(s)) for agent, scores in series.items() for d, s in enumerate(scores)]


def test_decline_is_flagged_whatever_the_rank() -> None:
    wiggle = np.tile([2.0, -1.0, -2.0, 1.0], 10)
    series = {
        # Slid from the top to the bottom: low now, and falling.
        "slider": 70 - 0.5 * np.arange(40) + wiggle,
        "top_slider": 98 - 0.3 * np.arange(40) + wiggle,
        "steady_a": 80 + wiggle,
        "steady_b": 78 + wiggle,
        "steady_low": 60 + wiggle,
    }
    frames = prepare_frames(make_calls(_series_calls(series)), no_criteria())
    a = analyse(frames, StatsOptions(period_from=DAY0.date(), period_to=(DAY0 + pd.Timedelta(days=39)).date()))
    flags = a.agents.set_index("agent_id")["flag"].to_dict()
    assert flags["slider"] == "declining"  # not the "coach" of a steadily weak agent
    assert flags["top_slider"] == "early_warning"
    assert flags["steady_low"] == "coach"
    assert a.agents.set_index("agent_id").loc["slider", "movement_basis"] == "trend"


def test_a_drop_from_the_previous_period_is_a_decline_without_a_trend_inside() -> None:
    wiggle = np.tile([3.0, -2.0, -3.0, 2.0], 5)
    before = {"drop": 90 + wiggle, "rise": 50 + wiggle, "same": 80 + wiggle, "same2": 75 + wiggle}
    now = {"drop": 72 + wiggle, "rise": 68 + wiggle, "same": 80 + wiggle, "same2": 75 + wiggle}
    rows = _series_calls(before, 0) + _series_calls(now, 20)
    frames = prepare_frames(make_calls(rows), no_criteria())
    opts = StatsOptions(period_from=(DAY0 + pd.Timedelta(days=20)).date(), period_to=(DAY0 + pd.Timedelta(days=39)).date())
    a = analyse(frames, opts)
    assert a.previous_period.start == DAY0.date() and a.previous_period.days == 20
    agents = a.agents.set_index("agent_id")
    assert agents.loc["drop", "direction"] == "flat"
    assert agents.loc["drop", "mean_change"] == pytest.approx(-18.0)
    assert agents.loc["drop", "mean_change_sig"] and agents.loc["drop", "movement_basis"] == "previous period"
    # 72 is below the team median (73.5 of 68, 72, 75 and 80): declining, not an early warning.
    assert agents.loc["drop", "flag"] == "declining"
    assert agents.loc["rise", "flag"] == "encourage"
    assert not agents.loc["same", "mean_change_sig"] and agents.loc["same", "flag"] == "recognise"


def test_period_comparison_tests_by_hand() -> None:
    from qa_pipeline.stats.compare import two_proportion_p, welch_p

    x, y = np.array([70.0, 75, 80, 72, 78, 74]), np.array([60.0, 65, 58, 70, 62])
    expected = sps.ttest_ind(x, y, equal_var=False).pvalue
    got = welch_p([x.mean()], [x.std(ddof=1)], [len(x)], [y.mean()], [y.std(ddof=1)], [len(y)])
    assert got[0] == pytest.approx(expected)
    # 80/100 against 60/100: pooled 0.7, z = 0.2 / sqrt(0.21 * 0.02).
    z = 0.2 / math.sqrt(0.7 * 0.3 * 0.02)
    assert two_proportion_p([80], [100], [60], [100])[0] == pytest.approx(2 * sps.norm.sf(z))
    assert math.isnan(welch_p([1.0], [0.0], [1], [2.0], [1.0], [5])[0])


def test_small_samples_show_no_findings() -> None:
    # Eight calls over three days: the demo's shape.
    rows = [("a", "T", d % 3, s) for d, s in enumerate([100.0, 40, 95, 20, 100, 0, 90, 60])]
    calls = make_calls(rows).assign(critical_failed=[False] * 5 + [True] + [False] * 2)
    crit = pd.DataFrame(
        {"call_id": ["c00001", "c00003"], "criterion_id": ["greeting", "greeting"], "verdict": ["fail", "fail"]}
    )
    frames = prepare_frames(calls, crit)
    a = analyse(frames, StatsOptions(period_from=DAY0.date(), period_to=(DAY0 + pd.Timedelta(days=2)).date()))
    row = a.agent("a")
    assert math.isnan(row["slope_per_week"]) and row["direction"] is None
    assert row["trend_note"] == "not enough calls yet (8, need 10)"
    assert math.isnan(a.teams.iloc[0]["slope_ci_low"]) and math.isnan(a.centre.iloc[0]["slope_per_week"])
    lim = a.limits.iloc[0]
    assert math.isnan(lim["lcl2"]) and lim["note"] == "not enough calls yet (8, need 20)"
    assert a.outliers.empty
    common = a.common.set_index("criterion_id")
    assert not common.loc["greeting", "common"] and common.loc["greeting", "note"] == "not enough calls yet (2, need 30)"
    assert not a.problems["significant"].any()
    best = a.ranked_calls(3, worst=False)
    assert 0.0 not in best["call_score"].tolist() and not best["critical_failed"].any()
    assert a.ranked_calls(3, worst=True)["call_score"].min() == 0.0
    assert a.ranked_calls(3)["ranked"].all()
    # Below the minimum: no best calls, and the calls to review are not called the worst.
    small = analyse(frames, StatsOptions(period_from=DAY0.date(), period_to=(DAY0 + pd.Timedelta(days=2)).date(), min_list_calls=9))
    assert small.ranked_calls(3, worst=False).empty
    review = small.ranked_calls(3)
    assert len(review) == 3 and not review["ranked"].any()


def test_control_limits_stay_on_the_score_scale() -> None:
    scores = [100.0] * 15 + [10.0] * 10
    lim = control_limits(prepare_calls(make_calls([("a", "T", d, s) for d, s in enumerate(scores)]))).iloc[0]
    assert lim["ucl2"] == 100.0 and lim["lcl3"] == 0.0 and lim["note"] is None


def test_problems_are_ranked_by_what_they_cost() -> None:
    from qa_pipeline.stats.problems import rank_by_impact

    rows = []
    for i in range(40):
        agent = "x" if i < 20 else "y"
        # x fails the 30-point criterion on 5 calls and the 10-point one on 15.
        rows += [(f"c{i}", agent, "big", "fail" if agent == "x" and i < 5 else "pass", 30.0),
                 (f"c{i}", agent, "small", "fail" if agent == "x" and i < 15 else "pass", 10.0)]
    crit = pd.DataFrame(rows, columns=["call_id", "agent_id", "criterion_id", "verdict", "max_points"])
    crit["points"] = np.where(crit["verdict"] == "pass", crit["max_points"], 0.0)
    calls = make_calls([(a, "T", i, 80.0) for i, a in enumerate(["x"] * 20 + ["y"] * 20)])
    calls["call_id"] = [f"c{i}" for i in range(40)]
    frames = prepare_frames(calls, crit.drop(columns=["agent_id"]))
    table = rank_by_impact(individual_problems(frames.criteria), frames.criteria)
    x = table.loc[table["agent_id"] == "x"].set_index("criterion_id")
    # big: 30 of 40 points lost on 5 of 20 calls = 75 × 0.25; small: 25 × 0.75.
    assert x.loc["big", "impact"] == pytest.approx(18.75) and x.loc["small", "impact"] == pytest.approx(18.75)
    assert x.loc["big", "points_lost"] == pytest.approx(75.0) and x.loc["small", "fail_share"] == pytest.approx(0.75)


def test_display_units() -> None:
    from qa_pipeline.stats import display as d

    assert d.duration(39) == "0:39" and d.duration(254) == "4:14" and d.duration(3725) == "1:02:05"
    assert d.points(4.26) == "+4.3 points" and d.points(-3.2) == "\u22123.2 points" and d.points(-0.01) == "0.0 points"
    assert d.per_week(-1.7) == "\u22121.7 points per week"
    assert d.signed_duration(-70) == "\u22121:10" and d.signed_duration(25) == "+0:25"
    assert d.percentage_points(0.05) == "+5 percentage points" and d.percent(float("nan")) == "–"


def test_agent_is_found_by_name() -> None:
    synth = synth_frames(SynthStoreOptions(agents=6, days=20, seed=3))
    a = analyse(synth.frames)
    assert a.resolve_agent("A003") == "A003"
    name = synth.profile("A002").agent_name
    assert a.resolve_agent(name.upper()) == "A002"
    assert a.resolve_agent(name.split()[0].lower()) == "A002"
    with pytest.raises(ReportError, match=r"'a' matches \d+ agents: A00"):
        a.resolve_agent("a")
    with pytest.raises(ReportError, match="agent 'Nobody' has no calls"):
        a.resolve_agent("Nobody")


# ----------------------------------------------------------------------------- goals in qa.toml


def test_goals_in_qa_toml(tmp_path: Path) -> None:
    from qa_pipeline.config import load_config

    (tmp_path / "goals.csv").write_text("agent,team,period,metric,target\nA001,,2026-10,qa_score,85\n", encoding="utf-8")
    (tmp_path / "qa.toml").write_text(
        '[goals]\nfile = "goals.csv"\n'
        '[[goals.targets]]\nteam = "North"\nperiod = "2026Q4"\nmetric = "pass_rate:empathy"\ntarget = 80\n'
        '[[goals.targets]]\nteam = "North"\nperiod = "2026Q4"\nmetric = "aht_s"\ntarget = 360\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path)
    assert [g.metric for g in config.goals] == ["qa_score", "pass_rate:empathy", "aht_s"]
    assert config.goals[1].target == pytest.approx(0.8) and config.goals[2].direction == "at_most"
    synth = synth_frames(SynthStoreOptions(agents=6, days=60, seed=2))
    goals = analyse(synth.frames, StatsOptions(period_to="2026-10-15"), config.goals).goals
    assert goals["label"].tolist() == [
        "Average QA score at least 85", "Empathy pass rate at least 80%", "Average handle time at most 6:00"
    ]
    assert goals["who"].tolist()[1:] == ["team North", "team North"] and goals["who"][0].startswith("agent ")
    assert goals["progress"].between(0, 1).all() and goals["projected_text"].str.len().min() > 0


@pytest.mark.parametrize(
    "body, message",
    [
        ('[goals]\ntargets = [{team = "N", period = "2026Q4", metric = "speed", target = 1}]\n', r"goals.targets\[1\].metric: metric must be"),
        ('[goals]\ntargets = [{team = "N", period = "2026Q4", metric = "qa_score"}]\n', r"goals.targets\[1\].target is missing"),
        ('[goals]\ntargets = [{team = "N", period = "Q4", metric = "qa_score", target = 1}]\n', r"goals.targets\[1\].period: period must be"),
        ('[goals]\ntargets = [{team = "N", period = "2026Q4", metric = "qa_score", target = 1, colour = 2}]\n', "unknown key.*colour"),
        ('[goals]\nfile = "nope.yaml"\n', "goals.file: no such goals file"),
        ('[goals]\nfiles = "x.yaml"\n', r"unknown key\(s\) files in \[goals\]"),
        ('goals = 3\n', r"\[goals\] must be a table"),
    ],
)
def test_goals_config_errors_name_file_and_key(tmp_path: Path, body: str, message: str) -> None:
    from qa_pipeline.config import load_config

    (tmp_path / "qa.toml").write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"qa.toml: .*{message}"):
        load_config(tmp_path)


# ----------------------------------------------------------------------------- profiles


def test_abilities_block_is_validated() -> None:
    from qa_pipeline.errors import ScorecardError
    from qa_pipeline.scorecard import load_scorecard, parse_scorecard

    card = load_scorecard(ROOT / "scorecards" / "default.en.yaml")
    assert list(card.abilities)[:2] == ["Listening", "Understanding"]
    assert "abilities" not in card.to_dict()  # reporting only: not in the content hash
    text = (ROOT / "scorecards" / "default.en.yaml").read_text(encoding="utf-8")
    bad = text.replace("Solving: [hold_etiquette, dead_air]", "Solving: [hold_etiquete]")
    with pytest.raises(ScorecardError, match=r"default.en.yaml:\d+: field 'abilities.Solving': unknown criterion 'hold_etiquete'; did you mean 'hold_etiquette'"):
        parse_scorecard(bad, source="default.en.yaml")
    with pytest.raises(ScorecardError, match="abilities.Solving': expected a non-empty list"):
        parse_scorecard(text.replace("Solving: [hold_etiquette, dead_air]", "Solving: []"), source="default.en.yaml")
    zh = load_scorecard(ROOT / "scorecards" / "default.zh.yaml")
    assert set(c for ids in zh.abilities.values() for c in ids) == set(c for ids in card.abilities.values() for c in ids)


def test_ability_and_style_profiles(tmp_path: Path) -> None:
    from qa_pipeline.stats.profiles import ability_profile, count_questions, style_profile

    rates = pd.DataFrame(
        {"team": "T", "agent_id": ["a", "a", "b", "b"], "criterion_id": ["x", "y", "x", "y"],
         "passes": [8, 2, 10, 9], "n": [10, 10, 10, 10]}
    )
    prof = ability_profile(rates, {"Listening": ("x", "y"), "Solving": ("y",)}, min_calls=8).set_index(["agent_id", "ability"])
    assert prof.loc[("a", "Listening"), "pass_rate"] == pytest.approx(0.5)
    assert prof.loc[("a", "Listening"), "team_pass_rate"] == pytest.approx(29 / 40)
    assert prof.loc[("b", "Solving"), "pass_rate"] == pytest.approx(0.9)
    t = tmp_path / "t.json"
    t.write_text(json.dumps({"turns": [{"speaker": "agent", "text": "Can I help?"}, {"speaker": "customer", "text": "Why?"},
                                       {"speaker": "agent", "text": "您还有别的问题吗"}, {"speaker": "agent", "text": "OK."}]}),
                 encoding="utf-8")
    assert count_questions(str(t)) == 2.0 and math.isnan(count_questions(None))
    calls = pd.DataFrame({"agent_id": ["a"] * 8 + ["b"] * 2, "team": "T", "agent_talk_share": [0.5] * 8 + [0.7] * 2,
                          "transcript_path": [str(t)] * 10})
    style, notes = style_profile(calls, min_calls=8)
    by = style.set_index(["agent_id", "measure"])
    assert by.loc[("a", "agent_talk_share"), "value_text"] == "50%"
    assert by.loc[("b", "agent_talk_share"), "note"] == "not enough calls yet (2, need 8)"
    assert by.loc[("a", "questions"), "value"] == 2.0
    assert any(n.startswith("Talk speed") for n in notes)


def test_cli_agent_by_name_and_with_too_little_data(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from qa_pipeline.cli.app import new_app
    from qa_pipeline.cli.report import agent as agent_command

    app = new_app("test")
    app.command("agent")(agent_command)
    app.command("noop")(lambda: None)
    synth = synth_frames(SynthStoreOptions(agents=4, days=40, seed=1))
    calls = synth.frames.calls.copy()
    # A newcomer with three calls, and two agents sharing a first name.
    extra = calls.iloc[-3:].assign(call_id=["n1", "n2", "n3"], agent_id="N9", agent_name="Nina New", team="North")
    calls = pd.concat([calls, extra], ignore_index=True)
    calls.loc[calls["agent_id"] == "A003", "agent_name"] = "Alice Other"
    paths = write_frames(prepare_frames(calls, synth.frames.criteria), tmp_path / "export")
    args = ["--calls", str(paths[0]), "--criteria", str(paths[1]), "--to", "2026-10-10", "--reports", str(tmp_path / "r")]
    env = {"COLUMNS": "200"}
    res = CliRunner().invoke(app, ["agent", "alice adams", *args], env=env)
    assert res.exit_code == 0, res.output
    assert "A001" in res.output and "This period against the previous one" in res.output
    assert "Average handle time" in res.output and "p=" not in res.output
    res = CliRunner().invoke(app, ["agent", "nina new", *args], env=env)
    assert res.exit_code == 0, res.output
    assert "not enough data: 3 calls, need 8" in res.output
    assert "→ flat" not in res.output and "not enough calls yet (3, need 10)" in res.output
    res = CliRunner().invoke(app, ["agent", "ALICE", *args], env=env)
    assert res.exit_code == 1 and "Error: 'ALICE' matches 2 agents: A001 (Alice Adams); A003 (Alice Other)" in res.output
    res = CliRunner().invoke(app, ["agent", "A001", "--details", *args], env=env)
    assert res.exit_code == 0 and "Theil–Sen slope" in res.output


def test_goal_projection_needs_enough_calls() -> None:
    calls = make_calls([("a", "T", d, s) for d, s in ((0, 40.0), (1, 60.0), (1, 80.0))])
    calls["started_at"] = calls["started_at"] + pd.Timedelta(days=-1)  # 1–2 November
    frames = prepare_frames(calls, no_criteria())
    target = [Target("agent", "a", "2026-11", "qa_score", 85.0)]
    out = goal_attainment(frames, target, pd.Timestamp("2026-11-03"), min_calls=10, min_days=7)
    # Three calls: the value so far is the projection, not a line run to the month's end.
    assert out.loc[0, "projected"] == pytest.approx(60.0) and out.loc[0, "status"] == "off_track"
    steep = goal_attainment(frames, target, pd.Timestamp("2026-11-03"))
    assert steep.loc[0, "projected"] == 100.0  # what the old rule projected: clipped at the top


def test_nightly_run_passes_goals_and_abilities_to_the_report_refresh(tmp_path: Path) -> None:
    from qa_pipeline.cli.run import _refresh
    from qa_pipeline.config import load_config

    (tmp_path / "qa.toml").write_text(
        '[goals]\ntargets = [{team = "North", period = "2026Q4", metric = "qa_score", target = 85}]\n', encoding="utf-8"
    )
    config = load_config(tmp_path)
    seen: dict = {}

    def refresh(store, reports_dir, **kwargs):  # the batch's refresh_reports, recorded
        seen.update(kwargs)
        return None

    assert _refresh(None, tmp_path / "reports", False, "t", refresh, config)
    assert seen["targets"] == config.goals and len(seen["targets"]) == 1
    assert "Listening" in seen["abilities"]
    assert seen["stats"].min_calls == 8  # the defaults without [stats]…
    (tmp_path / "qa.toml").write_text("[stats]\nmin_calls = 12\n", encoding="utf-8")
    assert _refresh(None, tmp_path / "reports", False, "t", refresh, load_config(tmp_path))
    assert seen["stats"].min_calls == 12  # …and qa.toml's with it, as qa report reads them


def test_style_measures_come_from_the_store(tmp_path: Path) -> None:
    from batch_support import SCORECARD, stored_result

    from qa_pipeline.scorecard import load_scorecard
    from qa_pipeline.store import Store, read_frames

    card = load_scorecard(SCORECARD)
    with Store.open(tmp_path / "qa.db") as store:
        run = store.start_run(str(tmp_path / "rec"), {"workers": 1})
        for n in range(3):
            store.save_call(stored_result(n, card), run)
    frames = read_frames(str(tmp_path / "qa.db"))
    assert frames.calls["agent_talk_share"].between(0, 1).all() and frames.calls["interruptions"].notna().all()
    from qa_pipeline.stats.profiles import style_profile

    style, notes = style_profile(frames.calls, min_calls=1)
    assert {"agent_talk_share", "interruptions", "non_talk_s"} <= set(style["measure"])
    assert not any(n.startswith("Share of talk time") for n in notes)


def test_agent_view_and_the_agent_page_partials(tmp_path: Path) -> None:
    from qa_pipeline.config import report_abilities
    from qa_pipeline.report import ReportOptions, render_agent_report
    from qa_pipeline.stats import display as d

    view = d.agent_view({"trend_note": "not enough calls yet (8, need 10)", "mean": 70.0, "prev_mean": 80.0,
                         "mean_change": -10.0, "mean_change_p": 0.001, "mean_change_sig": True, "aht_s": 254.0,
                         "quartile": 4}, "now", "before")
    assert view["trend"] == "not enough calls yet (8, need 10)" and not view["trend_shown"]
    score_row = view["compare"][0]
    assert score_row["change"] == "\u221210.0 points" and score_row["verdict"] == "worse, beyond noise"
    assert view["aht"] == "4:14" and view["quarter"] == "bottom quarter of the team"
    assert ("p-value of the slope", "–") in view["details"]

    synth = synth_frames(SynthStoreOptions(agents=4, days=70, seed=1, chinese_agent=False))
    goals = [Target("agent", "A002", "2026-11", "qa_score", 85.0)]
    a = analyse(synth.frames, StatsOptions(), goals, report_abilities(None))
    page = render_agent_report(a, "A002", tmp_path, ReportOptions(workers=1, pdf=False), pdf=False).agent_pages[0]
    html = page.read_text(encoding="utf-8")
    for text in ("Change from the previous period", "<details>", "Ability and style profile", "Listening",
                 "Average QA score at least 85", "Projected at period end"):
        assert text in html, text
    assert "s/wk" not in html and "aht_s" not in html and "qa_score (at least)" not in html
