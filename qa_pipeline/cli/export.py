"""``qa export`` — results as CSV, Parquet or JSON: one row per (call, criterion) plus a calls table."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from qa_pipeline.cli.app import new_app
from qa_pipeline.cli.options import ConfigOpt, DbOpt, load


class ExportFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"
    json = "json"


def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="The (call, criterion) table to write.")],
    fmt: Annotated[Optional[ExportFormat], typer.Option("--format", "-f", help="File format (default: from --out's extension).")] = None,
    calls_out: Annotated[Optional[Path], typer.Option("--calls-out", help="The calls table (default: beside --out as NAME.calls.EXT).")] = None,
    db: DbOpt = None,
    config_file: ConfigOpt = None,
    date_from: Annotated[Optional[datetime], typer.Option("--from", formats=["%Y-%m-%d"], help="First day of calls to export.")] = None,
    date_to: Annotated[Optional[datetime], typer.Option("--to", formats=["%Y-%m-%d"], help="Last day of calls to export.")] = None,
    scorecard_hash: Annotated[Optional[str], typer.Option("--scorecard-hash", help="Only scores of this scorecard (default: each call's latest score).")] = None,
) -> None:
    """Export scored calls: one row per (call, criterion) with verdict, points, score and
    evidence, and a calls table beside it. Columns are listed in docs/batch.md."""
    from qa_pipeline.results_export import export_results
    from qa_pipeline.store import Store

    with Store.open(db or load(config_file).db, create=False) as store:
        result = export_results(
            store,
            out,
            fmt.value if fmt else None,
            calls_out,
            date_from.date() if date_from else None,
            date_to.date() if date_to else None,
            scorecard_hash,
        )
    typer.echo(f"Exported {result.rows} row(s) for {result.calls} call(s) -> {result.criteria_path}, {result.calls_path}")


app = new_app("Export results.")


@app.callback()
def _group() -> None:
    """Export results."""


app.command("export")(export)
