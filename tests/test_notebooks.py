"""The notebooks run top to bottom against the library (executed, not just parsed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

nbformat = pytest.importorskip("nbformat", reason="notebook tests need nbformat, nbclient and ipykernel")
nbclient = pytest.importorskip("nbclient", reason="notebook tests need nbformat, nbclient and ipykernel")


def test_notebooks_are_found() -> None:
    # A glob that matches nothing would otherwise make the parametrised test below vanish.
    assert NOTEBOOKS, f"no notebooks found in {ROOT / 'notebooks'}"
    assert ROOT / "notebooks" / "agent_drilldown.ipynb" in NOTEBOOKS


def _execute(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> tuple[list, str]:
    # The kernel is a child process: it finds the package through PYTHONPATH and writes its
    # outputs under tmp_path.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("QA_NOTEBOOK_OUT", str(tmp_path / "out"))
    for name in ("QA_CALLS", "QA_CRITERIA", "QA_AGENT", "QA_DB"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), "every code cell ran"
    outputs = [o for c in code for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    return outputs, text


def _page(text: str) -> Path:
    assert "agent page:" in text
    return Path(text.split("agent page:", 1)[1].split()[0])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs, text = _execute(path, tmp_path, monkeypatch, {})
    page = _page(text)
    assert page.is_file() and page.stat().st_size > 10_000
    if path.stem == "agent_drilldown":
        # Charts are displayed as images, never as a Figure's repr; the period is the reports' 30 days.
        assert sum("image/svg+xml" in o.get("data", {}) for o in outputs) >= 2
        plain = "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs) + text
        assert "<Figure size" not in plain
        assert "(30 days)" in text


def test_drilldown_on_an_export_with_no_flagged_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two steady agents: nobody is declining, warned, encouraged or coached, and the agent is
    # chosen by name from a `qa export`-style table.
    import numpy as np
    import pandas as pd

    from qa_pipeline.stats import prepare_frames, write_frames

    days = pd.date_range("2026-11-01 10:00", periods=40, freq="D")
    scores = 90 + np.tile([1.0, -1.0], 20)
    calls = pd.DataFrame(
        {
            "call_id": [f"{a}{i}" for a in "ab" for i in range(40)],
            "agent_id": ["A1"] * 40 + ["B2"] * 40,
            "agent_name": ["Ana Steady"] * 40 + ["Ben Steady"] * 40,
            "team": "T",
            "started_at": list(days) * 2,
            "duration_s": 300.0,
            "call_score": list(scores) * 2,
        }
    )
    criteria = pd.DataFrame({"call_id": calls["call_id"], "criterion_id": "greeting", "verdict": "pass",
                             "points": 10.0, "max_points": 10.0})
    calls_file, criteria_file = write_frames(prepare_frames(calls, criteria), tmp_path / "export")
    path = ROOT / "notebooks" / "agent_drilldown.ipynb"
    _, text = _execute(path, tmp_path, monkeypatch, {"QA_CALLS": str(calls_file), "QA_CRITERIA": str(criteria_file),
                                                     "QA_AGENT": "ben steady"})
    assert "Ben Steady (B2)" in text and "recognise" in text
    assert _page(text).is_file()
