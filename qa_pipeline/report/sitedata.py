"""The material every page of one render shares, computed once with group-bys.

A :class:`Site` holds the analysis, the slugs of agents and calls, per-agent rows and arrays
for the charts, and the context every page frame needs. Page modules read it:
:mod:`~qa_pipeline.report.indexpage`, :mod:`~qa_pipeline.report.agentpages` and
:mod:`~qa_pipeline.report.callpages`. Forked page workers inherit it (it is never pickled).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import pandas as pd

from qa_pipeline.report import callpages, charts
from qa_pipeline.report.agentpages import StatsViews
from qa_pipeline.report.calibration_page import CALIBRATION_PAGE
from qa_pipeline.report.coverage import Coverage
from qa_pipeline.report.env import environment
from qa_pipeline.report.filters import unique_slugs
from qa_pipeline.report.options import ReportOptions
from qa_pipeline.report.output import write_file
from qa_pipeline.report.rows import Series, group_records, records
from qa_pipeline.stats.analysis import Analysis
from qa_pipeline.stats.frames import parse_evidence

if TYPE_CHECKING:
    from qa_pipeline.calibration import CalibrationReport


class Site:
    """Precomputed per-agent material shared by every page of one render."""

    def __init__(
        self,
        analysis: Analysis,
        out_dir: Path,
        options: ReportOptions,
        agent_ids: Iterable[str] | None = None,
        calibration: CalibrationReport | None = None,
        coverage: Coverage | None = None,
    ):
        self.a = analysis
        self.out = out_dir
        self.opts = options
        self.generated = options.generated_at or datetime.now(timezone.utc).replace(tzinfo=None)
        calls = analysis.calls
        self.agent_slug = unique_slugs(analysis.agents["agent_id"])
        wanted = None if agent_ids is None else set(agent_ids)

        worst = analysis.ranked_calls(options.worst_calls, worst=True) if options.worst_calls else calls.iloc[:0]
        best = analysis.ranked_calls(options.best_calls, worst=False) if options.best_calls else calls.iloc[:0]
        if wanted is not None:
            worst = worst.loc[worst["agent_id"].isin(wanted)]
            best = best.loc[best["agent_id"].isin(wanted)]
        self.worst = group_records(worst, "agent_id")
        self.best = group_records(best, "agent_id")
        self.calibration_href = CALIBRATION_PAGE if calibration is not None or (out_dir / CALIBRATION_PAGE).is_file() else None
        # Every call of the render gets a page: the full one with a readable transcript, else a summary.
        scope = calls if wanted is None else calls.loc[calls["agent_id"].isin(wanted)]
        self.selected = scope
        self.call_slug = unique_slugs(scope["call_id"])
        crit = analysis.criteria
        scope_crit = crit if wanted is None else crit.loc[crit["call_id"].isin(set(scope["call_id"]))]
        self.scope_criteria = scope_crit
        self.call_rows = callpages.Rows(scope_crit, "call_id", callpages.CRITERION_COLUMNS)
        self.call_folder = str(out_dir / "calls")
        # The calls whose pages are due, set by callpages.write_call_pages before its workers fork.
        self.call_records: list[dict[str, Any]] = []
        self.verdict_tables: callpages.VerdictTables | None = None
        self._call_base: dict[str, Any] | None = None
        listed = set(worst["call_id"]) | set(best["call_id"])
        self.quotes = self._quotes(crit.loc[crit["call_id"].isin(listed)])
        self.coverage = coverage
        self.calls_written = {"full": 0, "summary": 0, "unchanged": 0}

        self.limits = {r["team"]: r for r in records(analysis.limits)}
        self.teams = {r["team"]: r for r in records(analysis.teams)}
        self.positions = calls.groupby("agent_id", sort=False).indices
        self.times = calls["started_at"].to_numpy()
        self.scores = calls["call_score"].to_numpy(dtype=float)
        self.flagged = calls["call_id"].isin(set(analysis.outliers["call_id"])).to_numpy()
        self.weekly = Series(analysis.weekly, "agent_id", ("week", "mean"))
        self.weekly_aht = Series(analysis.weekly_aht, "agent_id", ("week", "mean"))
        self.team_weekly_aht = Series(analysis.team_weekly_aht, "team", ("week", "mean"))
        self.criteria_rates = group_records(analysis.agent_criteria, "agent_id")
        wc = analysis.weekly_criteria.sort_values(["agent_id", "criterion_id", "week"])
        self.sparks = wc.groupby(["agent_id", "criterion_id"], sort=False)["pass_rate"].agg(list).to_dict()
        self.problems = group_records(analysis.problems.loc[analysis.problems["significant"]], "agent_id")
        self.outliers = group_records(analysis.outliers, "agent_id")
        goals = analysis.goals
        self.goals = group_records(goals.loc[goals["scope"] == "agent"], "subject") if len(goals) else {}
        self.team_aht = analysis.teams.set_index("team")["aht_s"]
        self.stats_views = StatsViews(analysis)
        self.painter: charts.AgentChart | None = None
        self.full_site = agent_ids is None

    # ------------------------------------------------------------------ helpers
    def _quotes(self, crit: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
        """Per call: each failed criterion with its first quote (or what was missing)."""
        out: dict[str, list[dict[str, Any]]] = {}
        failed = crit.loc[crit["verdict"] == "fail"]
        for row in failed.itertuples(index=False):
            items = parse_evidence(row.evidence, f"call {row.call_id}, criterion {row.criterion_id}")
            quote = next((i for i in items if i.text), None)
            out.setdefault(row.call_id, []).append(
                {
                    "title": row.criterion_title,
                    "quote": quote.text if quote else None,
                    "speaker": quote.speaker if quote else None,
                    "start": quote.start if quote else None,
                    "missing": row.missing if isinstance(row.missing, str) else None,
                }
            )
        return out

    def team_delta(self, call: dict[str, Any]) -> float | None:
        """A call's score minus its team's mean: the plain-language form of its z."""
        mean = self.limits.get(call["team"], {}).get("mean")
        return None if mean is None or call["call_score"] is None else float(call["call_score"]) - float(mean)

    def agent_href(self, agent_id: str, root: str) -> str:
        return f"{root}agents/{self.agent_slug[agent_id]}.html"

    def call_href(self, call_id: str, root: str) -> str | None:
        slug = self.call_slug.get(call_id)
        return f"{root}calls/{slug}.html" if slug else None

    def base(self, root: str, pdf: bool) -> dict[str, Any]:
        return {
            "index_href": f"{root}index.html" if self.full_site or (self.out / "index.html").is_file() else None,
            "title": self.opts.title,
            "period": self.a.period,
            "generated_at": self.generated,
            "root": root,
            "pdf": pdf,
            "options": self.a.options,
            "lang": "en",
            "coverage": self.coverage.sentence() if self.coverage is not None else None,
        }

    def call_base(self) -> dict[str, Any]:
        """The frame of a call page: shared stylesheet, period line from ``period.js``.

        The same for every call page of a render, so it is built (and the overview looked
        for) once; callers copy it into their context and never change it.
        """
        if self._call_base is None:
            self._call_base = dict(self.base("../", False), stylesheet=f"../{callpages.STYLESHEET}",
                                   period_script=f"../{callpages.PERIOD_SCRIPT}", generated_at=None, coverage=None)
        return self._call_base

    def write_shared_files(self) -> None:
        """``style.css`` and ``period.js``, which every call page loads."""
        env = environment()
        write_file(self.out / callpages.STYLESHEET, env.get_template("style.css.j2").render(pdf=False))
        line = f"Period {self.a.period.start.isoformat()} – {self.a.period.end.isoformat()} · generated {self.generated:%Y-%m-%d %H:%M} UTC"
        cov = self.coverage.sentence() if self.coverage is not None else ""
        write_file(self.out / callpages.PERIOD_SCRIPT, callpages.period_script(line, cov))
