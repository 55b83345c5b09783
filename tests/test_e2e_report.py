"""End to end for the analysis method: rendered calls of drifting agents → ``qa run`` (real
transcription and scoring into a real store) → verdicts, statistics and the report site.

The stored verdicts must agree with what each call planted, the planted improving agent must
be flagged "encourage" and the planted sliding one "early warning". One batch serves all of
it: rendering and transcribing the calls is most of this suite's time."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa_pipeline.cli.main import app
from qa_pipeline.stats import StatsOptions, analyse
from qa_pipeline.store import Store, read_frames
from qa_pipeline.synth import RenderOptions, load_scenario, render_scripts
from verdict_agreement import agreement, unbacked_passes

HERE = Path(__file__).resolve().parent
SCORECARD = HERE.parent / "scorecards" / "default.en.yaml"

pytestmark = pytest.mark.e2e


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links += [v for k, v in attrs if k == "href" and v]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    work = tmp_path_factory.mktemp("drift-batch")
    scripts = load_scenario(HERE / "data" / "drift_team.yaml").scripts()
    truths = render_scripts(scripts, work / "recordings", RenderOptions())
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["run", str(work / "recordings"), "--db", str(work / "qa.db"), "--reports", str(work / "reports"),
         "--logs", str(work / "logs"), "--scorecard", str(SCORECARD), "--cache-dir", str(work / "cache")],
    )
    assert result.exit_code == 0, result.output
    return work, truths


def test_stored_verdicts_agree_with_planted_ground_truth(batch):
    work, truths = batch
    with Store.open(work / "qa.db", create=False) as store:
        scored = [(t, store.score(t.call_id)) for t in truths]
    assert all(score is not None for _, score in scored)
    agree, total, lines = agreement(scored)
    print("\n" + "\n".join(lines))
    assert total >= 100
    assert agree / total >= 0.95, lines
    assert unbacked_passes(scored) == []


def test_planted_drift_carries_the_coaching_flags(batch):
    work, truths = batch
    frames = read_frames(work / "qa.db")
    analysis = analyse(frames, StatsOptions())
    assert len(analysis.frames.calls) == len(truths)
    improving, sliding = analysis.agent("T01"), analysis.agent("T02")
    print("\n", analysis.agents[["agent_id", "n", "mean", "slope_per_week", "flags"]].to_string())
    assert improving["flags"][0] == "encourage"
    assert sliding["flags"][0] == "early_warning"
    assert not set(analysis.agent("T04")["flags"]) & {"encourage", "early_warning"}


def test_report_pages_show_the_flags_and_link_up(batch):
    work, _ = batch
    reports = work / "reports"
    index = (reports / "index.html").read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(index)
    local = [h.split("#")[0] for h in parser.links if not h.startswith(("http", "#", "mailto:"))]
    assert local and all((reports / h).is_file() for h in local if h)
    for agent_id, flag in (("T01", "Encourage"), ("T02", "Early warning")):
        page = (reports / "agents" / f"{agent_id}.html").read_text(encoding="utf-8")
        assert flag in page
