"""The decisive verdicts on a real recorded call (one run of the real recogniser): the agent's
introduction and apology count, and nobody is interrupted."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_pipeline.criteria import Verdict
from qa_pipeline.pipeline import transcribe_call
from qa_pipeline.scorecard import load_scorecard
from qa_pipeline.scoring import score_transcript
from qa_pipeline.transcript import Speaker

ROOT = Path(__file__).resolve().parent.parent
REALCALLS = ROOT.parent / "shared" / "realcalls"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (REALCALLS / "ar40.flac").exists(), reason=f"real calls not found at {REALCALLS}"),
]


def test_ar40_introduction_and_apology_count_and_no_interruption(fw_engine, asr_cache) -> None:
    # The agent opens "... Platinum Motors. I'm Michelle, how can I help you today?" and, after
    # the customer's puzzled report of a warning light on a new car, says "I'm so sorry for the
    # inconvenience" (labels.json).
    transcript = transcribe_call(REALCALLS / "ar40.flac", fw_engine, cache=asr_cache)
    score = score_transcript(transcript, load_scorecard(ROOT / "scorecards" / "default.en.yaml"))
    intro = score.result("self_identification")
    assert intro.verdict is Verdict.PASS, intro.reason
    assert intro.evidence[0].speaker is not None and intro.evidence[0].speaker.value == "agent"
    assert intro.evidence[0].start is not None and intro.evidence[0].start < 10.0
    empathy = score.result("empathy")
    assert empathy.verdict is Verdict.PASS, empathy.reason
    answer = [e for e in empathy.evidence if e.speaker is not None and e.speaker.value == "agent"]
    assert answer and "sorry" in answer[0].text.lower()
    # A QA lead hears no interruption: the customer's long turn at 168-201 s is not talked over.
    assert score.characteristics.interruptions_by(Speaker.AGENT) == ()
    assert score.result("interruptions").verdict is Verdict.PASS, score.result("interruptions").reason
