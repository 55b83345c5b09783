"""Role evidence and the agent/customer decision, for stereo channels and diarized speakers."""

from pathlib import Path

import pytest

from qa_pipeline.roles import (
    assign_speaker_roles,
    assign_stereo_roles,
    decide_roles,
    gather_evidence,
    greeting_hits,
    scorecard_agent_phrases,
)
from qa_pipeline.scorecard import load_scorecard
from qa_pipeline.transcript import RoleAssignment, RolesSource, Word

SCORECARD = Path(__file__).resolve().parent.parent / "scorecards" / "default.en.yaml"


def words(text, start, step=0.3):
    return [Word(w, start + i * step, start + i * step + 0.25) for i, w in enumerate(text.split())]


GREETING = words("Thank you for calling Northwind Bank, my name is Sarah. How can I help you today?", 0.8)
CUSTOMER = words("Hi, I was charged twice for my March bill.", 0.2)


def test_greeting_hits_english_and_chinese():
    assert "thank you for calling" in greeting_hits(GREETING)
    assert greeting_hits(CUSTOMER) == []
    zh = [Word("您好", 0.0, 0.4), Word("，", 0.4, 0.4), Word("欢迎", 0.5, 0.8), Word("致电", 0.8, 1.1)]
    assert {"您好", "欢迎致电"} <= set(greeting_hits(zh))


def test_greeting_beats_first_speaker():
    # The customer's channel starts first (e.g. line noise, "hello?"), but only channel 1 greets.
    roles = assign_stereo_roles([CUSTOMER, GREETING], [0.2, 0.8], configured=None)
    assert roles.agent_channel == 1 and roles.method == "greeting"
    assert roles.source is RolesSource.CHANNEL and not roles.inferred
    assert "thank you for calling" in roles.reason


def test_first_speaker_when_nobody_greets():
    a = words("yeah what do you need", 0.5)
    c = words("I need to reset my password", 2.5)
    roles = assign_stereo_roles([c, a], [2.5, 0.5], configured=None)
    assert roles.agent_channel == 1 and roles.method == "first_speaker"
    assert 0.5 < roles.confidence <= 0.9
    assert "2.0s before" in roles.reason


def test_configured_channel_wins():
    roles = assign_stereo_roles([CUSTOMER, GREETING], [0.2, 0.8], configured=0)
    assert roles.agent_channel == 0 and roles.method == "configured" and roles.confidence == 1.0


def test_silent_channels():
    roles = assign_stereo_roles([[], words("hello", 1.0)], [None, 1.0], configured=None)
    assert roles.agent_channel == 1 and "silent" in roles.reason
    roles = assign_stereo_roles([[], []], [None, None], configured=None)
    assert roles.method == "default" and roles.confidence == 0.0


def test_weak_stereo_evidence_is_flagged_for_review():
    # Neither channel greets; one starts a fraction of a second earlier: a coin toss.
    a = words("okay so about that", 1.0)
    b = words("right and then what", 1.2)
    roles = assign_stereo_roles([a, b], [1.0, 1.2], configured=None, review_below=0.7)
    assert roles.method == "first_speaker" and roles.confidence < 0.7 and roles.review
    assert not assign_stereo_roles([a, b], [1.0, 1.2], configured=None, review_below=0.5).review
    assert not assign_stereo_roles([CUSTOMER, GREETING], [0.2, 0.8], configured=None).review


def test_verification_requests_mark_the_agent_even_when_the_customer_speaks_first():
    customer = words("hello? hi I have a question about a payment", 0.3)
    agent = words("sure, can I have your account number and date of birth please", 2.0)
    roles = assign_stereo_roles([customer, agent], [0.3, 2.0], configured=None)
    assert roles.agent_channel == 1
    assert roles.method in {"verification", "customer_phrases"} and roles.confidence >= 0.7
    ev = gather_evidence(agent)
    assert set(ev.verification) >= {"account number", "date of birth"}


def test_scorecard_agent_phrases_are_evidence():
    card = load_scorecard(SCORECARD)
    phrases = scorecard_agent_phrases(card)
    assert "thank you for calling" in phrases
    assert all(len(p.split()) >= 2 for p in phrases), "one-word phrases are said by everyone"
    speech = words("let me check that for you, is there anything else I can help you with", 3.0)
    other = words("right okay yes", 0.5)
    without = decide_roles([gather_evidence(other), gather_evidence(speech)])
    with_card = decide_roles([gather_evidence(other, agent_phrases=phrases), gather_evidence(speech, agent_phrases=phrases)])
    assert with_card.evidence[1].scorecard
    assert with_card.agents == (1,) and with_card.method == "scorecard_phrases"
    assert without.agents == (0,), "without the scorecard only the head start speaks"


