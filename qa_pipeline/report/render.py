"""Render an :class:`~qa_pipeline.stats.Analysis` as a static site and as PDF.

Layout of the output folder::

    index.html                 team overview
    agents/<agent>.html        one page per agent (file names are slugs of the untrusted ids)
    calls/<call>.html          every call of the period (a summary when it has no transcript)
    calls/manifest.json        inputs hash of each call page, so a re-run renders only what changed
    style.css, period.js       shared by the call pages
    audio/<call>.wav           16-bit PCM copies of their recordings that browsers cannot play
    qa-report.pdf              the team overview as PDF
    agents/<agent>.pdf         one agent as PDF, on request

Everything per agent is precomputed once with group-bys, so a page is a template render plus
one chart; call pages are rendered only when their inputs changed.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import numpy as np
import pandas as pd

from qa_pipeline.errors import ReportError, TranscriptError
from qa_pipeline.log import get_logger
from qa_pipeline.options import from_dict
from qa_pipeline.report import callpages, charts, scatter, svg
from qa_pipeline.report.calibration_page import CALIBRATION_PAGE, report_call_ids, write_calibration_page
from qa_pipeline.report.callview import build_call_view
from qa_pipeline.report.coverage import Coverage, coverage as period_coverage
from qa_pipeline.report.env import environment
from qa_pipeline.report.filters import nan_to_none, unique_slugs
from qa_pipeline.report.pdf import write_pdf
from qa_pipeline.stats.analysis import Analysis, analyse
from qa_pipeline.stats.flags import Flag
from qa_pipeline.stats.frames import Frames, parse_evidence
from qa_pipeline.stats.goals import Target
from qa_pipeline.stats.options import StatsOptions
from qa_pipeline.transcript import Transcript

if TYPE_CHECKING:
    from qa_pipeline.calibration import CalibrationReport

log = get_logger("report")

TEAM_PDF = "qa-report.pdf"
# Browser-playable copies of recordings browsers cannot play (μ-law, A-law…).
AUDIO_DIR = "audio"


@dataclass(frozen=True)
class ReportOptions:
    """What the reports show and how much.

    Attributes:
        title: Report title.
        worst_calls: Worst calls listed (and given a call page) per agent.
        best_calls: Best calls listed (and given a call page) per agent.
        max_labels: Agents named on each team's scatter panel at most (the best and worst,
            flagged and extreme ones first; names that would hide a point are left out).
        heatmap_agents: Agents on the pass-rate heatmap (the lowest-scoring when there are more).
        trend_agents: Agents in the small-multiple trend chart (the clearest trends).
        aht_agents: Agents on the handle-time chart (the longest when there are more).
        outlier_rows: Out-of-limit calls listed on the overview.
        silence_seconds: Gaps at least this long are marked on call timelines.
        overlap_seconds: Overlaps at least this long are marked on call timelines.
        pdf: Write the team PDF with the site.
        generated_at: Timestamp printed on the reports (UTC); None = now.
        workers: Processes that render agent and call pages; 0 = one per available core,
            1 = render in this process. Processes are forked, so this applies where ``fork``
            is available (Linux, macOS); elsewhere pages are rendered in this process.
    """

    title: str = "Call quality report"
    worst_calls: int = 3
    best_calls: int = 2
    max_labels: int = 15
    heatmap_agents: int = 40
    trend_agents: int = 8
    aht_agents: int = 40
    outlier_rows: int = 25
    silence_seconds: float = 3.0
    overlap_seconds: float = 0.3
    pdf: bool = True
    generated_at: datetime | None = None
    workers: int = 0

    def __post_init__(self) -> None:
        for name in ("worst_calls", "best_calls", "max_labels", "heatmap_agents", "trend_agents", "aht_agents", "outlier_rows"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.workers < 0:
            raise ValueError("workers must be >= 0")
        if self.silence_seconds <= 0 or self.overlap_seconds <= 0:
            raise ValueError("silence_seconds and overlap_seconds must be positive")

    @classmethod
    def from_dict(cls, data: "dict[str, Any] | ReportOptions | None") -> "ReportOptions":
        return from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["generated_at"] = self.generated_at.isoformat() if self.generated_at else None
        return out


@dataclass(frozen=True)
class SiteResult:
    """What a render wrote.

    Attributes:
        out_dir: The output folder.
        index: The overview page, if written.
        agent_pages: Agent pages written.
        call_pages: Call pages written.
        pdfs: PDF files written.
        timings: Seconds per stage, in order.
        calibration: The calibration page, if written.
    """

    out_dir: Path
    index: Path | None
    agent_pages: tuple[Path, ...]
    call_pages: tuple[Path, ...]
    pdfs: tuple[Path, ...]
    timings: tuple[tuple[str, float], ...]
    calibration: Path | None = None
    calls_unchanged: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "index": str(self.index) if self.index else None,
            "agent_pages": [str(p) for p in self.agent_pages],
            "call_pages": [str(p) for p in self.call_pages],
            "pdfs": [str(p) for p in self.pdfs],
            "timings": dict(self.timings),
            "calibration": str(self.calibration) if self.calibration else None,
            "calls_unchanged": self.calls_unchanged,
        }


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as mappings with NaN/NaT turned into None (templates test ``is none``)."""
    return df.astype(object).where(df.notna(), None).to_dict("records")


