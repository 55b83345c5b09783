"""``qa export``, ``qa status``, report refresh and folder defaults, on a store of scripted calls."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from batch_support import SCORECARD, stored_result
from qa_pipeline.cli.export import app as export_app
from qa_pipeline.cli.status import app as status_app
from qa_pipeline.errors import ConfigError, ReportError
from qa_pipeline.results_export import CALLS_EXPORT_COLUMNS, CRITERIA_EXPORT_COLUMNS, calls_path_for, export_results
from qa_pipeline.scorecard import load_scorecard
from qa_pipeline.stats import load_frames as load_exported
from qa_pipeline.stats.frames import read_table
from qa_pipeline.store import CallStatus, ErrorKind, RunCounts, RunStatus, Store

CARD = load_scorecard(SCORECARD)
DOCUMENTED = (
    "call_id", "agent_id", "agent_name", "team", "started_at", "criterion_id", "criterion_title", "verdict",
    "points", "max_points", "call_score", "duration_s", "evidence", "missing",
)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch) -> Path:
    """A working folder with ./qa.db holding 5 scored calls, 1 failure and 2 runs."""
    monkeypatch.chdir(tmp_path)
    with Store.open(tmp_path / "qa.db") as store:
        run = store.start_run(str(tmp_path / "rec"), {"workers": 1})
        for n in range(5):
            store.save_call(stored_result(n, CARD, greeting=n != 3), run)
        failed = stored_result(9, CARD)
        store.save_call(
            replace(failed, status=CallStatus.FAILED, transcript=None, score=None,
                    error=f"{failed.meta.path}: truncated: the file ends early", error_kind=ErrorKind.AUDIO),
            run,
        )
        store.finish_run(run, RunStatus.FAILED, RunCounts(discovered=6, transcribed=6, succeeded=5, failed=1, audio_seconds=200), 12.0)
        store.start_run(str(tmp_path / "rec"), {"workers": 1})  # still running
    return tmp_path


def test_export_columns_are_exactly_the_documented_ones(folder: Path) -> None:
    assert CRITERIA_EXPORT_COLUMNS == DOCUMENTED
    with Store.open("qa.db") as store:
        result = export_results(store, folder / "out" / "results.csv")
    assert result.calls_path == folder / "out" / "results.calls.csv" == calls_path_for(result.criteria_path)
    crit = pd.read_csv(result.criteria_path)
    calls = pd.read_csv(result.calls_path)
    assert tuple(crit.columns) == DOCUMENTED and tuple(calls.columns) == CALLS_EXPORT_COLUMNS
    assert len(calls) == 5 and len(crit) == 5 * len(CARD.criteria) == result.rows
    assert set(crit["verdict"]) <= {"pass", "fail", "na"}
    assert crit["started_at"].iloc[0] == "2024-03-01T09:00:00"
    greeting = crit[(crit["call_id"] == "c00003") & (crit["criterion_id"] == "greeting")].iloc[0]
    assert greeting["verdict"] == "fail" and isinstance(greeting["missing"], str) and greeting["missing"]
    evidence = json.loads(greeting["evidence"])
    assert evidence and {"kind", "rule", "speaker", "start", "end", "text"} <= set(evidence[0])
    assert "c00009" not in set(calls["call_id"])  # the failed call has no score


def test_exports_read_back_into_statistics(folder: Path) -> None:
    with Store.open("qa.db") as store:
        for fmt in ("csv", "json", "parquet"):
            if fmt == "parquet":
                pytest.importorskip("pyarrow")
            result = export_results(store, folder / f"r.{fmt}")
            frames = load_exported(result.calls_path, result.criteria_path)
            assert len(frames.calls) == 5 and len(frames.criteria) == 5 * len(CARD.criteria), fmt
            assert str(frames.calls["started_at"].dtype) == "datetime64[ns]"
    data = json.loads((folder / "r.json").read_text(encoding="utf-8"))
    assert isinstance(data[0]["evidence"], list) and list(data[0]) == list(DOCUMENTED)
    # JSON lines read back the same, and a file of another shape is refused by name.
    with Store.open("qa.db") as store:
        result = export_results(store, folder / "r.json")
    lines = folder / "lines.calls.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in json.loads(result.calls_path.read_text(encoding="utf-8"))), encoding="utf-8")
    assert len(read_table(lines)) == 5
    bad = folder / "bad.json"
    bad.write_text('{"call_id": "c1"}', encoding="utf-8")
    with pytest.raises(ReportError, match=r"bad\.json: expected a list of records"):
        read_table(bad)


def test_export_period_and_format_errors(folder: Path) -> None:
    with Store.open("qa.db") as store:
        some = export_results(store, folder / "x.csv", period_from=pd.Timestamp("2024-03-02").date(), period_to=pd.Timestamp("2024-03-03").date())
        assert some.calls == 2
        with pytest.raises(ConfigError, match="cannot tell the format from the extension"):
            export_results(store, folder / "x.txt")
        with pytest.raises(ConfigError, match="unknown format 'xml'"):
            export_results(store, folder / "x.csv", fmt="xml")


def test_cli_export_and_status_find_the_store_with_no_flags(folder: Path) -> None:
    out = CliRunner().invoke(export_app, ["export", "--out", "results.json"])
    assert out.exit_code == 0, out.output
    assert f"Exported {5 * len(CARD.criteria)} row(s) for 5 call(s) -> results.json, results.calls.json" in out.stdout
    custom = CliRunner().invoke(export_app, ["export", "--out", "crit.data", "--format", "csv", "--calls-out", "calls.data"])
    assert custom.exit_code == 0 and (folder / "calls.data").is_file(), custom.output

    status = CliRunner().invoke(status_app, ["status"])
    assert status.exit_code == 0, status.output
    text = status.stdout
    assert "5 call(s) scored, 1 failed" in text and "Failed calls (1)" in text
    assert "truncated: the file ends early" in text and "running" in text and "failed" in text
    as_json = json.loads(CliRunner().invoke(status_app, ["status", "--json"]).stdout)
    assert as_json["calls"] == {"ok": 5, "failed": 1} and [r["status"] for r in as_json["runs"]] == ["running", "failed"]
    assert as_json["failures"][0]["error_kind"] == "audio"


def test_qa_toml_points_commands_at_another_store(folder: Path) -> None:
    (folder / "data").mkdir()
    (folder / "qa.db").rename(folder / "data" / "results.db")
    missing = CliRunner().invoke(status_app, ["status"])
    assert missing.exit_code == 2 and "no results store here" in missing.stderr
    (folder / "qa.toml").write_text('db = "data/results.db"\n', encoding="utf-8")
    assert CliRunner().invoke(status_app, ["status"]).exit_code == 0
    assert CliRunner().invoke(export_app, ["export", "--out", "e.csv"]).exit_code == 0
    assert not (folder / "qa.db").exists()


def test_reports_refresh_from_the_store(folder: Path) -> None:
    from qa_pipeline.report.refresh import refresh_reports

    with Store.open("qa.db") as store:
        site = refresh_reports(store, folder / "reports")
        assert site is not None and site.index.is_file() and site.agent_pages
        copies = sorted((folder / "reports" / "transcripts").glob("*.json"))
        assert len(copies) == 5
        calls, _ = store.load_frames()
        assert all(Path(p).is_file() for p in calls["transcript_path"])
    assert site.call_pages  # the report's call pages read the transcript copies