def test_chinese_scorecard_phrases_are_evidence():
    # The scorecard's phrases arrive as one list of every language; a Chinese one is matched
    # over the characters, not on word bounds, and its {name} must be a surname.
    phrases = scorecard_agent_phrases(load_scorecard(SCORECARD.with_name("default.zh.yaml")))
    assert any("{name}" in p for p in phrases)
    welcome = [Word(t, 2.0 + i * 0.3, 2.2 + i * 0.3) for i, t in enumerate(["您好", "欢迎致电", "招商银行"])]
    assert "欢迎致电" in gather_evidence(welcome, agent_phrases=phrases).scorecard
    # Only the scorecard tells this agent apart: no greeting cue, and the customer speaks first.
    agent = [Word(t, 0.6 + i * 0.3, 0.8 + i * 0.3) for i, t in enumerate(["这边", "是", "小", "王", "我", "姓", "王"])]
    customer = [Word(t, 0.3 + i * 0.3, 0.5 + i * 0.3) for i, t in enumerate(["喂", "嗯"])]
    assert set(gather_evidence(agent, agent_phrases=phrases).scorecard) == {"这边是小{name}", "我姓{name}"}
    decision = decide_roles([gather_evidence(customer, agent_phrases=phrases), gather_evidence(agent, agent_phrases=phrases)])
    assert decision.agents == (1,) and decision.method == "scorecard_phrases"


def test_a_chinese_name_slot_holds_a_surname_only():
    phrases = ("我是{name}",)
    card_holder = [Word("我是金卡用户", 0.0, 1.0)]  # 金 is a surname, 金卡 a gold card
    assert gather_evidence(card_holder, agent_phrases=phrases).scorecard == ()
    # The first candidate fails, a later one in the same text is still found.
    both = [Word("我是金卡用户", 0.0, 1.0), Word("我是王", 1.5, 2.0)]
    assert gather_evidence(both, agent_phrases=phrases).scorecard == ("我是{name}",)


def test_diarized_speakers_get_roles_with_source_diarization():
    agents, roles = assign_speaker_roles([CUSTOMER, GREETING])
    assert agents == (1,)
    assert roles.source is RolesSource.DIARIZATION and roles.inferred and roles.agent_channel is None
    assert roles.method == "greeting" and roles.confidence >= 0.9 and not roles.review
    assert "speaker 1 is the agent" in roles.reason
    data = roles.to_dict()
    assert data["roles_inferred"] is True and data["review"] is False
    assert RoleAssignment.from_dict(data) == roles


def test_one_voice_is_always_flagged():
    agents, roles = assign_speaker_roles([GREETING])
    assert agents == (0,) and roles.method == "single_speaker" and roles.review
    assert "one voice" in roles.reason
    agents, roles = assign_speaker_roles([CUSTOMER])
    assert agents == () and roles.review and "customer" in roles.reason


def test_a_transfer_keeps_both_agents():
    second_agent = words("hi, this is Tom from the cards team, can you confirm your full name for me", 30.0)
    agents, roles = assign_speaker_roles([GREETING, CUSTOMER, second_agent])
    assert set(agents) == {0, 2}
    assert "transfer" in roles.reason


def test_no_speech_at_all():
    agents, roles = assign_speaker_roles([])
    assert agents == () and roles.method == "default" and roles.confidence == 0.0 and roles.review


def test_every_method_is_a_known_name():
    from qa_pipeline.roles import METHODS

    cases = [
        assign_stereo_roles([CUSTOMER, GREETING], [0.2, 0.8], configured=None),
        assign_stereo_roles([CUSTOMER, GREETING], [0.2, 0.8], configured=1),
        assign_stereo_roles([[], []], [None, None], configured=None),
        assign_speaker_roles([GREETING])[1],
        assign_speaker_roles([words("okay", 0.0), words("right", 2.0)])[1],
    ]
    assert all(r.method in METHODS for r in cases), [r.method for r in cases]