def _group_records(df: pd.DataFrame, key: str) -> dict[Any, list[dict[str, Any]]]:
    """Rows as mappings grouped by one column, in row order (one conversion for all groups)."""
    out: dict[Any, list[dict[str, Any]]] = {}
    for rec in _records(df):
        out.setdefault(rec[key], []).append(rec)
    return out


class _Series:
    """One table's columns as arrays with each group's row positions (no per-group frames)."""

    def __init__(self, df: pd.DataFrame, key: str, columns: tuple[str, ...]):
        df = df.sort_values([key, "week"], kind="stable") if "week" in df.columns else df
        self.index = df.groupby(key, sort=False).indices
        self.columns = {c: df[c].to_numpy() for c in columns}
        self.empty = {c: v[:0] for c, v in self.columns.items()}

    def get(self, group: Any, column: str) -> np.ndarray:
        pos = self.index.get(group)
        return self.empty[column] if pos is None else self.columns[column][pos]


def _write(path: Path, text: str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        # A full disk must not leave half a page behind.
        tmp.unlink(missing_ok=True)
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def _write_call_page(path: Path, text: str) -> Path:
    """One call page, written in place: a site has one per call, 100,000 and more.

    A page cut short by a crash is safe: the manifest is saved only after every page is
    written, so the next render finds the page stale and writes it again.
    """
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


class _Site:
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
        self.worst = _group_records(worst, "agent_id")
        self.best = _group_records(best, "agent_id")
        self.calibration_href = CALIBRATION_PAGE if calibration is not None or (out_dir / CALIBRATION_PAGE).is_file() else None
        # Every call of the render gets a page: the full one with a readable transcript, else a summary.
        scope = calls if wanted is None else calls.loc[calls["agent_id"].isin(wanted)]
        self.selected = scope
        self.call_slug = unique_slugs(scope["call_id"])
        crit = analysis.criteria
        scope_crit = crit if wanted is None else crit.loc[crit["call_id"].isin(set(scope["call_id"]))]
        self.scope_criteria = scope_crit
        self.call_rows = callpages.Rows(scope_crit, "call_id", callpages.CRITERION_COLUMNS)
        listed = set(worst["call_id"]) | set(best["call_id"])
        self.quotes = self._quotes(crit.loc[crit["call_id"].isin(listed)])
        self.coverage = coverage
        self.calls_written = {"full": 0, "summary": 0, "unchanged": 0}

        self.limits = {r["team"]: r for r in _records(analysis.limits)}
        self.teams = {r["team"]: r for r in _records(analysis.teams)}
        self.positions = calls.groupby("agent_id", sort=False).indices
        self.times = calls["started_at"].to_numpy()
        self.scores = calls["call_score"].to_numpy(dtype=float)
        self.flagged = calls["call_id"].isin(set(analysis.outliers["call_id"])).to_numpy()
        self.weekly = _Series(analysis.weekly, "agent_id", ("week", "mean"))
        self.weekly_aht = _Series(analysis.weekly_aht, "agent_id", ("week", "mean"))
        self.team_weekly_aht = _Series(analysis.team_weekly_aht, "team", ("week", "mean"))
        self.criteria_rates = _group_records(analysis.agent_criteria, "agent_id")
        wc = analysis.weekly_criteria.sort_values(["agent_id", "criterion_id", "week"])
        self.sparks = wc.groupby(["agent_id", "criterion_id"], sort=False)["pass_rate"].agg(list).to_dict()
        self.problems = _group_records(analysis.problems.loc[analysis.problems["significant"]], "agent_id")
        self.outliers = _group_records(analysis.outliers, "agent_id")
        goals = analysis.goals
        self.goals = _group_records(goals.loc[goals["scope"] == "agent"], "subject") if len(goals) else {}
        self.team_aht = analysis.teams.set_index("team")["aht_s"]
        self.stats_views = _stats_views(analysis)
        self._painter: charts.AgentChart | None = None
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

    def _team_delta(self, call: dict[str, Any]) -> float | None:
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
        """The frame of a call page: shared stylesheet, period line from ``period.js``."""
        return dict(self.base("../", False), stylesheet=f"../{callpages.STYLESHEET}", period_script=f"../{callpages.PERIOD_SCRIPT}",
                    generated_at=None, coverage=None)

    def write_shared_files(self) -> None:
        """``style.css`` and ``period.js``, which every call page loads."""
        env = environment()
        _write(self.out / callpages.STYLESHEET, env.get_template("style.css.j2").render(pdf=False))
        line = f"Period {self.a.period.start.isoformat()} – {self.a.period.end.isoformat()} · generated {self.generated:%Y-%m-%d %H:%M} UTC"
        cov = self.coverage.sentence() if self.coverage is not None else ""
        _write(self.out / callpages.PERIOD_SCRIPT, callpages.period_script(line, cov))

    # ------------------------------------------------------------------ index
    def index_context(self, pdf: bool = False) -> dict[str, Any]:
        a, o = self.a, self.opts
        agents = a.agents.assign(team_aht_s=a.agents["team"].map(self.team_aht))
        rows = _records(agents)
        for r in rows:
            r["href"] = self.agent_href(r["agent_id"], "")
        eligible = agents.loc[agents["n"] >= a.options.min_calls]
        by_p = eligible.sort_values("slope_p", kind="stable").head(o.trend_agents)
        heat = agents.sort_values("mean", kind="stable")
        heat = heat.head(o.heatmap_agents) if len(heat) > o.heatmap_agents else agents
        aht = agents.sort_values("aht_s", ascending=False, kind="stable").head(o.aht_agents)
        team_names = a.teams["team"].tolist()
        chart = {
            "teams": [
                {"team": team, "svg": scatter.team_scatter(agents.loc[agents["team"] == team], team, float(self.team_aht.get(team, np.nan)),
                                                           a.options.cv_factor, o.max_labels)}
                for team in team_names
            ],
            "team_trend": charts.team_trends(a.team_weekly, a.teams, a.period.start_ts, a.period.end_ts),
            "agent_trends": charts.agent_trend_grid(a.weekly, by_p, a.period.start_ts, a.period.end_ts) if len(by_p) else None,
            "heatmap": charts.pass_rate_heatmap(a.agent_criteria.loc[a.agent_criteria["agent_id"].isin(set(heat["agent_id"]))], heat),
            "aht_dist": charts.aht_distribution(a.calls, team_names),
            "aht_agents": charts.agent_aht(aht),
        }
        outliers = _records(a.outliers.head(o.outlier_rows))
        names = a.agents.set_index("agent_id")["agent_name"]
        for r in outliers:
            r["agent_name"] = names.get(r["agent_id"], r["agent_id"])
            r["agent_href"] = self.agent_href(r["agent_id"], "")
            r["href"] = self.call_href(r["call_id"], "")
            r["team_delta"] = self._team_delta(r)
        zone_counts = a.outliers.groupby(["team", "zone"]).size().unstack(fill_value=0) if len(a.outliers) else None
        limits = _records(a.limits)
        for r in limits:
            for zone in ("warning", "action"):
                r[zone] = int(zone_counts.loc[r["team"], zone]) if zone_counts is not None and r["team"] in zone_counts.index and zone in zone_counts.columns else 0
        flag_counts = {f.value: int((a.agents["flag"] == f.value).sum()) for f in Flag if f is not Flag.INCONSISTENT}
        flag_counts[Flag.INCONSISTENT.value] = int(a.agents["inconsistent"].sum())
        return {
            **self.base("", pdf),
            "centre": _records(a.centre)[0],
            "teams": _records(a.teams),
            "agents": rows,
            "flag_counts": flag_counts,
            "charts": chart,
            "heatmap_note": f"the {len(heat)} lowest-scoring of {len(agents)} agents" if len(heat) < len(agents) else None,
            "trend_note": f"the {len(by_p)} agents with the clearest trends (lowest p-value)",
            "aht_note": f"the {len(aht)} longest of {len(agents)} agents" if len(aht) < len(agents) else None,
            "common": _records(a.common),
            "limits": limits,
            "outliers": outliers,
            "outliers_total": len(a.outliers),
            "goals": _records(a.goals),
            "agent_names": names.to_dict(),
            "calibration_href": self.calibration_href,
        }

    def index_context_links(self, ctx: dict[str, Any]) -> dict[str, Any]:
        """The overview context with call links checked against the pages actually written."""
        outliers = [dict(o, href=self.call_href(o["call_id"], "")) for o in ctx["outliers"]]
        return dict(ctx, outliers=outliers)

    # ------------------------------------------------------------------ agent
    def agent_context(self, agent_id: str, pdf: bool = False) -> dict[str, Any]:
        a = self.a
        row = {k: nan_to_none(v) for k, v in a.agent(agent_id).items()}
        team = self.teams[row["team"]]
        lim = self.limits.get(row["team"], {})
        pos = self.positions[agent_id]
        if self._painter is None:
            self._painter = charts.AgentChart(a.period.start_ts, a.period.end_ts)
        chart = self._painter.render(
            self.times[pos],
            self.scores[pos],
            self.flagged[pos],
            self.weekly.get(agent_id, "week"),
            self.weekly.get(agent_id, "mean").astype(float),
            {k: float(v) for k, v in lim.items() if k in ("mean", "lcl2", "ucl2", "lcl3", "ucl3") and v is not None},
            (_num(row["intercept"]), _num(row["slope_per_week"])),
            self.weekly_aht.get(agent_id, "week"),
            self.weekly_aht.get(agent_id, "mean").astype(float),
            self.team_weekly_aht.get(row["team"], "week"),
            self.team_weekly_aht.get(row["team"], "mean").astype(float),
        )
        criteria = []
        for r in self.criteria_rates.get(agent_id, []):
            values = self.sparks.get((agent_id, r["criterion_id"]), [])
            r = dict(r, spark=svg.sparkline(values, label=f"weekly pass rate of {r['criterion_title']}"))
            criteria.append(r)

        def calls_of(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            out = []
            for c in rows:
                out.append(dict(c, href=self.call_href(c["call_id"], "../"), failed=self.quotes.get(c["call_id"], [])))
            return out

        problems = []
        for p in self.problems.get(agent_id, []):
            p = dict(p, examples=[(cid, self.call_href(cid, "../")) for cid in p["example_calls"]])
            problems.append(p)
        all_outliers = self.outliers.get(agent_id, [])
        # Furthest from the team mean first; a long list helps nobody in a one-to-one.
        nearest_last = sorted(all_outliers, key=lambda o: -abs(o["z"]))[: self.opts.outlier_rows]
        outliers = [dict(o, href=self.call_href(o["call_id"], "../"), team_delta=self._team_delta(o)) for o in nearest_last]
        return {
            **self.base("../", pdf),
            "lang": "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in str(row["agent_name"])) else "en",
            "agent": row,
            "team": team,
            "limits": lim,
            "chart": chart,
            "criteria": criteria,
            "problems": problems,
            "worst": calls_of(self.worst.get(agent_id, [])),
            "best": calls_of(self.best.get(agent_id, [])),
            "outliers": outliers,
            "outliers_total": len(all_outliers),
            "goals": self.goals.get(agent_id, []),
            **self.stats_views.agent(agent_id, row),
        }

    # ------------------------------------------------------------------ call
    def call_context(self, call: dict[str, Any], transcript: Transcript) -> dict[str, Any]:
        view = build_call_view(
            call,
            self.call_rows.get(call["call_id"]),
            transcript,
            self.out / "calls",
            self.opts.silence_seconds,
            self.opts.overlap_seconds,
            audio_dir=self.out / AUDIO_DIR,
            audio_name=self.call_slug[call["call_id"]],
        )
        return {
            **self.call_base(),
            "lang": view.language,
            "view": view,
            "call": call,
            "agent_href": self.agent_href(call["agent_id"], "../"),
        }

    def write_call_page(self, call: dict[str, Any]) -> tuple[Path, str]:
        """Write one call's page: the full page, or a summary when its transcript cannot be read.

        Returns:
            The page and its kind (``full`` or ``summary``).
        """
        path = self.out / "calls" / f"{self.call_slug[call['call_id']]}.html"
        reason = "No transcript is stored for this call, so there is no conversation to show."
        if callpages.readable(call["transcript_path"]):
            try:
                transcript = Transcript.load(call["transcript_path"])
            except TranscriptError as exc:
                log.warning("call %s: summary page only: %s", call["call_id"], exc)
                reason = f"The transcript of this call cannot be read ({exc}), so there is no conversation to show."
            else:
                html = environment().get_template("call.html.j2").render(self.call_context(call, transcript))
                return _write_call_page(path, html), "full"
        elif call["transcript_path"]:
            reason = f"The transcript of this call is missing ({call['transcript_path']}), so there is no conversation to show."
        ctx = {
            **self.call_base(),
            "call": call,
            "verdicts": self.call_rows.get(call["call_id"]),
            "agent_href": self.agent_href(call["agent_id"], "../"),
            "no_transcript": reason,
        }
        return _write_call_page(path, environment().get_template("call_summary.html.j2").render(ctx)), "summary"

    def write_agent_page(self, agent_id: str) -> Path:
        html = environment().get_template("agent.html.j2").render(self.agent_context(agent_id))
        return _write(self.out / "agents" / f"{self.agent_slug[agent_id]}.html", html)

    def write_call_pages(self) -> list[Path]:
        """Write the page of every call whose inputs changed since the last render (in parallel).

        Returns:
            The pages written now (unchanged pages are kept and not listed).
        """
        self.write_shared_files()
        folder = self.out / "calls"
        folder.mkdir(parents=True, exist_ok=True)
        manifest = callpages.Manifest(folder)
        key = callpages.template_key(f"{self.opts.title}|{self.base('../', False)['index_href']}")
        paged = self.selected.assign(agent_slug=self.selected["agent_id"].map(self.agent_slug))
        hashes = callpages.input_hashes(paged, self.scope_criteria, key)
        todo = [c for c in _records(self.selected) if manifest.stale(self.call_slug[c["call_id"]], hashes[c["call_id"]], folder)]
        results = _map(_call_chunk, todo, self, self.opts.workers)
        written = []
        for path, kind in results:
            written.append(Path(path))
            self.calls_written[kind] += 1
        self.calls_written["unchanged"] = len(self.selected) - len(todo)
        pages = dict(manifest.pages) if not self.full_site else {}
        pages.update({self.call_slug[cid]: digest for cid, digest in hashes.items()})
        if self.full_site:
            # Pages of calls no longer in the period are removed, so the folder matches the site.
            keep = set(pages)
            for old in set(manifest.pages) - keep:
                (folder / f"{old}.html").unlink(missing_ok=True)
        manifest.save(pages)
        return written

    def write_agent_pages(self, agent_ids: list[str]) -> list[Path]:
        return [Path(p) for p in _map(_agent_chunk, agent_ids, self, self.opts.workers)]


class _StatsViews:
    """What the statistics partials (``_period_compare``, ``_agent_profile``, ``_goals``)
    read, per agent, in display units."""

    def __init__(self, analysis: Analysis):
        from qa_pipeline.stats import display

        self.display = display
        self.period = analysis.period.label
        self.previous = analysis.previous_period.label
        self.abilities = _group_records(analysis.abilities, "agent_id") if len(analysis.abilities) else {}
        self.style = _group_records(analysis.style, "agent_id") if len(analysis.style) else {}
        self.style_notes = list(analysis.style_notes)
        self.min_list_calls = analysis.options.min_list_calls
        problems = analysis.problems.loc[analysis.problems["significant"]]
        self.problems = _group_records(problems, "agent_id")

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


def _stats_views(analysis: Analysis) -> _StatsViews:
    return _StatsViews(analysis)


def _num(value: Any) -> float:
    return float(value) if value is not None else float("nan")


# The site being rendered, inherited by forked workers (never pickled).
_ACTIVE: _Site | None = None


def _active() -> _Site:
    if _ACTIVE is None:
        raise RuntimeError("page workers run only inside a render")
    return _ACTIVE


def _call_chunk(calls: list[dict[str, Any]]) -> list[tuple[str, str]]:
    site = _active()
    out = []
    for call in calls:
        path, kind = site.write_call_page(call)
        out.append((str(path), kind))
    return out


def _agent_chunk(agent_ids: list[str]) -> list[str]:
    site = _active()
    return [str(site.write_agent_page(a)) for a in agent_ids]


def _workers(requested: int) -> int:
    if requested:
        return requested
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _map(fn: Callable[[list[Any]], list[Any]], items: list[Any], site: _Site, workers: int) -> list[Any]:
    """``fn`` over chunks of ``items`` in forked worker processes, results in order."""
    global _ACTIVE
    n = _workers(workers)
    _ACTIVE = site
    try:
        if n <= 1 or len(items) < 2 * n or "fork" not in mp.get_all_start_methods():
            return fn(items)
        size = max(1, len(items) // (n * 4))
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("fork")) as pool:
            return [r for part in pool.map(fn, chunks) for r in part]
    finally:
        _ACTIVE = None


def _pdf_in_child(html: str, out: str, base: str) -> str:
    return str(write_pdf(html, Path(out), Path(base)))


def _start_pdf(html: str, out: Path, base: Path, opts: ReportOptions) -> Callable[[], Path]:
    """Start writing a PDF; the returned function waits for it (and raises its error)."""
    if _workers(opts.workers) <= 1 or "fork" not in mp.get_all_start_methods():
        return lambda: write_pdf(html, out, base)
    pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork"))
    future = pool.submit(_pdf_in_child, html, str(out), str(base))

    def wait() -> Path:
        try:
            return Path(future.result())
        finally:
            pool.shutdown()

    return wait


def _timed(timings: list[tuple[str, float]], name: str, start: float) -> float:
    now = time.perf_counter()
    timings.append((name, round(now - start, 3)))
    return now


def write_reports(
    frames: Frames,
    out_dir: str | Path,
    stats: StatsOptions | None = None,
    options: ReportOptions | None = None,
    targets: Iterable[Target] = (),
) -> SiteResult:
    """Analyse frames and write the whole site: the one call a batch run needs at its end.

    Raises:
        ReportError: No calls in the period, or the output cannot be written.
    """
    analysis = analyse(frames, stats, targets)
    return render_site(analysis, out_dir, options, coverage=period_coverage(frames.calls["started_at"], analysis.period))


def render_site(
    analysis: Analysis,
    out_dir: str | Path,
    options: ReportOptions | None = None,
    calibration: CalibrationReport | None = None,
    coverage: Coverage | None = None,
) -> SiteResult:
    """Write the whole site (and the team PDF unless ``options.pdf`` is off).

    Call pages are written before the pages that link to them, so a transcript that cannot be
    read only loses its own page, never leaves a dangling link.

    With a ``calibration`` (:func:`qa_pipeline.calibration.calibration_report`), the site also
    gets ``calibration.html``, linked from the overview.

    Every call of the period gets a page; pages whose inputs did not change since the last
    render into the same folder are kept (see :mod:`qa_pipeline.report.callpages`). With a
    ``coverage`` (:func:`qa_pipeline.report.coverage.coverage`), every page says how many calls
    fall outside the period and how to include them.

    Raises:
        ReportError: The output folder cannot be written, or the PDF cannot be made.
    """
    opts = options or ReportOptions()
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create report folder {out}: {exc.strerror or exc}") from exc
    try:
        return _render_site(analysis, out, opts, calibration, coverage)
    except OSError as exc:
        raise ReportError(f"cannot write the report in {out}: {exc}") from exc


def _render_site(
    analysis: Analysis, out: Path, opts: ReportOptions, calibration: CalibrationReport | None, coverage: Coverage | None
) -> SiteResult:
    timings: list[tuple[str, float]] = []
    t = time.perf_counter()
    site = _Site(analysis, out, opts, calibration=calibration, coverage=coverage)
    t = _timed(timings, "prepare", t)
    env = environment()
    index_template = env.get_template("index.html.j2")
    ctx = site.index_context()
    t = _timed(timings, "index charts", t)
    # The team PDF is one long single-threaded job: start it first, alongside the page workers.
    pdf_job = _start_pdf(index_template.render(dict(ctx, pdf=True)), out / TEAM_PDF, out, opts) if opts.pdf else None
    call_pages = site.write_call_pages()
    t = _timed(timings, "call pages", t)
    agent_pages = site.write_agent_pages(list(site.agent_slug))
    t = _timed(timings, "agent pages", t)
    calibration_page = None
    if calibration is not None:
        hrefs = {cid: site.call_href(cid, "") for cid in report_call_ids(calibration)}
        calibration_page = write_calibration_page(calibration, out, call_hrefs=hrefs, base=site.base("", False))
        t = _timed(timings, "calibration page", t)
    # Rendered after the call pages so that a call whose page failed is not linked.
    index = _write(out / "index.html", index_template.render(site.index_context_links(ctx)))
    t = _timed(timings, "index", t)
    pdfs = []
    if pdf_job is not None:
        pdfs.append(pdf_job())
        t = _timed(timings, "team pdf (wait)", t)
    log.info("report: %d agent pages, %d call pages in %s", len(agent_pages), len(call_pages), out)
    return SiteResult(out, index, tuple(agent_pages), tuple(call_pages), tuple(pdfs), tuple(timings), calibration_page,
                      site.calls_written["unchanged"])


def render_agent_report(
    analysis: Analysis, agent_id: str, out_dir: str | Path, options: ReportOptions | None = None, pdf: bool = True,
    coverage: Coverage | None = None,
) -> SiteResult:
    """Write one agent's page, its call pages and (``pdf``) ``agents/<agent>.pdf``.

    Raises:
        ReportError: The agent has no calls in the period, or the output cannot be written.
    """
    opts = options or ReportOptions()
    analysis.agent(agent_id)
    out = Path(out_dir)
    try:
        return _render_agent_report(analysis, agent_id, out, opts, pdf, coverage)
    except OSError as exc:
        raise ReportError(f"cannot write the report in {out}: {exc}") from exc


def _render_agent_report(
    analysis: Analysis, agent_id: str, out: Path, opts: ReportOptions, pdf: bool, coverage: Coverage | None
) -> SiteResult:
    timings: list[tuple[str, float]] = []
    t = time.perf_counter()
    site = _Site(analysis, out, opts, agent_ids=[agent_id], coverage=coverage)
    call_pages = site.write_call_pages()
    t = _timed(timings, "call pages", t)
    template = environment().get_template("agent.html.j2")
    ctx = site.agent_context(agent_id)
    slug = site.agent_slug[agent_id]
    page = _write(out / "agents" / f"{slug}.html", template.render(ctx))
    t = _timed(timings, "agent page", t)
    pdfs = []
    if pdf:
        pdfs.append(write_pdf(template.render(dict(ctx, pdf=True)), out / "agents" / f"{slug}.pdf", out / "agents"))
        t = _timed(timings, "agent pdf", t)
    return SiteResult(out, None, (page,), tuple(call_pages), tuple(pdfs), tuple(timings), None, site.calls_written["unchanged"])


def agent_page_path(analysis: Analysis, agent_id: str, out_dir: str | Path) -> Path:
    """Where the site puts an agent's page."""
    return Path(out_dir) / "agents" / f"{unique_slugs(analysis.agents['agent_id'])[agent_id]}.html"
