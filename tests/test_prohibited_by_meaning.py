"""Must-not-say criteria judged by meaning: a clause convicts only with its sentence, a near
copy of an example needs no probe, and the Chinese scorecard's negative language and closing,
both judged by probes."""

from __future__ import annotations

from pathlib import Path

import pytest
from transcript_factory import make_transcript

from qa_pipeline.criteria import Verdict
from qa_pipeline.errors import ScorecardError
from qa_pipeline.scorecard import load_scorecard, parse_scorecard
from qa_pipeline.scoring import score_transcript

ROOT = Path(__file__).resolve().parent.parent
ZH = load_scorecard(ROOT / "scorecards" / "default.zh.yaml")


def _card(extra: str = "", negate: bool = True) -> str:
    return (
        "schema_version: 1\nname: t\nlanguages: [en]\n"
        "criteria:\n"
        "  - id: greeting\n    title: Greeting\n    type: phrase\n    weight: 1\n"
        "    speaker: agent\n    phrases: [hello]\n"
        "    examples: [welcome to the help line, good morning and thanks for calling]\n"
        "  - id: blunt\n    title: No blunt lines\n    type: phrase\n    weight: 1\n"
        f"    speaker: agent\n    negate: {str(negate).lower()}\n    phrases: [take it or leave it]\n"
        "    examples: [that is not my problem, not my department, you should have read the contract]\n"
        "    counter_examples: [let me find the right department for you]\n"
        + extra
    )


def _blunt(card_text: str, line: str):
    card = parse_scorecard(card_text)
    call = make_transcript([("customer", 1.0, "My parcel never came."), ("agent", 6.0, line)])
    return score_transcript(call, card).result("blunt")


NEIGHBOURS = "    min_example_similarity: 0.6\n"


def test_a_clause_that_sounds_blunt_alone_does_not_convict_its_sentence() -> None:
    # The clause "That is not my problem," nearly repeats an example; the sentence it opens
    # offers help and is far from every example, so the agent said nothing prohibited.
    r = _blunt(_card(NEIGHBOURS), "That is not my problem, but I will find the team who can help.")
    assert r.verdict is Verdict.PASS, r.reason
    # The same criterion convicts the clause said as a sentence of its own …
    r = _blunt(_card(NEIGHBOURS), "That is not my problem.")
    assert r.verdict is Verdict.FAIL and 'the agent said "That is not my problem."' in r.reason
    # … and a sentence that is as blunt as its clause.
    r = _blunt(_card(NEIGHBOURS), "That is not my problem, so I cannot help you with it.")
    assert r.verdict is Verdict.FAIL, r.reason


def test_a_sentence_too_long_to_judge_whole_is_judged_by_its_clauses() -> None:
    line = "That is not my problem, and frankly I do not care who sorts it out or when they ring you back."
    r = _blunt(_card(NEIGHBOURS), line)
    assert r.verdict is Verdict.FAIL, r.reason
    assert any(e.text == "That is not my problem," for e in r.evidence)


def test_a_clause_still_counts_where_the_criterion_looks_for_something() -> None:
    # Only must-not-say criteria ask the sentence to agree: a recap or a greeting said in a
    # clause is still found.
    r = _blunt(_card(NEIGHBOURS, negate=False), "That is not my problem, but I will find the team who can help.")
    assert r.verdict is Verdict.PASS
    assert [e.text for e in r.evidence if e.kind == "match"] == ["That is not my problem,"]


PROBE = (
    "    min_example_similarity: 0.3\n    example_method: probe\n    min_probe_probability: 0.999\n"
    "    probe_contrast: [greeting]\n"
)


def test_a_near_copy_of_an_example_counts_whatever_the_probe_says() -> None:
    line = "That is not my problem."
    assert _blunt(_card(PROBE), line).verdict is Verdict.PASS  # the probe alone is not that sure
    r = _blunt(_card(PROBE + "    near_copy_similarity: 0.9\n"), line)
    assert r.verdict is Verdict.FAIL, r.reason
    # A near copy is evidence by one example, so the evidence says which.
    assert any('means the same as "that is not my problem" (a scorecard example)' in e.rule for e in r.evidence)
    # Kept by to_dict, so the stored scorecard (and its hash) says how verdicts were reached.
    card = parse_scorecard(_card(PROBE + "    near_copy_similarity: 0.9\n"))
    assert card.to_dict()["criteria"][1]["params"]["near_copy_similarity"] == 0.9
    assert "near_copy_similarity" not in parse_scorecard(_card(PROBE)).to_dict()["criteria"][1]["params"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (NEIGHBOURS + "    near_copy_similarity: 0.9\n",
         "criterion 'blunt': field 'near_copy_similarity': needs 'example_method: probe' beside it"),
        (PROBE + "    near_copy_similarity: 0.2\n",
         "criterion 'blunt': field 'near_copy_similarity': must be at least the similarity floor (0.3)"),
        (PROBE + "    near_copy_similarity: 1.5\n", "criterion 'blunt': field 'near_copy_similarity'"),
    ],
)
def test_near_copy_field_errors_name_the_criterion_and_field(extra: str, message: str) -> None:
    with pytest.raises(ScorecardError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_scorecard(_card(extra))


def _zh_blunt(line: str):
    call = make_transcript(
        [("customer", 1.0, "我的快递一直没到。"), ("agent", 8.0, line), ("customer", 18.0, "好吧。")], language="zh"
    )
    return score_transcript(call, ZH).result("positive_language")


@pytest.mark.parametrize("line", ["你这人怎么这么麻烦。", "你到底有没有在听我说话？", "说了你也不懂。"])
def test_chinese_blunt_lines_no_list_holds_are_negative_language(line: str) -> None:
    r = _zh_blunt(line)
    assert r.verdict is Verdict.FAIL, r.reason
    assert any(e.text and e.text in line and "使用禁用语" in e.rule for e in r.evidence)


@pytest.mark.parametrize(
    "line",
    [
        # Its clause "跟您说声对不起" alone was once nearer a blunt example than the bar.
        "这是我们工作没做到位，跟您说声对不起。",
        "这个业务电话里办不了，您可以带身份证到就近营业厅，或者在App上办理。",
        "没有别的事的话，我这边就先挂了。",
        "规定确实是这样，不过我可以帮您申请特殊处理。",
    ],
)
def test_chinese_apologies_closings_and_alternatives_are_not_negative_language(line: str) -> None:
    r = _zh_blunt(line)
    assert r.verdict is Verdict.PASS, r.reason


def _zh_closing(line: str):
    call = make_transcript(
        [("customer", 1.0, "我的快递一直没到。"), ("agent", 8.0, "我查到了，明天上午送到。"),
         ("customer", 15.0, "好的，谢谢。"), ("agent", 21.0, line)],
        language="zh",
    )
    return score_transcript(call, ZH).result("closing")


@pytest.mark.parametrize("line", ["如果没有其他疑问，本次通话就到这里。", "那我就先挂了，您有事再打过来。", "给您添麻烦了，咱们今天先到这。"])
def test_chinese_closings_no_list_holds_count(line: str) -> None:
    r = _zh_closing(line)
    assert r.verdict is Verdict.PASS, r.reason
    assert any("礼貌结束通话" in e.rule and "worded like the scorecard's examples" in e.rule for e in r.evidence)


@pytest.mark.parametrize("line", ["工单号我发到您手机上了。", "请您保持电话畅通，我们会回访。", "好的，我再帮您查一下物流。"])
def test_chinese_lines_that_keep_the_call_going_are_not_closings(line: str) -> None:
    r = _zh_closing(line)
    assert r.verdict is not Verdict.PASS, r.reason
