"""Redacting a store filled with redaction off: ``qa run --rescore`` cleans transcripts,
scores, evidence, reports, exports and the transcript cache."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batch_support import SCORECARD
from qa_pipeline.cli.main import app
from qa_pipeline.metadata import CallMetadata
from qa_pipeline.pii import RedactionOptions
from qa_pipeline.pii.options import DETECTOR_VERSION
from qa_pipeline.pii.stored import needs_redaction
from qa_pipeline.scorecard import load_scorecard
from qa_pipeline.scoring import score_transcript
from qa_pipeline.store import CallResult, CallStatus, CallTimings, Store
from transcript_factory import make_transcript

CARD = load_scorecard(SCORECARD)
# What the customer says, and the values that must not survive redaction (digit runs are
# compared with separators removed).
LINES = [
    ("agent", 0.5, "Thank you for calling Northwind Bank, my name is Sarah, how can I help you today?"),
    ("customer", 7.0, "Hi, I was charged twice. My card number is 4556 7375 8689 9855."),
    ("agent", 13.0, "I am sorry to hear that. And the security code on the back?"),
    ("customer", 17.0, "It's 042."),
    ("agent", 19.0, "Can I have a phone number and your email?"),
    ("customer", 22.0, "My number is 617-555-0123 and my email is mary.jones@example.com."),
    ("agent", 29.0, "And your date of birth and social security number?"),
    ("customer", 32.0, "I was born on March 3, 1985. My social security number is 536-22-5525."),
    ("agent", 40.0, "Thank you for calling, have a great day."),
]
PLANTED = ("4556737586899855", "6175550123", "mary.jones@example.com", "536225525", "1985")


def _pattern(value: str) -> re.Pattern[str]:
    if "@" in value:
        return re.compile(re.escape(value))
    # Digits with any spacing or dashes between them, not part of a longer number or a
    # decimal (the store holds timings such as 0.1985).
    return re.compile(r"(?<!\d)(?<!\d\.)" + r"[\s\-,()]*".join(value) + r"(?!\.?\d)")


PATTERNS = [(_pattern(v), v) for v in PLANTED]


def leaks(text: str) -> list[str]:
    """The planted values found in ``text``."""
    return [v for pattern, v in PATTERNS if pattern.search(text)]


def unredacted_call(n: int):
    call_id = f"pii{n}"
    sha = hashlib.sha256(call_id.encode()).hexdigest()
    t = make_transcript(LINES, duration=45.0, call_id=call_id)
    # As `qa run --no-redact` stores it.
    t = replace(t, audio=replace(t.audio, path=f"/rec/{call_id}.wav", sha256=sha),
                options={**t.options, "redaction": {"enabled": False, "entities": [], "version": 1, "counts": {}}})
    meta = CallMetadata(path=Path(f"/rec/{call_id}.wav"), call_id=call_id, agent_id="A01", agent_name="Ann",
                        team="Cards", started_at=datetime(2024, 3, 1 + n, 9), sources={})
    return CallResult(meta=meta, content_sha256=sha, file_size=1, file_mtime_ns=1, status=CallStatus.OK,
                      transcript=t, score=score_transcript(t, CARD), timings=CallTimings(asr_s=1.0))


def tree_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.rglob("*")) if p.is_file())


def store_dump(path: Path) -> str:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return "\n".join(conn.iterdump())


def test_needs_redaction_reads_the_stored_record():
    on = RedactionOptions()
    assert needs_redaction({}, on)
    assert needs_redaction({"redaction": {"enabled": False}}, on)
    assert needs_redaction({"redaction": {"enabled": True, "entities": ["card"], "version": 1}}, on)
    assert needs_redaction({"redaction": {"enabled": True, "entities": list(on.entities), "version": 0}}, on)
    current = {"enabled": True, "entities": list(on.entities), "version": DETECTOR_VERSION}
    assert not needs_redaction({"redaction": current}, on)
    assert not needs_redaction({}, RedactionOptions(enabled=False))


def test_rescore_redacts_an_unredacted_store_everywhere(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db, reports, cache = tmp_path / "qa.db", tmp_path / "reports", tmp_path / "cache"
    with Store.open(db) as store:
        for n in range(2):
            store.save_call(unredacted_call(n))
    # Unredacted cache entries of the same audio, as a --no-redact run leaves them.
    stale = []
    for n in range(2):
        sha = hashlib.sha256(f"pii{n}".encode()).hexdigest()
        path = cache / "transcripts" / sha[:2] / f"{sha}-0123456789abcdef-piioff.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        unredacted_call(n).transcript.save(path)
        stale.append(path)
    assert leaks(store_dump(db)) and leaks(tree_text(cache))  # the test can see a leak
    # An agent PDF rendered before (it quotes the transcripts as they were).
    old_pdf = reports / "agents" / "A01.pdf"
    old_pdf.parent.mkdir(parents=True)
    old_pdf.write_text("card 4556 7375 8689 9855", encoding="utf-8")

    runner = CliRunner()
    args = ["run", "--rescore", "--db", str(db), "--scorecard", str(SCORECARD), "--reports", str(reports),
            "--cache-dir", str(cache), "--workers", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2 re-scored" in result.output and "Removed 1 PDF(s) rendered before redaction." in result.output
    assert not old_pdf.exists()
    assert leaks(store_dump(db)) == []
    assert not any(p.exists() for p in stale)
    assert list(reports.rglob("*.html")) and leaks(tree_text(reports)) == []
    with Store.open(db) as store:
        text = store.transcript("pii0").text
        assert "[CARD]" in text and "[PHONE]" in text and "[EMAIL]" in text and "[SSN]" in text
    out = tmp_path / "export" / "results.csv"
    result = runner.invoke(app, ["export", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert leaks(tree_text(out.parent)) == []

    # Nothing left to redact: a second run re-scores nothing.
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and "0 re-scored" in result.output, result.output


def test_forget_removes_every_trace_of_a_call(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db, reports, cache, logs = tmp_path / "qa.db", tmp_path / "reports", tmp_path / "cache", tmp_path / "logs"
    with Store.open(db) as store:
        for n in range(3):
            store.save_call(unredacted_call(n))
    shas = {n: hashlib.sha256(f"pii{n}".encode()).hexdigest() for n in range(3)}
    for n, sha in shas.items():
        path = cache / "transcripts" / sha[:2] / f"{sha}-0123456789abcdef-pii{RedactionOptions().cache_key()}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        unredacted_call(n).transcript.save(path)
    runner = CliRunner()
    result = runner.invoke(app, ["run", "--rescore", "--db", str(db), "--scorecard", str(SCORECARD), "--reports",
                                 str(reports), "--cache-dir", str(cache), "--logs", str(logs), "--workers", "1"])
    assert result.exit_code == 0, result.output
    mention = re.compile(r"(?<![\w-])pii1(?![\w-])")
    before = [store_dump(db), tree_text(cache), tree_text(reports), tree_text(logs)]
    assert all(mention.search(text) for text in before), [bool(mention.search(t)) for t in before]
    assert (reports / "calls" / "pii1.html").is_file()
    (reports / "agents" / "A01.pdf").write_text("lists pii1", encoding="utf-8")  # as qa report --agent A01 --pdf

    result = runner.invoke(app, ["forget", "pii1", "--db", str(db), "--reports", str(reports), "--cache-dir", str(cache),
                                 "--logs", str(logs)])
    assert result.exit_code == 0, result.output
    assert "Forgot pii1:" in result.output and "Removed 1 agent PDF(s)" in result.output
    out = tmp_path / "export" / "results.csv"
    assert runner.invoke(app, ["export", "--db", str(db), "--out", str(out)]).exit_code == 0
    for where, text in (("store", store_dump(db)), ("cache", tree_text(cache)), ("reports", tree_text(reports)),
                        ("logs", tree_text(logs)), ("export", tree_text(out.parent))):
        assert not mention.search(text), where
        assert "pii0" in text or where == "cache", where  # the other calls stay
    assert not (reports / "calls" / "pii1.html").exists()
    assert len(list(cache.rglob("*.json"))) == 2
    assert (db.stat().st_size > 0) and db.read_bytes().find(b"pii1") == -1  # vacuumed: not even in free pages

    result = runner.invoke(app, ["forget", "pii1", "--db", str(db)])
    assert result.exit_code == 2 and "no call 'pii1'" in result.output


def test_a_transcript_from_an_older_detector_is_redone_once():
    from qa_pipeline.batch import redact_stored

    t = make_transcript([("customer", 0.5, "Nothing personal here, just a question about fees.")])
    old = replace(t, options={"redaction": {"enabled": True, "entities": list(RedactionOptions().entities),
                                            "version": DETECTOR_VERSION - 1, "counts": {}}})
    assert needs_redaction(old.options, RedactionOptions())
    redone = redact_stored(old, RedactionOptions())
    assert redone is not old and redone.options["redaction"]["version"] == DETECTOR_VERSION
    assert not needs_redaction(redone.options, RedactionOptions())
    assert redact_stored(redone, RedactionOptions()) is redone
