import pytest

from qa_pipeline.roles import assign_mono_roles, assign_stereo_roles, greeting_hits
from qa_pipeline.transcript import RolesSource, Speaker, Word


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


def test_mono_alternation_marks_roles_inferred():
    ws = words("thank you for calling", 0.0) + words("hi I lost my card", 3.0) + words("sorry to hear that", 6.0)
    turns, roles = assign_mono_roles(ws, turn_gap_seconds=1.0)
    assert [t.speaker for t in turns] == [Speaker.AGENT, Speaker.CUSTOMER, Speaker.AGENT]
    assert roles.inferred and roles.source is RolesSource.INFERRED and roles.agent_channel is None
    assert roles.to_dict()["roles_inferred"] is True
    assert roles.confidence == pytest.approx(0.3)
