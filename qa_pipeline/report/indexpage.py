"""The team overview (``index.html`` and the team PDF): its context and charts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from qa_pipeline.report import charts, scatter
from qa_pipeline.report.rows import records
from qa_pipeline.stats.flags import Flag

if TYPE_CHECKING:
    from qa_pipeline.report.sitedata import Site


def index_context(site: Site, pdf: bool = False) -> dict[str, Any]:
    """The overview page's context: team tables, every agent, the charts, outliers and goals."""
    a, o = site.a, site.opts
    agents = a.agents.assign(team_aht_s=a.agents["team"].map(site.team_aht))
    rows = records(agents)
    for r in rows:
        r["href"] = site.agent_href(r["agent_id"], "")
    eligible = agents.loc[agents["n"] >= a.options.min_calls]
    by_p = eligible.sort_values("slope_p", kind="stable").head(o.trend_agents)
    heat = agents.sort_values("mean", kind="stable")
    heat = heat.head(o.heatmap_agents) if len(heat) > o.heatmap_agents else agents
    aht = agents.sort_values("aht_s", ascending=False, kind="stable").head(o.aht_agents)
    team_names = a.teams["team"].tolist()
    chart = {
        "teams": [
            {"team": team, "svg": scatter.team_scatter(agents.loc[agents["team"] == team], team, float(site.team_aht.get(team, np.nan)),
                                                       a.options.cv_factor, o.max_labels)}
            for team in team_names
        ],
        "team_trend": charts.team_trends(a.team_weekly, a.teams, a.period.start_ts, a.period.end_ts),
        "agent_trends": charts.agent_trend_grid(a.weekly, by_p, a.period.start_ts, a.period.end_ts) if len(by_p) else None,
        "heatmap": charts.pass_rate_heatmap(a.agent_criteria.loc[a.agent_criteria["agent_id"].isin(set(heat["agent_id"]))], heat),
        "aht_dist": charts.aht_distribution(a.calls, team_names),
        "aht_agents": charts.agent_aht(aht),
    }
    outliers = records(a.outliers.head(o.outlier_rows))
    names = a.agents.set_index("agent_id")["agent_name"]
    for r in outliers:
        r["agent_name"] = names.get(r["agent_id"], r["agent_id"])
        r["agent_href"] = site.agent_href(r["agent_id"], "")
        r["href"] = site.call_href(r["call_id"], "")
        r["team_delta"] = site.team_delta(r)
    zone_counts = a.outliers.groupby(["team", "zone"]).size().unstack(fill_value=0) if len(a.outliers) else None
    limits = records(a.limits)
    for r in limits:
        for zone in ("warning", "action"):
            r[zone] = int(zone_counts.loc[r["team"], zone]) if zone_counts is not None and r["team"] in zone_counts.index and zone in zone_counts.columns else 0
    flag_counts = {f.value: int((a.agents["flag"] == f.value).sum()) for f in Flag if f is not Flag.INCONSISTENT}
    flag_counts[Flag.INCONSISTENT.value] = int(a.agents["inconsistent"].sum())
    return {
        **site.base("", pdf),
        "centre": records(a.centre)[0],
        "teams": records(a.teams),
        "agents": rows,
        "flag_counts": flag_counts,
        "charts": chart,
        "heatmap_note": f"the {len(heat)} lowest-scoring of {len(agents)} agents" if len(heat) < len(agents) else None,
        "trend_note": f"the {len(by_p)} agents with the clearest trends (lowest p-value)",
        "aht_note": f"the {len(aht)} longest of {len(agents)} agents" if len(aht) < len(agents) else None,
        "common": records(a.common),
        "limits": limits,
        "outliers": outliers,
        "outliers_total": len(a.outliers),
        "goals": records(a.goals),
        "agent_names": names.to_dict(),
        "calibration_href": site.calibration_href,
    }


def index_context_links(site: Site, ctx: dict[str, Any]) -> dict[str, Any]:
    """The overview context with call links checked against the pages actually written."""
    outliers = [dict(o, href=site.call_href(o["call_id"], "")) for o in ctx["outliers"]]
    return dict(ctx, outliers=outliers)
