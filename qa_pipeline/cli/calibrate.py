"""``qa calibrate`` — import human QA evaluations and measure the machine's verdicts against them."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from qa_pipeline.cli.app import table_console
from qa_pipeline.cli.options import ConfigOpt, DbOpt, load
from qa_pipeline.errors import ReportError

if TYPE_CHECKING:
    from rich.console import Console

    from qa_pipeline.calibration import Agreement, CalibrationReport, ImportSummary



class OutputFormat(str, Enum):
    table = "table"
    json = "json"


def calibrate(
    evaluations: Annotated[
        Optional[Path],
        typer.Argument(metavar="[HUMAN.csv]", help="CSV of human evaluations (call_id, criterion_id, verdict and/or points, evaluator, date; optional total, comment). Omit to report on those already imported."),
    ] = None,
    db: DbOpt = None,
    config_file: ConfigOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Report folder to write calibration.html into (default: reports in qa.toml, else ./reports).")] = None,
    page: Annotated[bool, typer.Option("--page/--no-page", help="Write the calibration page.")] = True,
    output: Annotated[OutputFormat, typer.Option("--format", help="Print a table or JSON.")] = OutputFormat.table,
    show: Annotated[int, typer.Option("--show", min=0, help="Disagreements listed in the table output.")] = 20,
) -> None:
    """Import human QA evaluations and compare them with the machine's verdicts.

    Prints per criterion the percent agreement, Cohen's kappa and its Landis & Koch reading,
    the confusion of verdicts and the calls where people and the machine disagree; call
    totals (Pearson, Spearman, mean absolute difference); each evaluator; and evaluators
    against each other on calls judged twice. Importing the same file again changes nothing.
    """
    from qa_pipeline.calibration import calibration_report, import_evaluations
    from qa_pipeline.store import Store

    config = load(config_file)
    summary = None
    with Store.open(db if db is not None else config.db, create=False) as store:
        if evaluations is not None:
            summary = import_evaluations(store, evaluations)
        report = calibration_report(store)
        where = str(store)
    if report is None:
        raise ReportError(f"{where}: no human evaluations yet; pass a CSV of them: qa calibrate HUMAN.csv")
    written = None
    if page:
        from qa_pipeline.report.calibration_page import write_calibration_page

        written = write_calibration_page(report, out if out is not None else config.reports, title=config.report_title)
    if output is OutputFormat.json:
        typer.echo(
            json.dumps(
                {
                    "store": where,
                    "import": None if summary is None else summary.to_dict(),
                    "page": None if written is None else str(written),
                    "calibration": report.to_dict(),
                },
                indent=1,
                ensure_ascii=False,
            )
        )
        return
    _print(report, summary, written, show)


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "–" if value is None else format(value, spec)


def _kappa(a: Agreement) -> str:
    if a.kappa is None:
        return "–"
    interval = f" [{a.kappa_low:.2f}, {a.kappa_high:.2f}]" if a.kappa_low is not None else ""
    return f"{a.kappa:.2f}{interval}"


def _print(report: CalibrationReport, summary: ImportSummary | None, page: Path | None, show: int) -> None:
    from rich.table import Table
    from rich.text import Text

    console = table_console()
    if summary is not None:
        console.print(
            Text(
                f"Imported {summary.source}: {summary.rows} verdicts of {summary.calls} call(s) by {len(summary.evaluators)} "
                f"evaluator(s): {summary.inserted} new, {summary.updated} changed, {summary.unchanged} already stored."
            ),
            soft_wrap=True,
        )
    o = report.overall
    console.print(
        Text.assemble(
            ("Calibration: ", "bold"),
            f"{report.evaluations} human verdicts on {report.calls} call(s) by {', '.join(report.evaluators)} "
            f"({report.first_evaluated} – {report.last_evaluated}); agreement {_fmt(o.percent, '.1f')}%, κ {_kappa(o)} ",
            (o.band, "bold"),
        ),
        soft_wrap=True,
    )
    if report.skipped:
        console.print(Text(f"{report.skipped} stored verdict(s) left out: their call or criterion has no machine verdict now.", style="yellow"))

    table = Table(title="Per criterion (machine against people)", title_justify="left")
    for name, justify in (("criterion", "left"), ("n", "right"), ("agree", "right"), ("κ [95% CI]", "right"), ("reading", "left"),
                          ("people κ", "right"), ("m:pass h:fail", "right"), ("m:fail h:pass", "right"), ("na differs", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for c in report.criteria:
        m = c.confusion
        na_differs = sum(m.count("na", x) + m.count(x, "na") for x in ("pass", "fail"))
        table.add_row(
            Text(c.criterion_id),
            str(c.agreement.n),
            f"{_fmt(c.agreement.percent, '.1f')}%",
            _kappa(c.agreement),
            c.agreement.band,
            "–" if c.between_evaluators is None else _fmt(c.between_evaluators.kappa),
            str(m.count("pass", "fail")),
            str(m.count("fail", "pass")),
            str(na_differs),
        )
    console.print(table)

    t = report.totals
    console.print(
        Text(
            f"Call totals ({t.n}): Pearson r {_fmt(t.pearson_r)} (p {_fmt(t.pearson_p, '.3g')}), Spearman ρ {_fmt(t.spearman_rho)} "
            f"(p {_fmt(t.spearman_p, '.3g')}), mean |human − machine| {_fmt(t.mean_abs_diff, '.1f')}, mean human − machine "
            f"{_fmt(t.mean_diff, '+.1f')}"
        ),
        soft_wrap=True,
    )

    people = Table(title="Per evaluator", title_justify="left")
    for name, justify in (("evaluator", "left"), ("calls", "right"), ("n", "right"), ("agree", "right"), ("κ", "right"), ("reading", "left"),
                          ("totals r", "right"), ("mean |diff|", "right")):
        people.add_column(name, justify=justify)  # type: ignore[arg-type]
    for e in report.by_evaluator:
        people.add_row(Text(e.evaluator), str(e.calls), str(e.agreement.n), f"{_fmt(e.agreement.percent, '.1f')}%", _kappa(e.agreement),
                       e.agreement.band, _fmt(e.totals.pearson_r), _fmt(e.totals.mean_abs_diff, ".1f"))
    console.print(people)

    if report.pairs:
        pairs = Table(title="Evaluator against evaluator (same calls)", title_justify="left")
        for name, justify in (("evaluators", "left"), ("calls", "right"), ("n", "right"), ("agree", "right"), ("κ between them", "right"),
                              ("κ machine/first", "right"), ("κ machine/second", "right")):
            pairs.add_column(name, justify=justify)  # type: ignore[arg-type]
        for p in report.pairs:
            pairs.add_row(Text(f"{p.first} · {p.second}"), str(p.calls), str(p.agreement.n), f"{_fmt(p.agreement.percent, '.1f')}%",
                          _kappa(p.agreement), _fmt(p.machine_first.kappa), _fmt(p.machine_second.kappa))
        console.print(pairs)

    _print_disagreements(console, report, show)
    if page is not None:
        console.print(Text(f"Calibration page: {page}"))
        index = page.parent / "index.html"
        if index.is_file() and 'href="calibration.html"' not in index.read_text(encoding="utf-8"):
            console.print(Text("The overview links it from the next `qa report` or `qa run`.", style="dim"))


def _print_disagreements(console: Console, report: CalibrationReport, show: int) -> None:
    from rich.table import Table
    from rich.text import Text

    disagreements = report.disagreements
    if not disagreements or show == 0:
        return
    table = Table(title=f"Disagreements ({len(disagreements)})", title_justify="left")
    for name in ("call", "criterion", "evaluator", "human", "machine", "machine's evidence"):
        table.add_column(name)
    for d in disagreements[:show]:
        quote = next((e for e in d.evidence if e.text), None)
        heard = ""
        if quote is not None:
            heard = f' — {quote.start:.1f}s "{quote.text}"' if quote.start is not None else f' — "{quote.text}"'
        table.add_row(Text(d.call_id), Text(d.criterion_id), Text(d.evaluator), d.human.value, d.machine.value, Text(d.reason + heard))
    console.print(table)
    if len(disagreements) > show:
        console.print(Text(f"… and {len(disagreements) - show} more (--show N, or --format json)"))
