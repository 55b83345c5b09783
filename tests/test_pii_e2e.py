"""End to end for redaction: a rendered call in which the customer reads a card number, a phone
number and an e-mail address goes through ``qa run`` (real tiny.en transcription), ``qa
export`` and ``qa report --pdf``. None of the digits or the address may reach the store, the
transcript cache, the exports, the run log, the HTML pages or the PDF text; the tokens
[CARD], [PHONE] and [EMAIL] must be there instead, and the redacted audio copy must keep the
recording's shape with a tone where the card number was read.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from qa_pipeline.cli.main import app
from qa_pipeline.pii import Entity, RedactionOptions, spans_from_transcript
from qa_pipeline.synth import CallScript, Line, RenderOptions, VoiceSpec, render_scripts
from qa_pipeline.transcript import Speaker, Transcript

HERE = Path(__file__).resolve().parent
SCORECARD = HERE.parent / "scorecards" / "default.en.yaml"

pytestmark = pytest.mark.e2e

A, C = Speaker.AGENT, Speaker.CUSTOMER
CARD = "5425233430109903"  # Luhn-valid (a Mastercard test number)
CARD_READ = "Five four two five. Two three three four. Three zero one zero. Nine nine zero three."
PHONE = "4155550172"
PHONE_READ = "Four one five. Five five five. Zero one seven two."
EMAIL = "mary.jones@outlook.com"
EMAIL_READ = "It's mary dot jones at outlook dot com."

SCRIPT = CallScript(
    call_id="pii-call",
    agent_id="A1",
    agent_name="Sarah",
    team="Cards",
    started_at=datetime(2024, 3, 1, 10, 0),
    steps=(
        Line(A, "Thank you for calling Riverside Bank, my name is Sarah. How can I help you today?"),
        Line(C, "Hi, I need to update the card on my account."),
        Line(A, "Of course. Can I have the new card number, please?"),
        Line(C, CARD_READ),
        Line(A, "Thank you. And a phone number we can reach you on?"),
        Line(C, PHONE_READ),
        Line(A, "And your email address?"),
        Line(C, EMAIL_READ),
        Line(A, "Perfect, you're all set. Thank you for calling, have a great day."),
    ),
    # A slightly slower customer: tiny.en then writes the digit groups as read.
    customer_voice=VoiceSpec(pitch=1.1, speed=1.1),
)


def _forbidden_patterns(raw: Transcript) -> list[re.Pattern[str]]:
    """What must not appear: the script's numbers and address, and what the recogniser made of them."""
    from qa_pipeline.pii import find_pii

    words = raw.words_of(C)
    said = [w.text for f in find_pii(raw, RedactionOptions()).get(C, []) for w in words[f.first : f.last + 1]]
    numbers = {CARD, PHONE, PHONE[-4:]} | {CARD[i : i + 4] for i in range(0, 16, 4)}
    numbers |= {d for d in (re.sub(r"\D", "", w) for w in said) if len(d) >= 4}
    names = {"jones", "outlook", EMAIL.split("@")[0]}
    names |= {n for n in (re.sub(r"[^a-z]", "", w.lower()) for w in said) if len(n) >= 4}
    return [re.compile(rf"(?<![0-9A-Za-z.]){n}(?![0-9A-Za-z])") for n in sorted(numbers)] + [
        re.compile(rf"(?<![a-z]){re.escape(n)}", re.IGNORECASE) for n in sorted(names)
    ]


