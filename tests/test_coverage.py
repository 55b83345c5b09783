"""Speech coverage: interval arithmetic, the guard rule inside detected speech, the second
decode of uncovered speech (with a fake engine), the review flag, the transcript record and
the store column added to older stores (migration 0006_calls_speech_coverage)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from sqlalchemy import create_engine, inspect, text

from batch_support import SCORECARD, stored_result
from qa_pipeline.asr.base import ChannelResult
from qa_pipeline.asr.coverage import (
    covered_seconds,
    merge_spans,
    recover_speech,
    subtract,
    uncovered_stretches,
)
from qa_pipeline.asr.guards import GuardThresholds, RawSegment, RawWord, SegmentStats, apply_guards
from qa_pipeline.options import TranscribeOptions
from qa_pipeline.scorecard import load_scorecard
from qa_pipeline.speechchecks import ChannelCoverage, LanguageCheck, SpeechCoverage
from qa_pipeline.store import Store
from qa_pipeline.store.migrations import MIGRATIONS
from qa_pipeline.transcript import Transcript, Word
from transcript_factory import make_transcript

TH = GuardThresholds()


def w(text: str, start: float, end: float, p: float = 0.9) -> Word:
    return Word(text, start, end, p)


# --------------------------------------------------------------------------- arithmetic
def test_spans_merge_and_subtract() -> None:
    assert merge_spans([(3, 4), (0, 1), (0.5, 2), (5, 5)]) == [(0, 2), (3, 4)]
    assert subtract([(0, 10)], [(1, 2), (4, 6), (9, 12)]) == [(0, 1), (2, 4), (6, 9)]
    assert subtract([(0, 1), (5, 6)], []) == [(0, 1), (5, 6)]


def test_coverage_counts_speech_near_words_only() -> None:
    speech = [(0.0, 10.0), (20.0, 30.0)]
    words = [w("hello", 1.0, 1.5), w("there", 1.6, 2.0)]
    # 0.5 s margin on each side: 0.5..2.5 of the first region; nothing of the second.
    assert covered_seconds(speech, words) == pytest.approx(2.0)
    assert covered_seconds(speech, words, margin=0.0) == pytest.approx(0.9)
    # The half second before the first word is shorter than the minimum (a breath): not decoded again.
    assert uncovered_stretches(speech, words) == [(2.5, 10.0), (20.0, 30.0)]
    assert uncovered_stretches(speech, words, min_seconds=0.4) == [(0.0, 0.5), (2.5, 10.0), (20.0, 30.0)]


def test_channel_and_call_coverage_and_review_threshold() -> None:
    agent = ChannelCoverage(0, speech_seconds=100.0, covered_seconds=99.0)
    customer = ChannelCoverage(1, speech_seconds=100.0, covered_seconds=70.0, recovered_words=3)
    call = SpeechCoverage((agent, customer), review_below=0.9)
    assert call.ratio == pytest.approx(0.845) and call.lowest == pytest.approx(0.7)
    # One party missing 30 % of its speech is enough to distort talk share and silences.
    assert call.review
    assert "30.0s of the 100.0s of speech detected on channel 1" in call.reason()
    assert not replace(call, review_below=0.7).review
    assert not SpeechCoverage((agent,), review_below=0.9).review
    # Nothing detected: nothing to miss.
    assert SpeechCoverage((ChannelCoverage(0, 0.0, 0.0),)).ratio == 1.0
    assert SpeechCoverage.from_dict(json.loads(json.dumps(call.to_dict()))) == call


def test_options_validate_the_threshold() -> None:
    with pytest.raises(ValueError, match="coverage_review_below must be within 0..1"):
        TranscribeOptions(coverage_review_below=1.5)


# --------------------------------------------------------------------------- guards
def _thank_you(start: float) -> RawSegment:
    stats = SegmentStats(" Thank you.", start, start + 1.0, avg_logprob=-1.2, no_speech_prob=0.3)
    return RawSegment(stats, (RawWord(" Thank", start + 0.1, start + 0.4, 0.4), RawWord(" you.", start + 0.4, start + 0.7, 0.5)))


def test_quiet_thank_you_inside_detected_speech_is_kept() -> None:
    # Low confidence, a known silence phrase: dropped over non-speech, kept where VAD heard a voice.
    segments = [_thank_you(10.0), _thank_you(50.0)]
    kept = apply_guards(segments, TH, speech=[(9.8, 11.0)])
    assert [x.text for x in kept.words] == ["Thank", "you."]
    assert kept.words[0].start == pytest.approx(10.1)
    assert len(kept.dropped_segments) == 1 and "50.00-51.00s known silence hallucination" in kept.dropped_segments[0]
    # Without detected speech the rule is as before.
    assert apply_guards(segments, TH).words == ()


def test_silence_and_loops_are_still_dropped_inside_detected_speech() -> None:
    silent = SegmentStats(" Thank you.", 0.0, 1.0, avg_logprob=-1.5, no_speech_prob=0.9)
    loop = SegmentStats(" no no no no no no no no no no", 2.0, 3.0, -0.2, 0.1, compression_ratio=3.0)
    raw = (RawWord(" Thank", 0.1, 0.4, 0.5),)
    kept = apply_guards([RawSegment(silent, raw), RawSegment(loop, (RawWord(" no", 2.1, 2.2, 0.9),))], TH, speech=[(0, 5)])
    assert kept.words == ()
    assert "silence" in kept.dropped_segments[0] and "repetition loop" in kept.dropped_segments[1]


# --------------------------------------------------------------------------- second decode
class FakeEngine:
    """Returns fixed words for a second decode and records the stretches it was asked for."""

    name = "fake"
    model_name = "fake"

    def __init__(self, found: list[tuple[Word, ...]]) -> None:
        self.found = found
        self.asked: list = []

    def redecode(self, channels, stretches, language):
        self.asked.append([list(s) for s in stretches])
        return self.found


def test_uncovered_speech_is_decoded_again_and_counted() -> None:
    channels = [np.zeros(16000 * 40, dtype=np.float32)] * 2
    agent = ChannelResult((w("hello", 1.0, 1.5),), "en", speech_spans=((0.5, 2.0),))
    # The customer spoke 10..30 s; the first decode kept only its first words.
    customer = ChannelResult((w("hi", 10.2, 10.5), w("yes", 10.6, 10.9)), "en", speech_spans=((10.0, 30.0),))
    engine = FakeEngine([(), (w("yes", 10.6, 10.9), w("my", 12.0, 12.2), w("card", 12.3, 12.8), w("number", 25.0, 25.5))])
    results, coverage = recover_speech(engine, channels, [0, 1], [agent, customer], TranscribeOptions(), "en")
    assert engine.asked == [[[], [(11.4, 30.0)]]]
    # The word already there is not taken twice.
    assert [x.text for x in results[1].words] == ["hi", "yes", "my", "card", "number"]
    assert results[1].recovered_words == 3 and results[0] == agent
    customer_cov = coverage.channels[1]
    assert customer_cov.speech_seconds == 20.0 and customer_cov.recovered_words == 3
    # 10..11.4 s, 11.5..13.3 s and 24.5..26.0 s of the 20 s are near a word.
    assert customer_cov.covered_seconds == pytest.approx(4.7)
    assert coverage.review and coverage.channels[0].ratio == 1.0


def test_second_decode_can_be_turned_off() -> None:
    channels = [np.zeros(16000 * 40, dtype=np.float32)]
    result = ChannelResult((), "en", speech_spans=((10.0, 30.0),))
    engine = FakeEngine([(w("hello", 12.0, 12.5),)])
    results, coverage = recover_speech(engine, channels, [0], [result], TranscribeOptions(redecode_uncovered=False), "en")
    assert engine.asked == [] and results == [result]
    assert coverage.ratio == 0.0 and coverage.review


# --------------------------------------------------------------------------- records and store
def test_transcript_keeps_coverage_and_language_check_and_reads_old_files() -> None:
    base = make_transcript([("agent", 0.0, "Thank you for calling"), ("customer", 2.0, "Hi")])
    coverage = SpeechCoverage((ChannelCoverage(0, 10.0, 9.5, 2), ChannelCoverage(1, 4.0, 4.0)), review_below=0.9)
    check = LanguageCheck("en", 0.99, True, "base", channels=((0, "en", 0.99), (1, "en", 0.99)))
    full = replace(base, coverage=coverage, language_check=check)
    assert Transcript.from_dict(json.loads(full.to_json())) == full
    old = json.loads(base.to_json())
    assert "coverage" not in old and "language_check" not in old and old["schema_version"] == 1
    assert Transcript.from_dict(old).coverage is None


def test_coverage_is_stored_and_added_to_an_older_store(tmp_path) -> None:
    db = tmp_path / "old.db"
    with Store.open(db):
        pass
    engine = create_engine(f"sqlite:///{db}")
    # The store an earlier version left: no coverage columns, migration not recorded.
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE calls DROP COLUMN speech_coverage"))
        conn.execute(text("ALTER TABLE calls DROP COLUMN coverage_review"))
        conn.execute(text("DELETE FROM schema_migrations WHERE name = '0006_calls_speech_coverage'"))
    assert "speech_coverage" not in {c["name"] for c in inspect(engine).get_columns("calls")}
    assert "0006_calls_speech_coverage" in MIGRATIONS.names
    card = load_scorecard(SCORECARD)
    result = stored_result(1, card)
    low = SpeechCoverage((ChannelCoverage(0, 100.0, 99.0), ChannelCoverage(1, 100.0, 60.0)), review_below=0.9)
    flagged = replace(result, transcript=replace(result.transcript, coverage=low))
    with Store.open(db) as store:
        store.save_call(flagged)
        store.save_call(stored_result(2, card))
        assert store.coverage_reviews() == [("c00001", str(flagged.meta.path), 0.6)]
        calls, _ = store.load_frames()
    by_call = calls.set_index("call_id")["speech_coverage"]
    assert by_call["c00001"] == 0.6 and by_call.isna()["c00002"]  # not measured
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT call_id, coverage_review FROM calls")).all())
        applied = set(conn.execute(text("SELECT name FROM schema_migrations")).scalars())
    engine.dispose()
    assert rows == {"c00001": 1, "c00002": None} and "0006_calls_speech_coverage" in applied


def test_qa_status_lists_calls_flagged_for_coverage(tmp_path) -> None:
    from typer.testing import CliRunner

    from qa_pipeline.cli.status import app as status_app

    card = load_scorecard(SCORECARD)
    result = stored_result(7, card)
    low = SpeechCoverage((ChannelCoverage(0, 50.0, 49.0), ChannelCoverage(1, 40.0, 28.0)), review_below=0.9)
    db = tmp_path / "qa.db"
    with Store.open(db) as store:
        store.save_call(replace(result, transcript=replace(result.transcript, coverage=low)))
        store.save_call(stored_result(8, card))
    out = CliRunner().invoke(status_app, ["status", "--db", str(db)])
    assert out.exit_code == 0, out.output
    assert "Calls to check: speech without words (1)" in out.output
    assert "c00007" in out.output and "70%" in out.output and "c00008" not in out.output.split("Calls to check")[1]
    as_json = json.loads(CliRunner().invoke(status_app, ["status", "--db", str(db), "--json"]).output)
    assert as_json["coverage_review"] == [{"call_id": "c00007", "path": "/rec/c00007.wav", "speech_coverage": 0.7}]


def test_call_page_warns_when_speech_has_no_words(tmp_path) -> None:
    import pandas as pd

    from qa_pipeline.report import ReportOptions, write_reports
    from qa_pipeline.stats import StatsOptions, prepare_frames

    low = SpeechCoverage((ChannelCoverage(0, 50.0, 49.0), ChannelCoverage(1, 40.0, 28.0)), review_below=0.9)
    pages = {}
    for call_id, coverage in (("low", low), ("fine", None)):
        t = replace(make_transcript([("agent", 0.0, "Thank you for calling"), ("customer", 2.0, "Hi")]),
                    call_id=call_id, coverage=coverage)
        pages[call_id] = str(t.save(tmp_path / "t" / f"{call_id}.json"))
    calls = pd.DataFrame(
        [(cid, "A1", "T1", pd.Timestamp("2026-11-02"), 60.0, 80.0, path) for cid, path in pages.items()],
        columns=["call_id", "agent_id", "team", "started_at", "duration_s", "call_score", "transcript_path"],
    )
    frames = prepare_frames(calls, pd.DataFrame({"call_id": [], "criterion_id": [], "verdict": []}))
    result = write_reports(frames, tmp_path / "site", StatsOptions(period_from="2026-11-01", period_to="2026-11-30"),
                           ReportOptions(workers=1, pdf=False))
    html = {p.stem: p.read_text(encoding="utf-8") for p in result.call_pages}
    assert len(html) == 2
    flagged = next(text for name, text in html.items() if "low" in name)
    plain = next(text for name, text in html.items() if "fine" in name)
    assert "Check the transcript before acting on this call: 12.0s of the 40.0s of speech detected on channel 1" in flagged
    assert "Check the transcript" not in plain
