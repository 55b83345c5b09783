"""``qa`` — the top-level command."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from qa_pipeline import __version__
from qa_pipeline.cli.app import new_app
from qa_pipeline.log import LOGGER_NAME, StderrHandler

app = new_app("Offline call-recording quality assurance: transcribe, score, report.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"qa_pipeline {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output (-vv for debug).")] = 0,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


from qa_pipeline.cli import bench as _bench  # noqa: E402
from qa_pipeline.cli import calibrate as _calibrate  # noqa: E402
from qa_pipeline.cli import export as _export  # noqa: E402
from qa_pipeline.cli import forget as _forget  # noqa: E402
from qa_pipeline.cli import report as _report  # noqa: E402
from qa_pipeline.cli import run as _run  # noqa: E402
from qa_pipeline.cli import score as _score  # noqa: E402
from qa_pipeline.cli import scorecard as _scorecard  # noqa: E402
from qa_pipeline.cli import status as _status  # noqa: E402
from qa_pipeline.cli import synth as _synth  # noqa: E402
from qa_pipeline.cli import transcribe as _transcribe  # noqa: E402

app.command("run", cls=_run.PanelCommand)(_run.run)
app.command("status")(_status.status)
app.command("transcribe")(_transcribe.transcribe)
app.command("score")(_score.score)
app.add_typer(_scorecard.app, name="scorecard")
app.command("report")(_report.report)
app.command("agent")(_report.agent)
app.command("export")(_export.export)
app.command("synth")(_synth.synth)
app.command("bench")(_bench.bench)
app.command("calibrate")(_calibrate.calibrate)
app.command("forget")(_forget.forget)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