def _texts(root: Path, suffixes: tuple[str, ...]) -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8", errors="replace") for p in root.rglob("*") if p.is_file() and p.suffix in suffixes}


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is needed to read the PDF text")
    work = tmp_path_factory.mktemp("pii-e2e")
    recordings = work / "recordings"
    render_scripts([SCRIPT], recordings, RenderOptions())
    # The ground-truth file beside the recording holds the script's text; it is not an input.
    for truth in recordings.glob("*.truth.json"):
        truth.rename(work / truth.name)
    runner = CliRunner()
    common = ["--db", str(work / "qa.db")]
    result = runner.invoke(
        app,
        ["run", str(recordings), *common, "--reports", str(work / "reports"), "--logs", str(work / "logs"),
         "--scorecard", str(SCORECARD), "--cache-dir", str(work / "cache"), "--redact-audio", str(work / "redacted")],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["export", *common, "--out", str(work / "exports" / "results.csv")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["export", *common, "--out", str(work / "exports" / "results.json")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["report", *common, "--out", str(work / "reports"), "--pdf", "--workers", "1"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["report", *common, "--out", str(work / "reports"), "--agent", "A1", "--pdf", "--workers", "1"])
    assert result.exit_code == 0, result.output
    return work


@pytest.fixture(scope="module")
def raw_transcript(processed, fw_engine):
    """The same call transcribed without redaction (into a separate cache), as the reference."""
    from qa_pipeline.cache import TranscriptCache
    from qa_pipeline.pipeline import StageTimings, transcribe_call

    timings = StageTimings()
    raw = transcribe_call(
        processed / "recordings" / "pii-call.wav", fw_engine, call_id="pii-call",
        cache=TranscriptCache(processed / "raw-cache"), timings=timings,
        redaction=RedactionOptions(enabled=False),
    )
    assert not timings.cached
    return raw


def test_the_recogniser_heard_the_personal_data(raw_transcript):
    customer = " ".join(w.text for w in raw_transcript.words_of(C))
    print("raw customer words:", customer)
    digits = re.sub(r"\D", "", customer)
    assert CARD in digits and PHONE in digits, customer
    assert "jones" in customer.lower()


def test_no_personal_data_anywhere_it_is_kept(processed, raw_transcript):
    patterns = _forbidden_patterns(raw_transcript)
    pdfs = sorted((processed / "reports").rglob("*.pdf"))
    assert len(pdfs) >= 2, "expected the team and the agent PDF"
    places: dict[str, str] = {}
    for db in processed.glob("qa.db*"):
        places[str(db)] = db.read_bytes().decode("latin-1")
    for root in ("exports", "reports", "logs", "cache"):
        for path, text in _texts(processed / root, (".csv", ".json", ".jsonl", ".html", ".txt", ".svg", ".js")).items():
            places[str(path)] = text
    for pdf in pdfs:
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert text.strip(), pdf
        places[str(pdf)] = text
    assert any(p.endswith(".html") for p in places) and any("exports" in p for p in places)
    leaks = [(where, pat.pattern) for where, text in places.items() for pat in patterns if pat.search(text)]
    assert not leaks, leaks


def test_tokens_take_their_place(processed):
    db_text = "".join(p.read_bytes().decode("latin-1") for p in processed.glob("qa.db*"))
    html = "".join(_texts(processed / "reports", (".html",)).values())
    for token in ("[CARD]", "[PHONE]", "[EMAIL]"):
        assert token in db_text, token
        assert token in html, token
    stored = next((processed / "reports" / "transcripts").glob("*.json"))
    transcript = Transcript.from_dict(json.loads(stored.read_text(encoding="utf-8")))
    record = transcript.options["redaction"]
    assert record["enabled"] and record["counts"] == {"card": 1, "phone": 1, "email": 1}
    assert [s.entity for s in spans_from_transcript(transcript)] == [Entity.CARD, Entity.PHONE, Entity.EMAIL]


def test_qa_transcribe_writes_redacted_files(processed, raw_transcript, tmp_path):
    shutil.copytree(processed / "cache", tmp_path / "cache")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["transcribe", str(processed / "recordings"), "--out", str(out), "--format", "txt,vtt,srt",
         "--cache-dir", str(tmp_path / "cache"), "--redact-audio", str(tmp_path / "redacted")],
    )
    assert result.exit_code == 0, result.output
    files = _texts(out, (".json", ".txt", ".vtt", ".srt"))
    assert len(files) == 4
    patterns = _forbidden_patterns(raw_transcript)
    for path, text in files.items():
        assert "[CARD]" in text and "[PHONE]" in text and "[EMAIL]" in text, path
        assert not [p.pattern for p in patterns if p.search(text)], path
    assert sf.info(str(tmp_path / "redacted" / "pii-call.wav")).frames == sf.info(str(processed / "recordings" / "pii-call.wav")).frames


def test_changed_redaction_options_are_not_served_from_the_cache(processed, fw_engine, tmp_path):
    from qa_pipeline.cache import TranscriptCache
    from qa_pipeline.pipeline import StageTimings, transcribe_call

    # A copy: the transcript redacted for e-mails only must not land in the run's cache.
    shutil.copytree(processed / "cache", tmp_path / "cache")
    cache = TranscriptCache(tmp_path / "cache")
    path = processed / "recordings" / "pii-call.wav"
    same = StageTimings()
    transcribe_call(path, fw_engine, call_id="pii-call", cache=cache, timings=same)
    assert same.cached
    other = StageTimings()
    t = transcribe_call(path, fw_engine, call_id="pii-call", cache=cache, timings=other,
                        redaction=RedactionOptions(entities=("email",)))
    assert not other.cached
    assert "[EMAIL]" in t.text and "[CARD]" not in t.text


def test_redacted_audio_copy_keeps_shape_and_tones_the_card(processed):
    original, rate = sf.read(processed / "recordings" / "pii-call.wav", always_2d=True)
    copy, copy_rate = sf.read(processed / "redacted" / "pii-call.wav", always_2d=True)
    assert copy_rate == rate and copy.shape == original.shape
    assert sf.info(str(processed / "redacted" / "pii-call.wav")).subtype == "ULAW"
    stored = next((processed / "reports" / "transcripts").glob("*.json"))
    spans = spans_from_transcript(Transcript.load(stored))
    card = next(s for s in spans if s.entity is Entity.CARD)
    middle = slice(int((card.start + 0.2) * rate), int((card.end - 0.2) * rate))
    customer = 1  # rendered with the agent on channel 0
    spectrum = np.abs(np.fft.rfft(copy[middle, customer]))
    freqs = np.fft.rfftfreq(len(copy[middle, customer]), 1 / rate)
    assert abs(freqs[int(np.argmax(spectrum))] - 1000.0) < 5.0
    # The agent's channel is untouched.
    assert np.allclose(copy[:, 1 - customer], original[:, 1 - customer])


def test_call_pages_and_exports_point_at_the_redacted_copy(processed):
    redacted = (processed / "redacted" / "pii-call.wav").resolve()
    with open(processed / "exports" / "results.calls.csv", newline="", encoding="utf-8") as f:
        [row] = list(csv.DictReader(f))
    assert Path(row["audio_path"]).resolve() == redacted
    # Browsers cannot play μ-law, so the page plays a PCM copy: of the redacted recording.
    [played] = sorted((processed / "reports" / "audio").glob("*.wav"))
    page_audio, rate = sf.read(played, always_2d=True)
    copy, _ = sf.read(redacted, always_2d=True)
    original, _ = sf.read(processed / "recordings" / "pii-call.wav", always_2d=True)
    assert page_audio.shape == copy.shape
    assert np.abs(page_audio - copy).max() < 1e-3 < np.abs(page_audio - original).max()
    pages = "".join(_texts(processed / "reports", (".html",)).values())
    assert str(processed / "recordings") not in pages
