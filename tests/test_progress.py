"""``qa run``'s progress bar and grouped help."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from qa_pipeline.batch import BatchProgress
from qa_pipeline.cli.main import app
from qa_pipeline.cli.run import PANELS, progress_fields


def _progress(**kw: object) -> BatchProgress:
    base = {"total": 8, "done": 0, "failed": 0, "skipped": 0, "audio_seconds": 0.0, "elapsed_seconds": 12.0}
    base.update(kw)
    return BatchProgress(**base)  # type: ignore[arg-type]


def test_loading_phase_is_named_while_nothing_can_finish() -> None:
    fields = progress_fields(_progress(phase="loading model"))
    assert fields["description"] == "loading model" and fields["left"] == ""


def test_bar_names_the_calls_in_progress_with_rate_and_time_left() -> None:
    p = _progress(done=3, current=("C4", "C5"), call_id="C3", audio_seconds=600.0, calls_seconds=6.0, calls_done=3)
    assert p.calls_per_second == 0.5 and p.remaining_seconds == 10.0
    fields = progress_fields(p)
    assert fields["description"] == "calls (now: C4, C5)"  # not C3, which has finished
    assert fields["rate"] == "0.50 calls/s" and fields["left"] == "10.0s left"
    # Before a call has finished since loading, the rate is not guessed.
    early = progress_fields(_progress(current=("C1",), calls_seconds=1.0, calls_done=0))
    assert early["rate"] == "– calls/s" and early["left"] == "time left: measuring"


def test_run_help_groups_options_by_purpose() -> None:
    res = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    headings = re.findall(r"^([A-Z][A-Za-z ]+):$", res.output, flags=re.M)
    assert headings == ["Arguments", *PANELS, "Other options"]
    assert res.output.split("\nOther options:\n", 1)[1].split()[0] == "--help"  # and nothing else
    assert len(res.output.split("\nOther options:\n", 1)[1].strip().splitlines()) == 1
    section = res.output.split("\nPersonal data:\n", 1)[1].split("\n\n", 1)[0]
    assert "--redact" in section and "--engine" not in section
