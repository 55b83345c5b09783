"""CSV exports cannot carry spreadsheet formulas (OWASP CSV injection), and read back intact."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest

from batch_support import SCORECARD, stored_result
from qa_pipeline.csvsafe import neutralise_cell, restore_cell
from qa_pipeline.results_export import export_results
from qa_pipeline.scorecard import load_scorecard
from qa_pipeline.stats import load_frames
from qa_pipeline.stats.frames import write_frames
from qa_pipeline.store import Store

CARD = load_scorecard(SCORECARD)
HOSTILE = {
    0: ("=HYPERLINK(\"http://x\",\"y\")", "+Cards"),
    1: ("-2+3", "@SUM(A1)"),
    2: ("\tTabbed", "\rReturn"),
    3: ("'=quoted", "Plain team"),
}


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "qa.db"
    with Store.open(path) as store:
        for n, (name, team) in HOSTILE.items():
            result = stored_result(n, CARD)
            store.save_call(replace(result, meta=replace(result.meta, agent_name=name, team=team)))
    return path


def _cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@x", "\tx", "\rx", "'=x", "''+x", "'x", "O'Brien", "", "x=1"])
def test_cells_round_trip(text):
    written = neutralise_cell(text)
    assert not written.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert restore_cell(written) == text
    assert neutralise_cell(-1.5) == -1.5  # numbers stay numbers


def test_export_csv_has_no_formula_cells_and_reads_back(store_path: Path, tmp_path: Path):
    with Store.open(store_path) as store:
        result = export_results(store, tmp_path / "out" / "results.csv")
    for path in (result.criteria_path, result.calls_path):
        cells = _cells(path)
        assert cells, path
        risky = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c.startswith("-") and not _number(c))]
        assert risky == [], path
    calls = _cells(result.calls_path)
    assert "'=HYPERLINK(\"http://x\",\"y\")" in calls and "'+Cards" in calls and "''=quoted" in calls
    frames = load_frames(result.calls_path, result.criteria_path)
    by_call = frames.calls.set_index("call_id")
    for n, (name, team) in HOSTILE.items():
        assert by_call.loc[f"c{n:05d}", "agent_name"] == name
        assert by_call.loc[f"c{n:05d}", "team"] == team

    # Tables written from frames (report inputs) are neutralised the same way.
    calls_csv, criteria_csv = write_frames(frames, tmp_path / "frames")
    assert "'=HYPERLINK(\"http://x\",\"y\")" in _cells(calls_csv)
    again = load_frames(calls_csv, criteria_csv)
    assert sorted(again.calls["agent_name"]) == sorted(name for name, _ in HOSTILE.values())


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
