"""End to end for mono recordings: rendered mono calls → ``qa run`` (real tiny.en recognition,
real diarization, real scoring, real store) → agent and customer right, one-voice calls
flagged, and an install without the diarization extra recording the call as needing it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa_pipeline.cli.main import app
from qa_pipeline.diarization import diarization_available
from qa_pipeline.store import Store
from qa_pipeline.synth import CallScript, Line, RenderOptions, VoiceSpec, render_scripts
from qa_pipeline.transcript import RolesSource, Speaker

# The default scorecard's phrase lists without its meaning examples: diarization and roles are
# under test here, and each worker process would otherwise load the sentence-embedding model.
from batch_support import SCORECARD

EXTRA_INSTALLED = diarization_available()
NEEDS_EXTRA = pytest.mark.skipif(
    not EXTRA_INSTALLED, reason="needs the diarization extra: pip install 'qa-pipeline[diarization]'"
)

pytestmark = pytest.mark.e2e

A, C = Speaker.AGENT, Speaker.CUSTOMER
TWO_PARTY = (
    (C, "Hello, is this Riverside Bank?"),
    (A, "Thank you for calling Riverside Bank, my name is Sarah. How can I help you today?"),
    (C, "Hi, my card was declined at the shop this morning, and I have money in my account."),
    (A, "I'm sorry to hear that. Can I have your full name and date of birth, please?"),
    (C, "Yes, it's Daniel Brown, the third of May, nineteen eighty."),
    (A, "Thank you. I have removed the block, so the card will work again from now on."),
    (C, "Great, thanks a lot."),
    (A, "Is there anything else I can help you with today? Thanks for calling, goodbye."),
)
VOICEMAIL = (
    (A, "Hello, this is Maria from Riverside Bank, calling about the card you ordered last week."),
    (A, "It has been sent to the address we have on file, and it should arrive within five working days."),
    (A, "If you have any questions, please call us back on the number on the back of your card. Thank you."),
)


def script(call_id: str, lines, customer_pitch: float = 1.18) -> CallScript:
    return CallScript(
        call_id=call_id, agent_id="A01", agent_name="Sarah", team="Cards", started_at=datetime(2024, 3, 4, 9, 0),
        steps=tuple(Line(sp, text) for sp, text in lines),
        agent_voice=VoiceSpec(pitch=0.88, speed=1.0), customer_voice=VoiceSpec(pitch=customer_pitch, speed=0.95),
        stereo=False,
    )


def run(work: Path, *extra: str):
    return CliRunner().invoke(
        app,
        ["run", str(work / "recordings"), "--db", str(work / "qa.db"), "--reports", str(work / "reports"),
         "--logs", str(work / "logs"), "--scorecard", str(SCORECARD), "--cache-dir", str(work / "cache"), *extra],
    )


@pytest.fixture(scope="module")
def mono_batch(tmp_path_factory):
    work = tmp_path_factory.mktemp("mono-batch")
    render_scripts([script("mono-call", TWO_PARTY), script("voicemail", VOICEMAIL)], work / "recordings", RenderOptions())
    result = run(work)
    assert result.exit_code == 0, result.output
    return work


@NEEDS_EXTRA
def test_mono_call_gets_the_right_agent_word_by_word(mono_batch):
    with Store.open(mono_batch / "qa.db") as store:
        t = store.transcript("mono-call")
        score = store.score("mono-call")
    assert t.audio.channels == 1
    assert t.roles.source is RolesSource.DIARIZATION and t.roles.inferred
    assert t.roles.confidence >= 0.9 and not t.roles.review, t.roles
    agent = " ".join(w.text for w in t.words_of(Speaker.AGENT)).lower()
    customer = " ".join(w.text for w in t.words_of(Speaker.CUSTOMER)).lower()
    for said in ("thank you for calling", "removed the block", "anything else"):
        assert said in agent.replace(",", ""), (said, agent)
    for said in ("riverside bank?", "this morning", "thanks a lot"):
        assert said in customer.replace(",", ""), (said, customer)
    # The customer speaks first; the agent's greeting, not the order, decides.
    assert t.turns[0].speaker is Speaker.CUSTOMER and "hello" in t.turns[0].text.lower()
    assert score is not None and not score.roles_review
    assert score.result("greeting").verdict.value == "pass"


@NEEDS_EXTRA
def test_one_voice_call_is_scored_and_flagged(mono_batch):
    with Store.open(mono_batch / "qa.db") as store:
        t = store.transcript("voicemail")
        score = store.score("voicemail")
        failed = {f.call_id for f in store.failures(None)}
    assert "voicemail" not in failed
    assert t.roles.method == "single_speaker" and t.roles.review
    assert {turn.speaker for turn in t.turns} == {Speaker.AGENT}, "Maria introduces herself: the one voice is the agent"
    assert score is not None and score.roles_review
    flagged = [r.id for r in score.results if r.roles_review]
    assert flagged and all(score.result(i).verdict.value != "na" for i in flagged)
    status = CliRunner().invoke(app, ["status", "--db", str(mono_batch / "qa.db"), "--json"])
    assert status.exit_code == 0, status.output


def test_without_the_extra_the_call_is_recorded_as_needing_it(tmp_path, monkeypatch):
    # A stand-in package that fails to import, first on the path: in this process and in the
    # worker processes (they start with the parent's sys.path), resemblyzer is "not installed".
    fake = tmp_path / "no-extra"
    (fake / "resemblyzer").mkdir(parents=True)
    (fake / "resemblyzer" / "__init__.py").write_text('raise ImportError("No module named \'resemblyzer\'")\n')
    monkeypatch.syspath_prepend(str(fake))
    monkeypatch.delitem(__import__("sys").modules, "resemblyzer", raising=False)
    render_scripts([script("mono-short", TWO_PARTY[:4])], tmp_path / "recordings", RenderOptions())

    result = run(tmp_path, "--no-report")
    assert result.exit_code == 1, result.output
    with Store.open(tmp_path / "qa.db") as store:
        failures = store.failures(None)
    assert [f.call_id for f in failures] == ["mono-short"]
    assert "mono diarization needs the optional extra: pip install 'qa-pipeline[diarization]'" in failures[0].error
    status = CliRunner().invoke(app, ["status", "--db", str(tmp_path / "qa.db"), "--json"])
    shown = json.loads(status.output)["failures"]
    assert "qa-pipeline[diarization]" in shown[0]["error"]

    if not EXTRA_INSTALLED:
        return
    # Installing the extra and retrying picks the call up.
    monkeypatch.undo()
    result = run(tmp_path, "--no-report", "--retry-failed")
    assert result.exit_code == 0, result.output
    with Store.open(tmp_path / "qa.db") as store:
        assert store.failures(None) == []
        assert store.transcript("mono-short").roles.source is RolesSource.DIARIZATION
