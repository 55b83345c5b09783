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


def test_batch_reports_loading_then_the_calls_in_flight(tmp_path_factory, tmp_path) -> None:
    from batch_support import SCORECARD, good_calls, session_audio, write_manifest

    from qa_pipeline.batch import BatchOptions, run_batch
    from qa_pipeline.store import Store

    audio = session_audio(tmp_path_factory)
    rec = tmp_path / "rec"
    write_manifest(rec, good_calls(rec, audio.clips, ("call-001", "call-002", "call-003")))
    opts = BatchOptions(recordings=rec, scorecard=SCORECARD, cache_dir=audio.cache, log_dir=tmp_path / "logs", workers=1)
    events: list[BatchProgress] = []
    with Store.open(tmp_path / "qa.db") as store:
        run_batch(store, opts, events.append)
    phases = [e.phase for e in events]
    # The model is loaded before the first call can finish, and the bar says so.
    assert "loading model" in phases and phases[-1] == "calls"
    assert all(e.done == 0 for e in events if e.phase == "loading model")
    # The bar names the call being worked on, never the one that just finished.
    working = [e for e in events if e.current]
    assert working and all(e.call_id not in e.current for e in working if e.call_id)
    assert {c for e in working for c in e.current} == {"call-001", "call-002", "call-003"}
    assert events[-1].done == 3 and events[-1].remaining_seconds == 0.0
