"""Leak test over the whole pipeline.

One rendered call (~40 s, piper voices) in which the customer reads a card number, a phone
number, an e-mail address (partly spelled), a social security number and a date of birth the
way people say them (digit groups, "double seven", letters) goes through ``qa run`` with the
defaults, ``qa export`` and ``qa report --pdf``. Then every place the pipeline keeps things
is searched: the store (dump and raw file), the transcript cache, the run logs, the report
site (HTML, JSON), the PDF text, the exports, and what the recogniser hears when it listens
to the site's audio copy again.

What is searched for is never an exact transcript: it is the planted values' digit groups
and names, and whatever the recogniser itself made of them in an unredacted run of the same
call (its digit runs and words inside the found personal data). The same search over a run
with ``--no-redact`` must find some of them, or the test would prove nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa_pipeline.cli.main import app
from qa_pipeline.pii import RedactionOptions, find_pii, spans_from_transcript
from qa_pipeline.synth import CallScript, Line, RenderOptions, VoiceSpec, render_scripts
from qa_pipeline.transcript import Speaker, Transcript

HERE = Path(__file__).resolve().parent
SCORECARD = HERE.parent / "scorecards" / "default.en.yaml"

pytestmark = pytest.mark.e2e

A, C = Speaker.AGENT, Speaker.CUSTOMER
CARD = "5425233430109903"  # Luhn-valid (a Mastercard test number)
PHONE = "4155550177"
SSN = "536225525"
EMAIL_NAMES = ("mary", "jones", "outlook")
BIRTH_YEAR = "1985"

SCRIPT = CallScript(
    call_id="pii-call",
    agent_id="A1",
    agent_name="Sarah",
    team="Cards",
    started_at=datetime(2024, 6, 11, 10, 0),
    steps=(
        Line(A, "Thank you for calling Riverside Bank, my name is Sarah. How can I help you today?"),
        Line(C, "Hi, I need to update the card on my account."),
        Line(A, "Of course. Can I have the new card number, please?"),
        Line(C, "Five four two five, two three three four, three zero one zero, nine nine zero three."),
        Line(A, "And a phone number we can reach you on?"),
        Line(C, "Four one five, five five five, zero one double seven."),
        Line(A, "And your email address?"),
        Line(C, "It's mary dot J O N E S at outlook dot com."),
        Line(A, "Can you confirm your social security number and date of birth?"),
        Line(C, "Five three six, two two, five five two five. I was born on the third of March, nineteen eighty five."),
        Line(A, "Perfect, you're all set. Thank you for calling, have a great day."),
    ),
    customer_voice=VoiceSpec(pitch=1.1, speed=1.1),
)


def planted_patterns(raw: Transcript) -> dict[str, re.Pattern[str]]:
    """What must not appear, by name: the planted values' digit groups (4+ digits) and names,
    and the digit runs and words the recogniser wrote inside the personal data it found."""
    numbers = {CARD, PHONE, SSN, BIRTH_YEAR, PHONE[-4:], SSN[-4:]} | {CARD[i : i + 4] for i in range(0, 16, 4)}
    words = raw.words_of(C)
    said = [w.text for f in find_pii(raw, RedactionOptions()).get(C, []) for w in words[f.first : f.last + 1]]
    numbers |= {d for d in (re.sub(r"\D", "", w) for w in said) if len(d) >= 4}
    names = set(EMAIL_NAMES) | {n for n in (re.sub(r"[^a-z]", "", w.lower()) for w in said) if len(n) >= 4}
    names -= {"march", "born", "dot", "that", "third", "nineteen", "eighty", "five"}  # words, not the values
    # Not part of a longer number, a word or a decimal (timings such as 0.5425 or 1985.3).
    out = {n: re.compile(rf"(?<![0-9A-Za-z.]){n}(?![A-Za-z])(?!\.?[0-9])") for n in sorted(numbers)}
    out.update({n: re.compile(rf"(?<![a-z]){re.escape(n)}", re.IGNORECASE) for n in sorted(names)})
    return out


def _run(work: Path, recordings: Path, cache: Path, *flags: str) -> None:
    runner = CliRunner()
    common = ["--db", str(work / "qa.db")]
    result = runner.invoke(
        app,
        ["run", str(recordings), *common, "--reports", str(work / "reports"), "--logs", str(work / "logs"),
         "--scorecard", str(SCORECARD), "--cache-dir", str(cache), *flags],
    )
    assert result.exit_code == 0, result.output
    for out in ("results.csv", "results.json"):
        result = runner.invoke(app, ["export", *common, "--out", str(work / "exports" / out)])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["report", *common, "--out", str(work / "reports"), "--pdf", "--workers", "1"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["report", *common, "--out", str(work / "reports"), "--agent", "A1", "--pdf", "--workers", "1"])
    assert result.exit_code == 0, result.output


def places(work: Path, cache: Path) -> dict[str, str]:
    """Every text the pipeline left, by where it is."""
    found: dict[str, str] = {}
    with sqlite3.connect(work / "qa.db") as conn:
        found["store dump"] = "\n".join(conn.iterdump())
    for db in work.glob("qa.db*"):
        found[str(db)] = db.read_bytes().decode("latin-1")
    for root in (work / "exports", work / "reports", work / "logs", cache):
        for path in root.rglob("*"):
            if path.is_file() and path.suffix in (".csv", ".json", ".jsonl", ".html", ".txt", ".svg", ".js"):
                found[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    pdfs = sorted((work / "reports").rglob("*.pdf"))
    assert len(pdfs) >= 2, "expected the team and the agent PDF"
    for pdf in pdfs:
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert text.strip(), pdf
        found[str(pdf)] = text
    return found


def leaks(texts: dict[str, str], patterns: dict[str, re.Pattern[str]]) -> dict[str, list[str]]:
    """Planted value name → the places it was found."""
    out: dict[str, list[str]] = {}
    for name, pattern in patterns.items():
        where = [place for place, text in texts.items() if pattern.search(text)]
        if where:
            out[name] = where
    return out


@pytest.fixture(scope="module")
def call(tmp_path_factory):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is needed to read the PDF text")
    work = tmp_path_factory.mktemp("pii-e2e")
    recordings = work / "recordings"
    render_scripts([SCRIPT], recordings, RenderOptions())
    # The ground-truth file beside the recording holds the script's text; it is not an input.
    for truth in recordings.glob("*.truth.json"):
        truth.rename(work / truth.name)
    return recordings


@pytest.fixture(scope="module")
def raw_transcript(call, fw_engine, tmp_path_factory):
    """The call transcribed without redaction, into the cache the --no-redact run reuses."""
    from qa_pipeline.cache import TranscriptCache
    from qa_pipeline.pipeline import StageTimings, transcribe_call

    cache = tmp_path_factory.mktemp("raw-cache")
    timings = StageTimings()
    raw = transcribe_call(call / "pii-call.wav", fw_engine, call_id="pii-call", cache=TranscriptCache(cache),
                          timings=timings, redaction=RedactionOptions(enabled=False))
    assert not timings.cached
    return raw, cache


@pytest.fixture(scope="module")
def redacted_run(call, tmp_path_factory):
    work = tmp_path_factory.mktemp("redacted-run")
    _run(work, call, work / "cache")
    return work


def test_nothing_planted_survives_a_default_run(redacted_run, raw_transcript, fw_engine):
    from qa_pipeline.pipeline import transcribe_call

    raw, _ = raw_transcript
    patterns = planted_patterns(raw)
    texts = places(redacted_run, redacted_run / "cache")
    assert any(p.endswith(".html") for p in texts) and any("exports" in p for p in texts)
    # The site plays a redacted copy inside the site; listening to it again recovers nothing.
    [played] = sorted((redacted_run / "reports" / "audio").iterdir())
    assert ".redacted-" in played.name
    heard = transcribe_call(played, fw_engine, call_id="heard", redaction=RedactionOptions(enabled=False))
    texts["site audio, recognised again"] = heard.text
    found = leaks(texts, patterns)
    assert found == {}, found


def test_tokens_take_their_place(redacted_run):
    stored = next((redacted_run / "reports" / "transcripts").glob("*.json"))
    transcript = Transcript.from_dict(json.loads(stored.read_text(encoding="utf-8")))
    record = transcript.options["redaction"]
    spans = spans_from_transcript(transcript)
    # Which entities the recogniser's words let the redactor see varies with the recogniser;
    # the record, the tokens in the text and the pages agree whatever they are.
    assert record["enabled"] and spans and sum(record["counts"].values()) == len(spans)
    html = "".join(p.read_text(encoding="utf-8") for p in (redacted_run / "reports").rglob("*.html"))
    for span in spans:
        assert span.entity.token in transcript.text and span.entity.token in html, span


def test_the_search_finds_planted_values_when_redaction_is_off(call, raw_transcript, tmp_path):
    raw, cache = raw_transcript
    patterns = planted_patterns(raw)
    _run(tmp_path, call, cache, "--no-redact")
    found = leaks(places(tmp_path, cache), patterns)
    print(f"sensitivity: {len(found)} of {len(patterns)} planted values found with redaction off: {sorted(found)}")
    assert len(found) > 0
    # The unredacted run was served from the reference transcription (no second recognition).
    assert list(Path(cache).rglob("*-piioff.json"))


def test_qa_transcribe_writes_redacted_files(call, redacted_run, raw_transcript, tmp_path):
    raw, _ = raw_transcript
    shutil.copytree(redacted_run / "cache", tmp_path / "cache")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["transcribe", str(call), "--out", str(out), "--format", "txt,vtt,srt", "--cache-dir", str(tmp_path / "cache")],
    )
    assert result.exit_code == 0, result.output
    files = {p: p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file()}
    assert len(files) == 4
    patterns = planted_patterns(raw)
    for path, text in files.items():
        assert re.search(r"\[(CARD|PHONE|EMAIL|SSN|DOB)\]", text), path
        assert leaks({str(path): text}, patterns) == {}, path
