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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel is a child process: it finds the package through PYTHONPATH and writes its
    # outputs under tmp_path.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("QA_NOTEBOOK_OUT", str(tmp_path / "out"))
    for name in ("QA_CALLS", "QA_CRITERIA", "QA_AGENT"):
        monkeypatch.delenv(name, raising=False)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()

    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), "every code cell ran"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    text = "".join(o.get("text", "") for c in code for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert "agent page:" in text
    page = Path(text.split("agent page:", 1)[1].split()[0])
    assert page.is_file() and page.stat().st_size > 10_000
