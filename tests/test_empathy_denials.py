"""Lines that tell the caller off for a feeling are not empathy, however alike they read.

The sentence encoder reads the feeling word ("upset") and not that it is denied, so the
default scorecard's ``response_counter_phrases`` veto judging such a sentence by meaning."""

from __future__ import annotations

from pathlib import Path

import pytest
from transcript_factory import make_transcript

from qa_pipeline.criteria import Verdict
from qa_pipeline.errors import ScorecardError
from qa_pipeline.scorecard import load_scorecard, parse_scorecard
from qa_pipeline.scoring import score_transcript
from qa_pipeline.semantic import sentence_span

ROOT = Path(__file__).resolve().parents[1]
CARD_PATH = ROOT / "scorecards" / "default.en.yaml"
EN = load_scorecard(CARD_PATH)
COMPLAINT = ("customer", 4.0, "This is the third time I've called and nobody has fixed it.")


def _without_counter_phrases() -> str:
    """The default English scorecard's text with its ``response_counter_phrases`` block removed."""
    lines = CARD_PATH.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == "response_counter_phrases:")
    end = start + 1
    while lines[end].startswith("      "):
        end += 1
    return "".join(lines[:start] + lines[end:])


def _empathy(card, agent_line: str):
    call = make_transcript([("agent", 0.5, "Thank you for calling, this is Anna."), COMPLAINT, ("agent", 12.0, agent_line)])
    return score_transcript(call, card).result("empathy")


def test_telling_the_caller_off_is_not_empathy() -> None:
    line = "Don't get upset with me, I'm only doing my job."
    vetoed = _empathy(EN, line)
    assert vetoed.verdict is Verdict.FAIL, vetoed.reason
    # The page says what was said instead and why it does not count, once for the sentence
    # and its clause.
    notes = [e for e in vetoed.evidence if e.kind == "note"]
    assert [e.rule for e in notes] == [
        f'Agent at 0:12: "{line}" — not empathy: it tells the caller off for a feeling '
        '(scorecard counter phrase "don\'t get upset")'
    ]
    # The same card without the counter phrases credits it by meaning: the veto decides.
    credited = _empathy(parse_scorecard(_without_counter_phrases()), line)
    assert credited.verdict is Verdict.PASS, credited.reason
    assert "answers with empathy" in credited.evidence[-1].rule


def test_a_denial_vetoes_only_its_own_sentence() -> None:
    r = _empathy(EN, "That must have been really upsetting to come home to. Don't get upset about the letter though.")
    assert r.verdict is Verdict.PASS, r.reason
    assert 'Agent at 0:12: "That must have been really upsetting to come home to."' in r.evidence[-1].rule


def test_an_empathy_phrase_in_the_sentence_still_counts() -> None:
    r = _empathy(EN, "I'm so sorry, but there's no need to shout at me.")
    assert r.verdict is Verdict.PASS, r.reason
    assert "scorecard empathy statement" in r.evidence[-1].rule


def test_counter_phrases_are_kept_and_need_examples() -> None:
    rule = next(c for c in EN.criteria if c.id == "empathy").rule
    assert "don't get upset" in rule.to_dict()["response_counter_phrases"]["en"]
    body = (
        "schema_version: 1\nname: t\nlanguages: [en]\nfrustration_phrases: {en: [fed up]}\ncriteria:\n"
        "  - id: empathy\n    title: Empathy\n    type: empathy_response\n    weight: 1\n"
        "    response_phrases: [I understand]\n    response_counter_phrases: [calm down]\n"
    )
    with pytest.raises(ScorecardError, match="criterion 'empathy': field 'response_counter_phrases': needs 'response_examples'"):
        parse_scorecard(body)


def test_sentence_span_covers_every_sentence_an_utterance_touches() -> None:
    turn = make_transcript([("agent", 0.0, "Look. Don't get upset with me. It's fixed now.")]).turns[0]
    words = turn.words
    look, upset_end, fixed = words[0], words[5], words[6]  # "Look.", "me.", "It's"
    assert sentence_span(turn, look.start, look.end) == (look.start, look.end)
    # "Look." is judged joined with the sentence after it: both sentences are its span.
    assert sentence_span(turn, look.start, upset_end.end) == (look.start, upset_end.end)
    assert sentence_span(turn, fixed.start, words[-1].end) == (fixed.start, words[-1].end)
    assert sentence_span(turn, turn.end + 1.0, turn.end + 2.0) == (turn.start, turn.end)
