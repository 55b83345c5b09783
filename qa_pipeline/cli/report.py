"""``qa report`` — the static report site and PDFs; ``qa agent`` — one agent in the terminal."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from qa_pipeline.errors import ConfigError

if TYPE_CHECKING:  # statistics pull in pandas and scipy: imported when a command runs, not at start-up
    from qa_pipeline.stats import Analysis, Frames, StatsOptions

SPARK = "▁▂▃▄▅▆▇█"

CallsOpt = Annotated[Optional[Path], typer.Option("--calls", help="Calls table written by `qa export` (CSV, Parquet or JSON).")]
CriteriaOpt = Annotated[Optional[Path], typer.Option("--criteria", help="Criteria table written by `qa export` (CSV, Parquet or JSON).")]
DbOpt = Annotated[Optional[str], typer.Option("--db", help="Results store (SQLite path or database URL); used when --calls/--criteria are not given. Default: db in qa.toml, else ./qa.db.")]
FromOpt = Annotated[Optional[datetime], typer.Option("--from", formats=["%Y-%m-%d"], help="First day of the period (default: 30 days before --to).")]
ToOpt = Annotated[Optional[datetime], typer.Option("--to", formats=["%Y-%m-%d"], help="Last day of the period (default: the day of the latest call).")]
AlphaOpt = Annotated[float, typer.Option("--alpha", min=0.0001, max=0.5, help="Significance level for trends and problems.")]
MinCallsOpt = Annotated[int, typer.Option("--min-calls", min=3, help="Fewer calls than this: flagged insufficient data.")]


def load_data(calls: Path | None, criteria: Path | None, db: str | None) -> Frames:
    """The frames to analyse, from exported tables or the results store.

    Args:
        calls: Exported calls table.
        criteria: Exported criteria table.
        db: The store; None = ``db`` of ``qa.toml`` (``./qa.db`` without one).

    Raises:
        ConfigError: Only one of --calls/--criteria is given, there is no way to read the
            store, or ``qa.toml`` is not valid.
    """
    if calls or criteria:
        if not (calls and criteria):
            raise ConfigError("--calls and --criteria go together: pass both exported tables")
        from qa_pipeline.stats import load_frames

        return load_frames(calls, criteria)
    from qa_pipeline.store import read_frames

    if db is None:
        from qa_pipeline.config import load_config

        db = load_config().db
    return read_frames(db)


def _reports_folder(folder: Path | None) -> Path:
    """The report folder: as given, else ``reports`` of ``qa.toml`` (``./reports``)."""
    if folder is not None:
        return folder
    from qa_pipeline.config import load_config

    return load_config().reports


def _stats_options(date_from: datetime | None, date_to: datetime | None, alpha: float, min_calls: int) -> StatsOptions:
    from qa_pipeline.stats import StatsOptions

    return StatsOptions.from_dict(
        {
            "period_from": date_from.date() if date_from else None,
            "period_to": date_to.date() if date_to else None,
            "alpha": alpha,
            "min_calls": min_calls,
        }
    )


def report(
    calls: CallsOpt = None,
    criteria: CriteriaOpt = None,
    db: DbOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Report folder. Default: reports in qa.toml, else ./reports.")] = None,
    agent: Annotated[Optional[str], typer.Option("--agent", help="Only this agent's page (and its call pages).")] = None,
    pdf: Annotated[Optional[bool], typer.Option("--pdf/--no-pdf", help="Write PDF: the team report by default; with --agent, the agent's PDF when asked.")] = None,
    targets: Annotated[Optional[Path], typer.Option("--targets", help="Goals file (YAML or CSV).")] = None,
    title: Annotated[Optional[str], typer.Option("--title", help="Report title. Default: [report] title in qa.toml.")] = None,
    alpha: AlphaOpt = 0.05,
    min_calls: MinCallsOpt = 8,
    workers: Annotated[int, typer.Option("--workers", min=0, help="Page-rendering processes; 0 = one per core.")] = 0,
) -> None:
    """Write the report site (index, agent and call pages) and the team PDF.

    With --agent ID, write only that agent's page and call pages; add --pdf for its PDF.
    """
    from qa_pipeline.config import load_config
    from qa_pipeline.errors import ReportError
    from qa_pipeline.report import ReportOptions, render_agent_report, render_site
    from qa_pipeline.report.coverage import agent_outside_hint, coverage
    from qa_pipeline.stats import analyse, load_targets

    started = time.perf_counter()
    config = load_config()
    out = out if out is not None else config.reports
    frames = load_data(calls, criteria, db if db is not None else config.db)
    goals = load_targets(targets) if targets else ()
    analysis = analyse(frames, _stats_options(date_from, date_to, alpha, min_calls), goals)
    opts = ReportOptions(title=title if title is not None else config.report_title, workers=workers, pdf=True if pdf is None else pdf)
    outside = coverage(frames.calls["started_at"], analysis.period)
    if agent is not None:
        try:
            result = render_agent_report(analysis, agent, out, opts, pdf=bool(pdf), coverage=outside)
        except ReportError as exc:
            raise ReportError(f"{exc}{agent_outside_hint(frames.calls, agent, analysis.period)}") from exc
    else:
        result = render_site(analysis, out, opts, calibration=_calibration(calls, criteria, db if db is not None else config.db),
                             coverage=outside)
    wall = time.perf_counter() - started
    where = result.index or result.agent_pages[0]
    typer.echo(
        f"Wrote {where}: {len(result.agent_pages)} agent page(s), {len(result.call_pages)} call page(s)"
        + (f" ({result.calls_unchanged} unchanged call page(s) kept)" if result.calls_unchanged else "")
        + "".join(f", {p}" for p in result.pdfs)
        + f" for {analysis.period.label} in {wall:.1f}s"
    )
    if not outside.complete:
        typer.echo(outside.sentence())


def _calibration(calls: Path | None, criteria: Path | None, db: str) -> Any:
    """The human-vs-machine calibration for the site, when reading a store that holds evaluations."""
    if calls or criteria:
        return None  # exported tables carry no human evaluations
    from qa_pipeline.calibration import calibration_report
    from qa_pipeline.store import Store

    with Store.open(db, create=False) as store:
        return calibration_report(store)


def sparkline(values: list[float]) -> str:
    """Block characters scaled between the values' own minimum and maximum."""
    clean = [v for v in values if v == v]
    if not clean:
        return ""
    lo, hi = min(clean), max(clean)
    span = (hi - lo) or 1.0
    return "".join(" " if v != v else SPARK[min(len(SPARK) - 1, int((v - lo) / span * (len(SPARK) - 1) + 0.5))] for v in values)


