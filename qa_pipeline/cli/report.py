"""``qa report`` — the static report site and PDFs; ``qa agent`` — one agent in the terminal."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from qa_pipeline.cli import options as o
from qa_pipeline.cli.options import ConfigOpt, DbOpt, load
from qa_pipeline.errors import ConfigError

if TYPE_CHECKING:  # statistics pull in pandas and scipy: imported when a command runs, not at start-up
    from qa_pipeline.config import QAConfig
    from qa_pipeline.stats import Analysis, Frames, StatsOptions

SPARK = "▁▂▃▄▅▆▇█"

CallsOpt = Annotated[Optional[Path], typer.Option("--calls", help="Calls table written by `qa export` (CSV, Parquet or JSON).")]
CriteriaOpt = Annotated[Optional[Path], typer.Option("--criteria", help="Criteria table written by `qa export` (CSV, Parquet or JSON).")]


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


def _reports_folder(folder: Path | None, config: QAConfig) -> Path:
    """The report folder: as given, else ``reports`` of ``qa.toml`` (``./reports``)."""
    return folder if folder is not None else config.reports


@o.derive_flags
def report(
    calls: CallsOpt = None,
    criteria: CriteriaOpt = None,
    db: DbOpt = None,
    config_file: ConfigOpt = None,
    stats: o.Flags = o.STATS_FLAGS,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Report folder. Default: reports in qa.toml, else ./reports.")] = None,
    agent: Annotated[Optional[str], typer.Option("--agent", help="Only this agent's page (and its call pages).")] = None,
    pdf: Annotated[Optional[bool], typer.Option("--pdf/--no-pdf", help="Write PDF: the team report by default; with --agent, the agent's PDF when asked.")] = None,
    targets: Annotated[Optional[Path], typer.Option("--targets", help="Goals file (YAML or CSV); replaces [goals] of qa.toml for this report.")] = None,
    title: Annotated[Optional[str], typer.Option("--title", help="Report title. Default: [report] title in qa.toml.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=0, help="Page-rendering processes; 0 = one per core.")] = 0,
) -> None:
    """Write the report site (index, agent and call pages) and the team PDF.

    With --agent ID, write only that agent's page and call pages; add --pdf for its PDF.
    The store (--db) is read unless --calls and --criteria name exported tables. Statistics
    settings come from [stats] of qa.toml when present; flags override it.
    """
    from qa_pipeline.config import report_abilities
    from qa_pipeline.errors import ReportError
    from qa_pipeline.report import ReportOptions, render_agent_report, render_site
    from qa_pipeline.report.coverage import agent_outside_hint, coverage
    from qa_pipeline.stats import analyse, load_targets

    started = time.perf_counter()
    config = load(config_file)
    out = out if out is not None else config.reports
    frames = load_data(calls, criteria, db if db is not None else config.db)
    # --targets replaces the [goals] of qa.toml for this report.
    goals = load_targets(targets) if targets else config.goals
    analysis = analyse(frames, o.stats_options(stats, config), goals, report_abilities(config.scorecard))
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


def print_agent(analysis: Analysis, agent_id: str, reports: Path, console: Console, worst: int = 5, details: bool = False) -> None:
    """Print one agent's drill-down: flags, this period against the previous one, trend,
    top problems and worst calls, in plain units (m:ss, points, points per week).

    Args:
        analysis: The analysis.
        agent_id: The agent's id or name (see :meth:`Analysis.resolve_agent`).
        reports: The report folder, to point at pages that exist.
        console: Where to print.
        worst: Worst calls listed.
        details: Also print the test statistics behind the trend and the comparison.
    """
    from qa_pipeline.report.filters import slugify, unique_slugs
    from qa_pipeline.stats import FLAG_ADVICE, FLAG_LABELS, Flag
    from qa_pipeline.stats import display as d

    agent_id = analysis.resolve_agent(agent_id)
    row = analysis.agent(agent_id)
    team = analysis.teams.set_index("team").loc[row["team"]]
    opts = analysis.options
    view = d.agent_view(row.to_dict(), analysis.period.label, analysis.previous_period.label)
    # Untrusted names go in as Text, never as markup.
    console.print(Text.assemble((str(row["agent_name"]), "bold"), f"  {row['agent_id']} · team ", str(row["team"]),
                                f" · {analysis.period.label} · {int(row['n'])} calls"))
    for flag in row["flags"]:
        console.print(Text.assemble((f"{FLAG_LABELS[Flag(flag)]}: ", "bold"), FLAG_ADVICE[Flag(flag)]))
    enough = int(row["n"]) >= opts.min_calls
    if not enough:
        console.print(f"not enough data: {int(row['n'])} calls, need {opts.min_calls}")

    stats = Table(title="Statistics", show_edge=False)
    for col in ("", "agent", "team"):
        stats.add_column(col, justify="right" if col else "left")
    stats.add_row("average QA score", d.score(row["mean"]), d.score(team["mean"]))
    stats.add_row("median", d.score(row["median"]), d.score(team["median"]))
    stats.add_row("lowest – highest", f"{d.score(row['min'], 0)} – {d.score(row['max'], 0)}", f"{d.score(team['min'], 0)} – {d.score(team['max'], 0)}")
    stats.add_row("variation (CV)", d.score(row["cv"], 2), d.score(team["cv"], 2))
    stats.add_row("criteria passed", d.percent(row["pass_rate"]), d.percent(team["pass_rate"]))
    stats.add_row("average handle time", d.duration(row["aht_s"]), d.duration(team["aht_s"]))
    if enough:
        stats.add_row("rank in team", f"{d.score(row['rank'], 0)} of {int(row['team_size'])}", "")
    console.print(stats)

    compare = Table(title=f"This period against the previous one ({view['previous']}, {view['previous_calls']} calls)", show_edge=False)
    for col, just in (("", "left"), ("now", "right"), ("before", "right"), ("change", "right"), ("", "left")):
        compare.add_column(col, justify=just)
    for c in view["compare"]:
        compare.add_row(c["name"], c["now"], c["before"], c["change"], c["verdict"])
    console.print(compare)

    console.print(Text.assemble(("Trend: ", "bold"), view["trend"]))
    if view["trend_shown"]:
        weekly = analysis.weekly.loc[analysis.weekly["agent_id"] == row["agent_id"], "mean"].tolist()
        console.print(Text.assemble("weekly averages ", (sparkline(weekly), "cyan"),
                                    f"  {d.score(min(weekly))}–{d.score(max(weekly))}" if weekly else ""))
    if details:
        table = Table(title="Details", show_edge=False)
        table.add_column("statistic")
        table.add_column("value", justify="right")
        for name, value in view["details"]:
            table.add_row(name, value)
        console.print(table)

    problems = analysis.agent_problems(row["agent_id"])
    if problems.empty:
        small = int(row["n"]) < opts.min_problem_calls
        console.print(d.not_enough_text(int(row["n"]), opts.min_problem_calls) + ": no problems judged" if small
                      else "No criterion is failed significantly more often than by the rest of the team.")
    else:
        table = Table(title="Individual problems, costliest first", show_edge=False)
        for col, just in (("priority", "right"), ("criterion", "left"), ("failed", "right"), ("rate", "right"),
                          ("team", "right"), ("cost", "right"), ("examples", "left")):
            table.add_column(col, justify=just)
        for p in problems.to_dict("records"):
            v = d.problem_view(p)
            table.add_row(str(v["priority"]), Text(str(v["criterion"])), v["fails"], v["rate"], v["team_rate"], v["cost"],
                          Text(", ".join(v["examples"])))
        console.print(table)

    calls = analysis.ranked_calls(worst, worst=True, agent_id=row["agent_id"])
    ranked = bool(calls["ranked"].all()) if len(calls) else False
    title = "Worst calls" if ranked else f"Calls to review (too few to rank: {d.not_enough_text(int(row['n']), opts.min_list_calls)})"
    table = Table(title=title, show_edge=False)
    for col, just in (("call", "left"), ("date", "left"), ("score", "right"), ("duration", "right"), ("report", "left")):
        table.add_column(col, justify=just)
    slugs = unique_slugs(calls["call_id"])
    for c in calls.itertuples(index=False):
        page = reports / "calls" / f"{slugs.get(c.call_id, slugify(c.call_id))}.html"
        table.add_row(Text(str(c.call_id)), c.started_at.strftime("%Y-%m-%d %H:%M"), d.score(c.call_score), d.duration(c.duration_s),
                      Text(str(page) if page.is_file() else "no page"))
    console.print(table)
    agent_page = reports / "agents" / f"{unique_slugs(analysis.agents['agent_id'])[row['agent_id']]}.html"
    if agent_page.is_file():
        console.print(Text.assemble("Agent page: ", str(agent_page)))


@o.derive_flags
def agent(
    agent_id: Annotated[str, typer.Argument(metavar="AGENT", help="The agent's id or name (case-insensitive; part of a name works when it is unique).")],
    calls: CallsOpt = None,
    criteria: CriteriaOpt = None,
    db: DbOpt = None,
    config_file: ConfigOpt = None,
    stats: o.Flags = o.STATS_FLAGS,
    reports: Annotated[Optional[Path], typer.Option("--reports", help="Report folder, to list the pages of the worst calls. Default: reports in qa.toml, else ./reports.")] = None,
    worst: Annotated[int, typer.Option("--worst", min=1, help="Worst calls to list.")] = 5,
    details: Annotated[bool, typer.Option("--details", help="Also print the test statistics (p-values, Theil–Sen, Kendall τ).")] = False,
) -> None:
    """Print one agent's flags, this period against the previous one, trend, top problems and worst calls.

    The store (--db) is read unless --calls and --criteria name exported tables; [stats] of
    qa.toml applies as for qa report.
    """
    config = load(config_file)
    frames = load_data(calls, criteria, db if db is not None else config.db)
    from qa_pipeline.stats import analyse

    analysis = analyse(frames, o.stats_options(stats, config))
    print_agent(analysis, agent_id, _reports_folder(reports, config), Console(), worst, details)
