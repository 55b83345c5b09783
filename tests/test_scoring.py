"""Whole-call scoring with the default scorecards: points, auto-fail, N/A, evidence, determinism, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transcript_factory import make_transcript
from typer.testing import CliRunner

from qa_pipeline.cli.score import app as score_app
from qa_pipeline.criteria import Verdict
from qa_pipeline.errors import ScorecardError
from qa_pipeline.scorecard import load_scorecard, parse_scorecard
from qa_pipeline.scoring import CallScore, ScoringOptions, score_transcript
from qa_pipeline.transcript import Transcript

ROOT = Path(__file__).resolve().parent.parent
EN = load_scorecard(ROOT / "scorecards" / "default.en.yaml")
ZH = load_scorecard(ROOT / "scorecards" / "default.zh.yaml")


def planted_call(
    *,
    greeting: bool = True,
    paraphrase: bool = True,
    frustration: bool = True,
    empathy: bool = True,
    interruption: bool = False,
    hold: bool = True,
    announce: bool = True,
    duration_mention: bool = True,
    thanks: bool = True,
    prohibited: bool = False,
    closing: bool = True,
    dead_air: bool = False,
    roles_inferred: bool = False,
) -> Transcript:
    """A call like the synthetic test calls, with each behaviour switchable."""
    s: list[tuple[str, float, str]] = []
    t = 0.5
    opening = (
        "Thank you for calling Northwind Bank, my name is Sarah, how can I help you today?"
        if greeting
        else "Northwind Bank, what is the account number?"
    )
    s.append(("agent", t, opening))
    t += 6.5
    s.append(("customer", t, "Hi, I was charged twice for my subscription this month."))
    t += 5.0
    if paraphrase:
        s.append(("agent", t, "So just to confirm, you were charged twice for your subscription this month?"))
    else:
        s.append(("agent", t, "Okay, let me pull up your account."))
    t += 6.0
    if frustration:
        s.append(
            ("customer", t, "Yes. This is the third time I've called about this, it's really frustrating.")
        )
        if interruption:
            s.append(("agent", t + 2.0, "Right, right, I need the card number first"))
        t += 6.5
        if empathy:
            s.append(("agent", t, "I understand how frustrating that must be."))
            t += 3.5
    else:
        s.append(("customer", t, "Yes, that is right."))
        t += 3.0
    if hold:
        line = (
            "May I place you on a brief hold for about two minutes while I check that?"
            if announce
            else "Let me look into that."
        )
        if announce and not duration_mention:
            line = "May I place you on a brief hold while I check that?"
        s.append(("agent", t, line))
        t += 6.0
        s.append(("customer", t, "Sure."))
        t += 35.0  # hold music never becomes words
        s.append(
            (
                "agent",
                t,
                "Thank you for holding. I have refunded the duplicate charge."
                if thanks
                else "I have refunded the duplicate charge.",
            )
        )
        t += 6.0
    else:
        s.append(("agent", t, "I have refunded the duplicate charge."))
        t += 4.0
    if dead_air:
        t += 12.0
    s.append(("customer", t, "Great, thank you."))
    t += 2.5
    if prohibited:
        s.append(("agent", t, "Next time read the terms, that's not my problem."))
        t += 4.0
    if closing:
        s.append(("agent", t, "Is there anything else I can help you with today?"))
        t += 4.0
        s.append(("customer", t, "No, that's all."))
        t += 2.0
        s.append(("agent", t, "Thank you for calling Northwind Bank, have a great day!"))
    else:
        s.append(("agent", t, "Okay."))
    return make_transcript(s, roles_inferred=roles_inferred)


def verdicts(score: CallScore) -> dict[str, str]:
    return {r.id: r.verdict.value for r in score.results}


def test_good_call_scores_100() -> None:
    score = score_transcript(planted_call(), EN)
    assert verdicts(score) == {
        "greeting": "pass",
        "self_identification": "pass",
        "active_listening": "pass",
        "empathy": "pass",
        "interruptions": "pass",
        "hold_etiquette": "pass",
        "positive_language": "pass",
        "closing": "pass",
        "dead_air": "pass",
    }
    assert score.total == 100.0 and score.points == score.max_points == 100.0
    assert not score.auto_failed and score.scorecard_hash == EN.content_hash
    assert len(score.characteristics.holds) == 1


@pytest.mark.parametrize(
    ("planted", "criterion"),
    [
        ({"greeting": False}, "greeting"),
        ({"paraphrase": False}, "active_listening"),
        ({"empathy": False}, "empathy"),
        ({"interruption": True}, "interruptions"),
        ({"announce": False}, "hold_etiquette"),
        ({"thanks": False}, "hold_etiquette"),
        ({"closing": False}, "closing"),
        ({"dead_air": True}, "dead_air"),
    ],
)
def test_each_planted_failure_fails_only_its_criterion(planted: dict, criterion: str) -> None:
    score = score_transcript(planted_call(**planted), EN)
    failed = {k for k, v in verdicts(score).items() if v == "fail"}
    expected = {criterion} | ({"self_identification"} if criterion == "greeting" else set())
    assert failed == expected
    assert 0 < score.total < 100


def test_prohibited_phrase_is_an_auto_fail() -> None:
    score = score_transcript(planted_call(prohibited=True), EN)
    assert score.total == 0.0 and score.auto_failed
    assert score.auto_failed_by == ("positive_language",)
    r = score.result("positive_language")
    assert r.evidence[0].text == "that's not my problem." and r.evidence[0].start > 60


def test_na_criteria_leave_the_denominator() -> None:
    score = score_transcript(planted_call(frustration=False, hold=False), EN)
    v = verdicts(score)
    assert v["empathy"] == "na" and v["hold_etiquette"] == "na"
    assert score.max_points == 75.0 and score.total == 100.0
    assert score.result("hold_etiquette").reason == "applies only when a hold occurred"
    missed = score_transcript(planted_call(frustration=False, hold=False, greeting=False), EN)
    assert missed.total == round(100 * 55 / 75, 1)


def test_partial_credit_rounds_to_one_decimal() -> None:
    score = score_transcript(planted_call(duration_mention=False), EN)
    hold = score.result("hold_etiquette")
    assert hold.verdict is Verdict.PASS and hold.points == pytest.approx(8.0)
    assert score.total == 98.0


def test_chinese_call() -> None:
    lines = [
        # One word per character, 0.4 s each: a line of n characters lasts 0.4 n seconds.
        ("agent", 0.5, "您好，欢迎致电北风银行，我是客服小李，工号三七二"),
        ("customer", 10.0, "你好，我这个月的会员费被扣了两次"),
        ("agent", 17.0, "您的意思是这个月的会员费重复扣了两次，对吗"),
        ("customer", 26.0, "对，这已经是第三次打电话了，真的令人沮丧"),
        ("agent", 35.0, "非常理解您的心情，给您带来不便非常抱歉"),
        ("agent", 43.0, "请您稍等两分钟，我帮您查询一下"),
        ("customer", 50.0, "好的"),
        ("agent", 80.0, "感谢您的耐心等待，已经为您办理退款"),
        ("customer", 88.0, "好的谢谢"),
        ("agent", 91.0, "请问还有什么可以帮您的吗"),
        ("customer", 97.0, "没有了"),
        ("agent", 99.0, "感谢您的来电，祝您生活愉快，再见"),
    ]
    score = score_transcript(make_transcript(lines, language="zh"), ZH)
    assert set(verdicts(score).values()) == {"pass"}, verdicts(score)
    assert score.total == 100.0 and score.language == "zh"
    assert score.characteristics.speed_unit == "characters"
    bad = lines[:-1] + [("agent", 99.0, "这不是我的问题，你自己去查")]
    score = score_transcript(make_transcript(bad, language="zh"), ZH)
    assert score.auto_failed_by == ("positive_language",) and score.total == 0.0


def test_no_customer_speech() -> None:
    text = "Thank you for calling Northwind Bank, my name is Sarah. Hello? Goodbye."
    v = verdicts(score_transcript(make_transcript([("agent", 0.5, text)], duration=20.0), EN))
    assert v["active_listening"] == "na" and v["empathy"] == "na" and v["hold_etiquette"] == "na"
    assert v["interruptions"] == "pass" and v["greeting"] == "pass" and v["closing"] == "pass"


def test_hold_at_call_end() -> None:
    # The customer hung up during an announced hold: no thank-you was possible.
    lines = [
        ("agent", 0.5, "Thank you for calling Northwind Bank, my name is Sarah"),
        ("customer", 5.0, "my card was declined at the shop today"),
        ("agent", 9.0, "I'm going to put you on hold for two minutes while I check"),
    ]
    score = score_transcript(make_transcript(lines, duration=120.0), EN)
    hold = score.result("hold_etiquette")
    assert hold.verdict is Verdict.PASS and hold.credit == pytest.approx(1.0)
    assert score.characteristics.holds[0].at_call_end
    unannounced = [*lines[:2], ("agent", 9.0, "let me look")]
    assert (
        score_transcript(make_transcript(unannounced, duration=120.0), EN).result("hold_etiquette").verdict
        is Verdict.FAIL
    )


def test_roles_inferred_flags_role_dependent_verdicts() -> None:
    score = score_transcript(planted_call(roles_inferred=True), EN)
    assert score.roles_inferred
    flagged = {r.id for r in score.results if r.roles_inferred}
    assert "greeting" in flagged and "interruptions" in flagged and "hold_etiquette" in flagged
    assert "dead_air" not in flagged
    assert not any(r.roles_inferred for r in score_transcript(planted_call(), EN).results)


def test_language_mismatch() -> None:
    with pytest.raises(ScorecardError, match="covers zh but transcript 'call-1' is in 'en'"):
        score_transcript(planted_call(), ZH)


def test_deterministic_json_and_round_trip(tmp_path: Path) -> None:
    t = planted_call(interruption=True, dead_air=True)
    first = score_transcript(t, EN).to_json()
    path = t.save(tmp_path / "call.json")
    again = score_transcript(
        Transcript.load(path), load_scorecard(ROOT / "scorecards" / "default.en.yaml")
    ).to_json()
    assert first == again
    restored = CallScore.from_dict(json.loads(first))
    assert restored.to_json() == first


def test_max_evidence() -> None:
    many = [("agent", float(i * 5), "that's not my problem") for i in range(6)]
    score = score_transcript(make_transcript(many), EN, ScoringOptions(max_evidence=2))
    r = score.result("positive_language")
    assert len(r.evidence) == 2 and "6 evidence records, first 2 shown" in r.reason


APPLIES = """\
schema_version: 1
name: t
languages: [en, zh]
frustration_phrases: {{en: [frustrating], zh: [沮丧]}}
criteria:
  - id: c
    title: C
    type: duration
    weight: 1
    max: 1h
    applies_when: {applies}
