"""Agent pages: one per agent, with their chart, criteria, listed calls and coaching material."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa_pipeline.report import charts, svg, workers
from qa_pipeline.report.env import environment
from qa_pipeline.report.filters import nan_to_none
from qa_pipeline.report.output import write_file
from qa_pipeline.report.rows import group_records
from qa_pipeline.stats.analysis import Analysis

if TYPE_CHECKING:
    from qa_pipeline.report.sitedata import Site


def agent_context(site: Site, agent_id: str, pdf: bool = False) -> dict[str, Any]:
    """One agent's page context: their chart, criteria with sparklines, listed calls, problems, outliers, goals."""
    a = site.a
    row = {k: nan_to_none(v) for k, v in a.agent(agent_id).items()}
    team = site.teams[row["team"]]
    lim = site.limits.get(row["team"], {})
    pos = site.positions[agent_id]
    if site.painter is None:
        site.painter = charts.AgentChart(a.period.start_ts, a.period.end_ts)
    chart = site.painter.render(
        site.times[pos],
        site.scores[pos],
        site.flagged[pos],
        site.weekly.get(agent_id, "week"),
        site.weekly.get(agent_id, "mean").astype(float),
        {k: float(v) for k, v in lim.items() if k in ("mean", "lcl2", "ucl2", "lcl3", "ucl3") and v is not None},
        (_num(row["intercept"]), _num(row["slope_per_week"])),
        site.weekly_aht.get(agent_id, "week"),
        site.weekly_aht.get(agent_id, "mean").astype(float),
        site.team_weekly_aht.get(row["team"], "week"),
        site.team_weekly_aht.get(row["team"], "mean").astype(float),
    )
    criteria = []
    for r in site.criteria_rates.get(agent_id, []):
        values = site.sparks.get((agent_id, r["criterion_id"]), [])
        r = dict(r, spark=svg.sparkline(values, label=f"weekly pass rate of {r['criterion_title']}"))
        criteria.append(r)

    def calls_of(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for c in rows:
            out.append(dict(c, href=site.call_href(c["call_id"], "../"), failed=site.quotes.get(c["call_id"], [])))
        return out

    problems = []
    for p in site.problems.get(agent_id, []):
        p = dict(p, examples=[(cid, site.call_href(cid, "../")) for cid in p["example_calls"]])
        problems.append(p)
    all_outliers = site.outliers.get(agent_id, [])
    # Furthest from the team mean first; a long list helps nobody in a one-to-one.
    nearest_last = sorted(all_outliers, key=lambda o: -abs(o["z"]))[: site.opts.outlier_rows]
    outliers = [dict(o, href=site.call_href(o["call_id"], "../"), team_delta=site.team_delta(o)) for o in nearest_last]
    return {
        **site.base("../", pdf),
        "lang": "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in str(row["agent_name"])) else "en",
        "agent": row,
        "team": team,
        "limits": lim,
        "chart": chart,
        "criteria": criteria,
        "problems": problems,
        "worst": calls_of(site.worst.get(agent_id, [])),
        "best": calls_of(site.best.get(agent_id, [])),
        "outliers": outliers,
        "outliers_total": len(all_outliers),
        "goals": site.goals.get(agent_id, []),
        **site.stats_views.agent(agent_id, row),
    }


def write_agent_page(site: Site, agent_id: str) -> Path:
    """Render and write one agent's page."""
    html = environment().get_template("agent.html.j2").render(agent_context(site, agent_id))
    return write_file(site.out / "agents" / f"{site.agent_slug[agent_id]}.html", html)


def write_agent_pages(site: Site, agent_ids: list[str]) -> list[Path]:
    """Write the pages of these agents (in parallel, see :func:`~qa_pipeline.report.workers.map_pages`)."""
    return [Path(p) for p in workers.map_pages(_agent_chunk, agent_ids, site, site.opts.workers)]


def _agent_chunk(agent_ids: list[str]) -> list[str]:
    site = workers.active()
    return [str(write_agent_page(site, a)) for a in agent_ids]


class StatsViews:
    """What the statistics partials (``_period_compare``, ``_agent_profile``, ``_goals``)
    read, per agent, in display units."""

    def __init__(self, analysis: Analysis):
        from qa_pipeline.stats import display

        self.display = display
        self.period = analysis.period.label
        self.previous = analysis.previous_period.label
        self.abilities = group_records(analysis.abilities, "agent_id") if len(analysis.abilities) else {}
        self.style = group_records(analysis.style, "agent_id") if len(analysis.style) else {}
        self.style_notes = list(analysis.style_notes)
        self.min_list_calls = analysis.options.min_list_calls
        problems = analysis.problems.loc[analysis.problems["significant"]]
        self.problems = group_records(problems, "agent_id")

    def agent(self, agent_id: str, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "summary": self.display.agent_view(row, self.period, self.previous),
            "calls_ranked": int(row["n"]) >= self.min_list_calls,
            "calls_note": self.display.not_enough_text(int(row["n"]), self.min_list_calls),
            "top_problems": [self.display.problem_view(p) for p in self.problems.get(agent_id, [])],
            "ability_profile": self.abilities.get(agent_id, []),
            "style_profile": self.style.get(agent_id, []),
            "style_notes": self.style_notes,
        }


def _num(value: Any) -> float:
    return float(value) if value is not None else float("nan")
