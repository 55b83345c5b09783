"""Call characteristics from word timings: talk time, silences, holds, interruptions, speed."""

from __future__ import annotations

import pytest
from transcript_factory import make_transcript, turn_end

from qa_pipeline.characteristics import (
    Characteristics,
    CharacteristicsOptions,
    compute_characteristics,
)
from qa_pipeline.errors import ConfigError
from qa_pipeline.overlaps import OverlapKind
from qa_pipeline.transcript import Speaker


def test_talk_time_and_share() -> None:
    t = make_transcript([("agent", 0.0, "one two three four"), ("customer", 2.0, "five six")])
    ch = compute_characteristics(t)
    assert ch.agent.talk_time_seconds == pytest.approx(turn_end(0.0, "one two three four"))
    assert ch.customer.talk_time_seconds == pytest.approx(0.7)
    assert ch.agent_talk_share == pytest.approx(1.5 / 2.2)
    assert ch.agent.turn_count == 1 and ch.customer.word_count == 2


def test_talk_speed_words_per_minute() -> None:
    # 10 words in 10 x 0.5 s with no pauses = 120 words per minute.
    t = make_transcript([("agent", 0.0, " ".join(["word"] * 10))], word_seconds=0.5, gap_seconds=0.0)
    ch = compute_characteristics(t)
    assert ch.speed_unit == "words"
    assert ch.agent.talk_speed_per_minute == pytest.approx(120.0)
    assert ch.customer.talk_speed_per_minute is None  # no customer speech


def test_chinese_speed_counts_characters() -> None:
    t = make_transcript(
        [("agent", 0.0, "您好欢迎致电北风银行")], language="zh", word_seconds=0.25, gap_seconds=0.0
    )
    ch = compute_characteristics(t)
    assert ch.speed_unit == "characters"
    assert ch.agent.word_count == 10
    assert ch.agent.talk_speed_per_minute == pytest.approx(240.0)


def test_non_talk_and_hold() -> None:
    t = make_transcript(
        [
            ("agent", 0.0, "hello there"),  # ends 0.7
            ("customer", 5.0, "hi"),  # 4.3 s silence: non-talk
            ("agent", 6.0, "one moment"),  # 0.7 s: nothing
            ("agent", 30.0, "thanks for waiting"),  # 23.3 s: hold
        ]
    )
    ch = compute_characteristics(t)
    assert [(round(n.start, 2), round(n.end, 2)) for n in ch.non_talk] == [(0.7, 5.0)]
    assert len(ch.holds) == 1
    assert ch.holds[0].start == pytest.approx(6.7) and ch.holds[0].end == pytest.approx(30.0)
    assert not ch.holds[0].at_call_end
    assert ch.non_talk_time_seconds == pytest.approx(4.3)
    assert ch.hold_time_seconds == pytest.approx(23.3)


def test_silence_is_bridged_by_the_other_party() -> None:
    # The agent pauses 20 s but the customer talks in between: no hold, no non-talk.
    t = make_transcript(
        [("agent", 0.0, "hello"), ("customer", 1.0, " ".join(["word"] * 50)), ("agent", 20.3, "right")]
    )
    ch = compute_characteristics(t)
    assert ch.holds == () and ch.non_talk == ()


def test_pause_inside_a_turn_counts() -> None:
    # Words in one turn 5 s apart (a long turn gap upstream) still make non-talk time.
    t = make_transcript([("agent", 0.0, "a b")], word_seconds=0.3, gap_seconds=5.0)
    assert len(compute_characteristics(t).non_talk) == 1


def test_hold_at_call_end_and_leading_silence() -> None:
    t = make_transcript([("agent", 12.0, "please hold")], duration=60.0)
    ch = compute_characteristics(t)
    assert [h.at_call_end for h in ch.holds] == [True]
    assert ch.holds[0].end == 60.0
    assert ch.non_talk == ()  # 12 s of ringing before the first word is not a silence


def test_short_trailing_silence_is_nothing() -> None:
    t = make_transcript([("agent", 0.0, "bye")], duration=10.0)
    ch = compute_characteristics(t)
    assert ch.holds == () and ch.non_talk == ()


def test_agent_interrupts_customer() -> None:
    t = make_transcript(
        [
            ("customer", 0.0, "I have been trying to log in all week and it keeps failing"),  # ends 5.1
            ("agent", 3.0, "let me stop you there"),
        ]
    )
    ch = compute_characteristics(t)
    (i,) = ch.interruptions
    assert i.interrupter is Speaker.AGENT
    assert i.start == 3.0
    assert i.duration_seconds == pytest.approx(1.9)  # the agent turn ends at 4.9
    assert i.interrupted_turn_start == 0.0
    assert ch.interruptions_by(Speaker.CUSTOMER) == ()


def test_backchannel_is_not_an_interruption() -> None:
    t = make_transcript(
        [
            ("customer", 0.0, "I have been trying to log in all week and it keeps failing"),
            ("agent", 2.0, "uh-huh"),
            ("agent", 3.0, "right"),
            ("agent", 3.6, "mm-hmm okay"),
        ]
    )
    assert compute_characteristics(t).interruptions == ()


