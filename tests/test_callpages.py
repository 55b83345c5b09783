"""Call page building blocks: verdict rows shared across summary pages, the page manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from qa_pipeline.report.callpages import CRITERION_COLUMNS, Manifest, Rows, VerdictTables


def _criteria() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "call_id": ["a", "a", "b", "b", "c"],
            "criterion_id": ["greeting", "closing", "greeting", "closing", "greeting"],
            "criterion_title": ["Greeting", None, "Greeting", None, "Greeting"],
            "verdict": ["pass", "fail", "pass", "fail", "fail"],
            "points": [10.0, 0.0, 10.0, 0.0, 0.0],
            "max_points": [10.0, 10.0, 10.0, 10.0, 10.0],
            "evidence": ["[]"] * 5,
            "missing": [None, "no <b>offer</b> of help", None, "no <b>offer</b> of help", np.nan],
        }
    )


def test_verdict_rows_are_escaped_in_row_order_and_shared_by_calls_with_the_same_rows() -> None:
    crit = _criteria()
    tables = VerdictTables(Rows(crit, "call_id", CRITERION_COLUMNS), crit)
    a = tables.get("a")
    assert a.split("\n") == [
        '<tr><td>Greeting</td><td><span class="verdict verdict-pass">pass</span></td><td class="n">10 / 10</td>'
        '<td class="muted"></td></tr>',
        # No title: the id stands in; what was missing is untrusted text and escaped.
        '<tr><td>closing</td><td><span class="verdict verdict-fail">fail</span></td><td class="n">0 / 10</td>'
        '<td class="muted">no &lt;b&gt;offer&lt;/b&gt; of help</td></tr>',
    ]
    assert tables.get("b") is a
    assert tables.get("c") == (
        '<tr><td>Greeting</td><td><span class="verdict verdict-fail">fail</span></td><td class="n">0 / 10</td>'
        '<td class="muted"></td></tr>'
    )
    assert tables.get("no such call") == ""


def test_a_page_is_stale_when_its_inputs_changed_or_its_file_is_gone(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path)
    manifest.save({"C1": "h1", "C2": "h2"})
    again = Manifest(tmp_path)
    existing = {"C1.html", "C2.html"}
    assert not again.stale("C1", "h1", existing)
    assert again.stale("C1", "changed", existing)
    assert again.stale("C2", "h2", {"C1.html"})
    assert again.stale("C3", "h3", existing)
