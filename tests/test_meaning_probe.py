"""The linear probe a scorecard can judge examples by: its fit, its scorecard fields, and what
it changes in the English empathy criterion."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from transcript_factory import make_transcript

from qa_pipeline.criteria import Verdict
from qa_pipeline.errors import ScorecardError
from qa_pipeline.meaning_probe import fit_probe
from qa_pipeline.scorecard import load_scorecard, parse_scorecard
from qa_pipeline.scoring import score_transcript
from qa_pipeline.semantic import NEIGHBOURS, PROBE, Utterance, embed, judge, model_for
from qa_pipeline.transcript import Speaker

ROOT = Path(__file__).resolve().parent.parent
EN = load_scorecard(ROOT / "scorecards" / "default.en.yaml")
EMPATHY = next(c for c in EN.criteria if c.id == "empathy").rule.response_meaning
COMPLAINT = ("customer", 1.0, "The boiler broke again last night and I'm fed up with the whole thing.")


def test_the_fit_is_the_same_bits_every_time_and_separates_the_classes() -> None:
    rng = np.random.default_rng(7)
    pos = rng.normal(0.5, 1.0, (40, 16))
    neg = rng.normal(-0.5, 1.0, (90, 16))
    one, two = fit_probe(pos, neg), fit_probe(pos.copy(), neg.copy())
    assert one.weights.tobytes() == two.weights.tobytes() and one.bias == two.bias
    assert np.mean(np.array(one.probabilities(pos)) >= 0.5) > 0.8
    assert np.mean(np.array(one.probabilities(neg)) < 0.5) > 0.8


def test_a_probe_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="needs lines that show the class and lines that do not"):
        fit_probe(np.ones((3, 4)), np.zeros((0, 4)))


def test_the_english_empathy_criterion_is_judged_by_a_probe() -> None:
    assert EMPATHY.method == PROBE
    assert EMPATHY.contrast_ids == ("greeting", "closing", "active_listening", "hold_etiquette", "positive_language")
    # The contrasting criteria's examples, resolved when the scorecard is read.
    greeting = next(c for c in EN.criteria if c.id == "greeting").rule.meaning
    assert EMPATHY.contrast_for("en")[0] == greeting.examples["en"]
    assert sum(len(lines) for lines in EMPATHY.contrast_for("en")) > 100


def _agent(text: str) -> Utterance:
    return Utterance(Speaker.AGENT, 5.0, 7.0, text, 0)


def test_empathy_worded_unlike_every_example_counts() -> None:
    line = "That must have been really upsetting to come home to."
    vectors = embed([line])
    # The two nearest examples alone, at the threshold they had, miss it.
    neighbours_only = dataclasses.replace(EMPATHY, method=NEIGHBOURS, min_similarity=0.53)
    assert judge([_agent(line)], vectors, neighbours_only, "en") == [None]
    match = judge([_agent(line)], vectors, EMPATHY, "en")[0]
    assert match is not None and match.probability is not None and match.probability >= EMPATHY.min_probability
    r = score_transcript(make_transcript([COMPLAINT, ("agent", 6.0, line)]), EN).result("empathy")
    assert r.verdict is Verdict.PASS, r.reason
    quoted = [e.rule for e in r.evidence if e.text == line]
    assert len(quoted) == 1 and quoted[0].startswith(f'Agent at 0:06: "{line}" — answers with empathy: ')
    # The probe weighs every example, so evidence names the nearest without claiming it
    # means the same.
    assert "worded like the scorecard's examples (nearest: \"" in quoted[0]
    assert "means the same as" not in quoted[0]


def test_a_line_nearer_another_criterions_examples_is_not_empathy() -> None:
    line = "Honestly that's your own fault."
    vectors = embed([line])
    assert judge([_agent(line)], vectors, EMPATHY, "en") == [None]
    r = score_transcript(make_transcript([COMPLAINT, ("agent", 6.0, line)]), EN).result("empathy")
    assert r.verdict is Verdict.FAIL, r.reason


def test_ordinary_agent_lines_are_not_empathy() -> None:
    lines = ["Let me pull up your account.", "I've booked the engineer for Tuesday.",
             "Can you spell the postcode for me?", "It's okay.", "Please hold while I check."]
    assert judge([_agent(t) for t in lines], embed(lines), EMPATHY, "en") == [None] * len(lines)


def _card(empathy_lines: str) -> str:
    return (
        "schema_version: 1\nname: t\nlanguages: [en]\n"
        "frustration_phrases: [fed up]\n"
        "criteria:\n"
        "  - id: greeting\n    title: Greeting\n    type: phrase\n    weight: 1\n"
        "    speaker: agent\n    phrases: [hello]\n    examples: [welcome to the help line]\n"
        "  - id: dead_air\n    title: Dead air\n    type: silence\n    weight: 1\n    max_silence: 10s\n"
        "  - id: empathy\n    title: Empathy\n    type: empathy_response\n    weight: 1\n"
        "    response_phrases: [I'm sorry]\n    response_examples: [that must be so annoying]\n"
        + empathy_lines
    )


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("    response_min_probe_probability: 0.6\n",
         "criterion 'empathy': field 'response_min_probe_probability': needs 'response_example_method: probe'"),
        ("    response_example_method: probe\n    response_probe_contrast: [greeting]\n",
         "criterion 'empathy': 'response_example_method: probe' needs 'response_min_probe_probability'"),
        ("    response_example_method: probe\n    response_min_probe_probability: 0.6\n",
         "criterion 'empathy': 'response_example_method: probe' needs 'response_probe_contrast'"),
        ("    response_example_method: probe\n    response_min_probe_probability: 0.6\n    response_probe_contrast: []\n",
         "field 'response_probe_contrast': expected a non-empty list of criterion ids"),
        ("    response_example_method: probe\n    response_min_probe_probability: 0.6\n    response_probe_contrast: [empathy]\n",
         "field 'response_probe_contrast': a criterion cannot contrast with itself"),
        ("    response_example_method: probe\n    response_min_probe_probability: 0.6\n    response_probe_contrast: [greting]\n",
         "criterion 'empathy': field 'response_probe_contrast': unknown criterion 'greting'; did you mean 'greeting'"),
        ("    response_example_method: probe\n    response_min_probe_probability: 0.6\n    response_probe_contrast: [dead_air]\n",
         "field 'response_probe_contrast': criterion 'dead_air' has no examples to contrast with"),
        ("    response_example_method: knn\n",
         "field 'response_example_method': expected one of neighbours, probe"),
        ("    response_example_method: probe\n    response_min_probe_probability: 1.5\n    response_probe_contrast: [greeting]\n",
         "field 'response_min_probe_probability': must be <= 1"),
    ],
)
def test_probe_fields_are_checked(lines: str, message: str) -> None:
    with pytest.raises(ScorecardError, match=message):
        parse_scorecard(_card(lines))


def test_a_probe_scorecard_names_its_fields_and_changes_its_hash() -> None:
    plain = parse_scorecard(_card(""))
    probe = parse_scorecard(
        _card("    response_example_method: probe\n    response_min_probe_probability: 0.6\n    response_probe_contrast: [greeting]\n")
    )
    rule = next(c for c in probe.criteria if c.id == "empathy").rule
    assert rule.response_meaning.contrast == {"en": (("welcome to the help line",),)}
    written = next(c for c in probe.to_dict()["criteria"] if c["id"] == "empathy")["params"]
    assert written["response_example_method"] == "probe"
    assert written["response_probe_contrast"] == ["greeting"]
    assert plain.content_hash != probe.content_hash
    assert "response_example_method" not in next(c for c in plain.to_dict()["criteria"] if c["id"] == "empathy")["params"]


ZH = load_scorecard(ROOT / "scorecards" / "default.zh.yaml")
ZH_EMPATHY = next(c for c in ZH.criteria if c.id == "empathy").rule.response_meaning


@pytest.mark.parametrize(
    ("line", "empathy"),
    [
        ("我理解您的心情，这事确实让人着急。", True),
        ("遇到这种情况换谁都会不高兴的。", True),
        ("给您添麻烦了，真的很抱歉。", True),
        # Promises to act: the nearest example alone (0.55) took them for empathy.
        ("请您稍等，我马上为您处理。", False),
        ("这个问题我们会尽快给您答复。", False),
    ],
)
def test_chinese_empathy_is_told_from_promises_to_act(line: str, empathy: bool) -> None:
    assert ZH_EMPATHY.method == PROBE
    vectors = embed([line], model_for("zh"))
    found = judge([Utterance(Speaker.AGENT, 5.0, 7.0, line, 0)], vectors, ZH_EMPATHY, "zh")[0]
    assert (found is not None) is empathy
    if not empathy:
        nearest_only = dataclasses.replace(ZH_EMPATHY, method=NEIGHBOURS, min_similarity=0.55)
        assert judge([Utterance(Speaker.AGENT, 5.0, 7.0, line, 0)], vectors, nearest_only, "zh")[0] is not None