def _fmt(value: object, spec: str = ".1f") -> str:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"
    return "–" if f != f else format(f, spec)


def print_agent(analysis: Analysis, agent_id: str, reports: Path, console: Console, worst: int = 5) -> None:
    """Print one agent's drill-down (stats, flags, trend, problems, worst calls)."""
    from qa_pipeline.report.filters import slugify, unique_slugs
    from qa_pipeline.stats import FLAG_ADVICE, FLAG_LABELS, Flag

    row = analysis.agent(agent_id)
    team = analysis.teams.set_index("team").loc[row["team"]]
    # Untrusted names go in as Text, never as markup.
    console.print(Text.assemble((str(row["agent_name"]), "bold"), f"  {row['agent_id']} · team ", str(row["team"]),
                                f" · {analysis.period.label} · {int(row['n'])} calls"))
    for flag in row["flags"]:
        console.print(Text.assemble((f"{FLAG_LABELS[Flag(flag)]}: ", "bold"), FLAG_ADVICE[Flag(flag)]))

    stats = Table(title="Statistics", show_edge=False)
    for col in ("", "agent", "team"):
        stats.add_column(col, justify="right" if col else "left")
    stats.add_row("mean score", _fmt(row["mean"]), _fmt(team["mean"]))
    stats.add_row("median", _fmt(row["median"]), _fmt(team["median"]))
    stats.add_row("std / CV", f"{_fmt(row['std'])} / {_fmt(row['cv'], '.2f')}", f"{_fmt(team['std'])} / {_fmt(team['cv'], '.2f')}")
    stats.add_row("min – max", f"{_fmt(row['min'], '.0f')} – {_fmt(row['max'], '.0f')}", f"{_fmt(team['min'], '.0f')} – {_fmt(team['max'], '.0f')}")
    stats.add_row("criteria passed", _fmt(100 * row["pass_rate"], ".0f") + "%", _fmt(100 * team["pass_rate"], ".0f") + "%")
    stats.add_row("AHT (s)", _fmt(row["aht_s"], ".0f"), _fmt(team["aht_s"], ".0f"))
    stats.add_row("rank · quartile · z", f"{_fmt(row['rank'], '.0f')}/{int(row['team_size'])} · Q{_fmt(row['quartile'], '.0f')} · {_fmt(row['z'], '+.2f')}", "")
    console.print(stats)

    weekly = analysis.weekly.loc[analysis.weekly["agent_id"] == row["agent_id"], "mean"].tolist()
    console.print(
        Text.assemble(
            ("Trend ", "bold"),
            f"{_fmt(row['slope_per_week'], '+.2f')} points/week [{_fmt(row['slope_ci_low'], '+.2f')}, {_fmt(row['slope_ci_high'], '+.2f')}], "
            f"p={_fmt(row['slope_p'], '.3f')}; Theil–Sen {_fmt(row['theil_slope'], '+.2f')}; "
            f"Kendall τ {_fmt(row['kendall_tau'], '.2f')} (p={_fmt(row['kendall_p'], '.3f')}) → ",
            (str(row["direction"]), "bold"),
        )
    )
    console.print(Text.assemble("weekly means ", (sparkline(weekly), "cyan"),
                                f"  {_fmt(min(weekly) if weekly else None)}–{_fmt(max(weekly) if weekly else None)}"))

    problems = analysis.agent_problems(row["agent_id"])
    table = Table(title="Individual problems (fails more often than the team)", show_edge=False)
    for col, just in (("criterion", "left"), ("fails", "right"), ("rate", "right"), ("team", "right"), ("p", "right"), ("examples", "left")):
        table.add_column(col, justify=just)
    for p in problems.itertuples(index=False):
        table.add_row(Text(str(p.criterion_title)), f"{p.fails}/{p.n}", f"{100 * p.rate:.0f}%", f"{100 * p.team_rate:.0f}%",
                      _fmt(p.p_value, ".1e"), Text(", ".join(p.example_calls)))
    if problems.empty:
        console.print("No individual problems.")
    else:
        console.print(table)

    calls = analysis.ranked_calls(worst, worst=True, agent_id=row["agent_id"])
    table = Table(title="Worst calls", show_edge=False)
    for col, just in (("call", "left"), ("date", "left"), ("score", "right"), ("report", "left")):
        table.add_column(col, justify=just)
    slugs = unique_slugs(calls["call_id"])
    for c in calls.itertuples(index=False):
        page = reports / "calls" / f"{slugs.get(c.call_id, slugify(c.call_id))}.html"
        table.add_row(Text(str(c.call_id)), c.started_at.strftime("%Y-%m-%d %H:%M"), _fmt(c.call_score), Text(str(page) if page.is_file() else "–"))
    console.print(table)
    agent_page = reports / "agents" / f"{unique_slugs(analysis.agents['agent_id'])[row['agent_id']]}.html"
    if agent_page.is_file():
        console.print(Text.assemble("Agent page: ", str(agent_page)))


def agent(
    agent_id: Annotated[str, typer.Argument(help="The agent's id.")],
    calls: CallsOpt = None,
    criteria: CriteriaOpt = None,
    db: DbOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    reports: Annotated[Optional[Path], typer.Option("--reports", help="Report folder, to list the pages of the worst calls. Default: reports in qa.toml, else ./reports.")] = None,
    worst: Annotated[int, typer.Option("--worst", min=1, help="Worst calls to list.")] = 5,
    alpha: AlphaOpt = 0.05,
    min_calls: MinCallsOpt = 8,
) -> None:
    """Print one agent's statistics, flags, trend, individual problems and worst calls."""
    frames = load_data(calls, criteria, db)
    from qa_pipeline.stats import analyse

    analysis = analyse(frames, _stats_options(date_from, date_to, alpha, min_calls))
    print_agent(analysis, agent_id, _reports_folder(reports), Console(), worst)