def test_backchannel_run_up_to_the_word_bound_is_not_an_interruption() -> None:
    # "okay okay okay okay" lasts 1.5 s: still listening, up to backchannel_max_words words.
    script = [("customer", 0.0, "I have been trying to log in all week and it keeps failing")]
    t = make_transcript([*script, ("agent", 2.0, "okay okay okay okay")])
    ch = compute_characteristics(t)
    assert ch.interruptions == ()
    assert [o.kind for o in ch.overlaps_not_counted] == [OverlapKind.ACKNOWLEDGEMENT]
    # Past the bound it is talking over.
    t = make_transcript([*script, ("agent", 2.0, "okay okay okay okay okay okay okay")])
    assert len(compute_characteristics(t).interruptions) == 1


def test_chinese_backchannel() -> None:
    t = make_transcript(
        [
            ("customer", 0.0, "我的信用卡被重复扣费了两次我想退款"),
            ("agent", 2.0, "嗯"),
            ("agent", 3.0, "对对"),
        ],
        language="zh",
    )
    assert compute_characteristics(t).interruptions == ()


def test_small_overlap_is_not_an_interruption() -> None:
    # The agent starts 0.3 s before the customer's last word ends: a quick turn-taking.
    t = make_transcript([("customer", 0.0, "that is all"), ("agent", 0.8, "great thank you so much")])
    assert compute_characteristics(t).interruptions == ()


def test_customer_interrupts_agent() -> None:
    t = make_transcript(
        [
            ("agent", 0.0, "so what I will do now is raise a dispute for that charge"),
            ("customer", 1.0, "no wait I do not want that"),
        ]
    )
    (i,) = compute_characteristics(t).interruptions
    assert i.interrupter is Speaker.CUSTOMER


def test_no_customer_speech() -> None:
    t = make_transcript([("agent", 0.0, "hello is anyone there")], duration=30.0)
    ch = compute_characteristics(t)
    assert ch.customer.talk_time_seconds == 0.0
    assert ch.agent_talk_share == 1.0
    assert ch.interruptions == ()
    assert len(ch.holds) == 1 and ch.holds[0].at_call_end


def test_empty_transcript() -> None:
    ch = compute_characteristics(make_transcript([], duration=5.0))
    assert ch.agent_talk_share is None
    assert ch.duration_seconds == 5.0
    assert ch.holds == () and ch.non_talk == () and ch.interruptions == ()


def test_duration_is_handle_time() -> None:
    t = make_transcript([("agent", 0.0, "hi")], duration=95.5)
    assert compute_characteristics(t).duration_seconds == 95.5


def test_options_change_thresholds() -> None:
    t = make_transcript([("agent", 0.0, "hello"), ("customer", 10.0, "hi")])
    assert len(compute_characteristics(t).non_talk) == 1
    ch = compute_characteristics(t, CharacteristicsOptions(non_talk_min_seconds=3.0, hold_min_seconds=8.0))
    assert ch.non_talk == () and len(ch.holds) == 1


def test_options_validation_and_from_dict() -> None:
    with pytest.raises(ConfigError, match="hold_min_seconds"):
        CharacteristicsOptions(non_talk_min_seconds=5.0, hold_min_seconds=4.0)
    with pytest.raises(ConfigError, match="unknown option"):
        CharacteristicsOptions.from_dict({"hold_min": 10})
    opts = CharacteristicsOptions.from_dict({"hold_min_seconds": 20.0, "backchannel_tokens": ["yeah"]})
    assert opts.hold_min_seconds == 20.0 and opts.backchannel_vocab == frozenset({"yeah"})


def test_round_trip() -> None:
    t = make_transcript(
        [
            ("customer", 0.0, "I have been trying to log in all week and it keeps failing"),
            ("agent", 3.0, "let me stop you there"),
            ("agent", 30.0, "thanks for waiting"),
        ],
        duration=60.0,
    )
    ch = compute_characteristics(t)
    again = Characteristics.from_dict(ch.to_dict())
    assert again.to_dict() == ch.to_dict()
    assert ch.to_dict()["interruption_count"] == 1


def test_recorded_turn_gap_gives_the_same_result() -> None:
    # Pipeline transcripts record turn_gap_seconds; the scorer then reads pauses from turn
    # boundaries only. Both ways must agree.
    from qa_pipeline.transcript import Word, merge_turns, words_to_turns

    agent_words = [
        Word(f"w{i}", t, t + 0.3) for i, t in enumerate([0.0, 0.5, 1.2, 5.0, 5.4, 30.0, 30.8, 40.0])
    ]
    customer_words = [Word(f"c{i}", t, t + 0.3) for i, t in enumerate([1.6, 2.0, 2.6, 6.0, 6.5, 41.0])]
    turns = merge_turns(
        words_to_turns(agent_words, Speaker.AGENT, 0, 1.0),
        words_to_turns(customer_words, Speaker.CUSTOMER, 1, 1.0),
    )
    plain = make_transcript([], duration=80.0)
    from dataclasses import replace

    without = replace(plain, turns=turns)
    with_gap = replace(plain, turns=turns, options={"turn_gap_seconds": 1.0})
    a = compute_characteristics(without).to_dict()
    b = compute_characteristics(with_gap).to_dict()
    assert a == b
    assert len(a["holds"]) == 2 and len(a["non_talk"]) == 1