"""


@pytest.mark.parametrize(
    ("applies", "na_reason"),
    [
        ("{hold_occurred: true}", None),
        ("{hold_occurred: false}", "applies only to calls without a hold"),
        ("{customer_frustrated: true}", None),
        ("{customer_frustrated: false}", "applies only when the customer voiced no frustration"),
        ("{min_duration: 60s}", None),
        ("{min_duration: 5m}", "applies only to calls of at least 300s"),
        ("{max_duration: 1m}", "applies only to calls of at most 60s"),
        ("{language: zh}", "applies only to language(s) zh"),
        ("{language: [en, zh]}", None),
        ("{customer_spoke: true, roles_inferred: false}", None),
        ("{roles_inferred: true}", "applies only when roles were inferred"),
    ],
)
def test_applies_when(applies: str, na_reason: str | None) -> None:
    card = parse_scorecard(APPLIES.format(applies=applies))
    (r,) = score_transcript(planted_call(), card).results
    if na_reason is None:
        assert r.verdict is Verdict.PASS
    else:
        assert r.verdict is Verdict.NA and r.reason == na_reason


def test_nothing_applicable_gives_no_total() -> None:
    card = parse_scorecard(APPLIES.format(applies="{language: zh}"))
    score = score_transcript(planted_call(), card)
    assert score.total is None and score.max_points == 0.0


def _cli_app():
    return score_app


def test_cli_table(tmp_path: Path) -> None:
    path = planted_call(prohibited=True).save(tmp_path / "call.json")
    result = CliRunner().invoke(
        _cli_app(), ["score", str(path), "--scorecard", str(ROOT / "scorecards" / "default.en.yaml")]
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "auto-fail: critical criterion positive_language failed" in out
    assert "positive_language (critical)" in out and "FAIL" in out and "PASS" in out
    assert "“that's not my problem.”" in out


def test_cli_json(tmp_path: Path) -> None:
    path = planted_call().save(tmp_path / "call.json")
    result = CliRunner().invoke(
        _cli_app(),
        ["score", str(path), "--scorecard", str(ROOT / "scorecards" / "default.en.yaml"), "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total"] == 100.0 and data["scorecard"]["hash"] == EN.content_hash
    assert [c["id"] for c in data["criteria"]][0] == "greeting"


def test_cli_errors(tmp_path: Path) -> None:
    card = ROOT / "scorecards" / "default.en.yaml"
    result = CliRunner().invoke(
        _cli_app(), ["score", str(tmp_path / "missing.json"), "--scorecard", str(card)]
    )
    assert result.exit_code == 1
    assert "Error:" in result.stderr and "no such transcript file" in result.stderr
    path = planted_call().save(tmp_path / "call.json")
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nname: x\nlanguages: [en]\ncriteria: []\n", encoding="utf-8")
    result = CliRunner().invoke(_cli_app(), ["score", str(path), "--scorecard", str(bad)])
    assert result.exit_code == 1 and f"Error: {bad}:4: field 'criteria'" in result.stderr
