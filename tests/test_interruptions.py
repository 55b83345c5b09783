"""Interruptions as a QA lead counts them: each rule on hand-built transcripts, the scorecard
thresholds and the evidence (the real call ar40's is in test_realcall_verdicts.py)."""

from __future__ import annotations

import pickle

import pytest
from transcript_factory import make_transcript

from qa_pipeline.characteristics import (
    DEFAULT_BACKCHANNELS,
    Characteristics,
    CharacteristicsOptions,
    compute_characteristics,
)
from qa_pipeline.criteria import Verdict
from qa_pipeline.errors import ConfigError, ScorecardError
from qa_pipeline.overlaps import OverlapKind, PhraseCover, default_backchannels
from qa_pipeline.scorecard import parse_scorecard
from qa_pipeline.scoring import score_transcript
from qa_pipeline.transcript import Speaker

CUSTOMER_LONG = "I have been trying to log in all week and it keeps failing on the second step"


def kinds(script, options: CharacteristicsOptions | None = None, **kw) -> list[tuple[str, OverlapKind]]:
    """(who started, kind) of every overlap of a hand-built call, interruptions included."""
    ch = compute_characteristics(make_transcript(script, **kw), options)
    found = [(i.start, i.interrupter.value, OverlapKind.INTERRUPTION) for i in ch.interruptions]
    found += [(o.turn_start, o.speaker.value, o.kind) for o in ch.overlaps_not_counted]
    return [(who, kind) for _, who, kind in sorted(found)]


# --- rules -------------------------------------------------------------------------------


def test_genuine_mid_sentence_interruption() -> None:
    # The customer's words go on 2.7 s after the agent starts, mid-sentence.
    script = [("customer", 0.0, CUSTOMER_LONG), ("agent", 2.1, "hold on let me stop you there")]
    assert kinds(script) == [("agent", OverlapKind.INTERRUPTION)]
    (i,) = compute_characteristics(make_transcript(script)).interruptions
    assert i.start == 2.1 and i.duration_seconds == pytest.approx(2.6)  # agent turn ends at 4.7


def test_latched_turn_end() -> None:
    # The agent starts 0.2 s before the customer's last word ends.
    script = [("customer", 0.0, "I will be there at nine"), ("agent", 2.1, "great we will see you then")]
    # Even with an overlap threshold below 0.2 s, a latched start is a turn change.
    options = CharacteristicsOptions(interruption_min_overlap_seconds=0.1)
    assert kinds(script, options) == [("agent", OverlapKind.LATCHED)]
    tighter = CharacteristicsOptions(interruption_min_overlap_seconds=0.1, latch_tolerance_seconds=0.1)
    assert kinds(script, tighter) == [("agent", OverlapKind.INTERRUPTION)]


def test_start_at_a_sentence_end() -> None:
    # "yesterday." ends 1.5; the customer goes on with a new sentence at 1.6, the agent at 1.7.
    after_period = "It stopped working yesterday. And then the screen went black again"
    agent = ("agent", 1.7, "let me check that for you right now")
    assert kinds([("customer", 0.0, after_period), agent]) == [("agent", OverlapKind.SENTENCE_END)]
    mid_sentence = after_period.replace("yesterday.", "yesterday")
    assert kinds([("customer", 0.0, mid_sentence), agent]) == [("agent", OverlapKind.INTERRUPTION)]


def test_start_inside_a_stretched_sentence_final_word() -> None:
    # Real recognisers stretch a turn's last word over the silence after it: "chance." lasting
    # 2.9 s. The agent starting 1 s into it came in at the sentence end.
    from dataclasses import replace

    from qa_pipeline.transcript import Turn, Word, merge_turns

    said = [("walk", 199.54, 199.78), ("in", 199.78, 200.0), ("if", 200.0, 200.12), ("I", 200.12, 200.22),
            ("get", 200.22, 200.38), ("the", 200.38, 200.58)]
    agent = Turn(Speaker.AGENT, tuple(Word(w, a, a + 0.3) for w, a in zip("That sounds great so".split(),
                                                                           (201.6, 202.0, 202.4, 202.8))), 0)

    def call(last: str):
        words = (*[Word(w, a, b) for w, a, b in said], Word(last, 200.58, 203.48))
        customer = Turn(Speaker.CUSTOMER, words, 1)
        return replace(make_transcript([]), turns=merge_turns([customer, agent]))

    ch = compute_characteristics(call("chance."))
    assert ch.interruptions == ()
    assert [o.kind for o in ch.overlaps_not_counted] == [OverlapKind.SENTENCE_END]
    assert [o.kind for o in compute_characteristics(call("taken...")).overlaps_not_counted] == [
        OverlapKind.SENTENCE_END
    ]
    # Without the sentence end the same timing is talking over.
    assert len(compute_characteristics(call("chance")).interruptions) == 1


def test_chinese_sentence_end() -> None:
    # Whisper writes Chinese punctuation onto the character before it.
    from dataclasses import replace

    t = make_transcript(
        [("customer", 0.0, "我的卡丢了。然后我想补办一张新卡"), ("agent", 2.5, "好的我帮您查一下您的账户信息")],
        language="zh",
    )
    ch = compute_characteristics(t)
    assert [o.kind for o in ch.overlaps_not_counted] == [OverlapKind.SENTENCE_END]
    customer = t.turns[0]
    words = tuple(replace(w, text=w.text.rstrip("。")) for w in customer.words if w.text != "。")
    no_stop = replace(t, turns=(replace(customer, words=words), t.turns[1]))
    assert len(compute_characteristics(no_stop).interruptions) == 1


def test_simultaneous_start() -> None:
    script = [
        ("agent", 0.0, "hello"),
        ("customer", 5.0, "so I wanted to ask about the charge on my card"),
        ("agent", 5.3, "and one more thing before we go on"),
    ]
    assert kinds(script) == [("agent", OverlapKind.SIMULTANEOUS_START)]
    later = CharacteristicsOptions(simultaneous_start_seconds=0.2)
    assert kinds(script, later) == [("agent", OverlapKind.INTERRUPTION)]


def test_acknowledgements_of_any_length_up_to_the_bound() -> None:
    for said in ("No problem, no problem.", "okay okay", "Got it.", "uh-huh right", "Yeah, I see, of course."):
        script = [("customer", 0.0, CUSTOMER_LONG), ("agent", 2.1, said)]
        assert kinds(script) == [("agent", OverlapKind.ACKNOWLEDGEMENT)], said
    # A phrase's words alone are not a backchannel: "problem" is content.
    script = [("customer", 0.0, CUSTOMER_LONG), ("agent", 2.1, "problem problem")]
    assert kinds(script) == [("agent", OverlapKind.INTERRUPTION)]
    short = CharacteristicsOptions(backchannel_max_words=3)
    script = [("customer", 0.0, CUSTOMER_LONG), ("agent", 2.1, "No problem, no problem.")]
    assert kinds(script, short) == [("agent", OverlapKind.INTERRUPTION)]


def test_chinese_acknowledgements() -> None:
    script = [("customer", 0.0, "我的信用卡被重复扣费了两次我想退款"), ("agent", 1.0, "对对对"), ("agent", 3.0, "嗯嗯好的")]
    assert kinds(script, language="zh") == [("agent", OverlapKind.ACKNOWLEDGEMENT)] * 2


def test_echo_confirmation() -> None:
    customer = ("customer", 0.0, "it is a 2019 model with about forty thousand miles on it")
    assert kinds([customer, ("agent", 1.3, "A 2019.")]) == [("agent", OverlapKind.ECHO)]
    assert kinds([customer, ("agent", 1.3, "Okay, a 2019 model.")]) == [("agent", OverlapKind.ECHO)]
    # Words the customer did not say are not an echo.
    assert kinds([customer, ("agent", 1.3, "A 2018.")]) == [("agent", OverlapKind.INTERRUPTION)]


def test_trailing_off() -> None:
    # The customer's words after the agent starts are only fillers and acknowledgements.
    script = [("customer", 0.0, "and that is about everything okay um okay yeah"), ("agent", 2.1, "let me check that for you")]
    assert kinds(script) == [("agent", OverlapKind.TRAILING_OFF)]


def test_brief_overlap() -> None:
    # The customer's words end 0.4 s after the agent starts: under the 500 ms threshold.
    script = [("customer", 0.0, "I will be there at nine"), ("agent", 1.9, "great we will see you then")]
    assert kinds(script) == [("agent", OverlapKind.BRIEF)]


def test_a_turn_in_the_other_partys_pause_is_no_overlap() -> None:
    # The agent speaks inside the customer's 0.8 s pause (one customer turn) and stops before
    # the customer goes on: nobody talked over anybody.
    from dataclasses import replace

    from qa_pipeline.transcript import Turn, Word, merge_turns

    customer = Turn(Speaker.CUSTOMER, (Word("so", 0.0, 0.3), Word("then", 1.4, 1.7)), 1)
    agent = Turn(Speaker.AGENT, (Word("yes", 0.6, 0.9),), 0)
    t = replace(make_transcript([]), turns=merge_turns([customer, agent]))
    ch = compute_characteristics(t)
    assert ch.interruptions == () and ch.overlaps_not_counted == ()


def test_overlap_measured_on_words() -> None:
    # The customer's turn holds a pause; the agent starts in it and the customer resumes.
    # Talked over: from the customer's next word to the end of the agent's turn.
    from dataclasses import replace

    from qa_pipeline.transcript import Turn, Word, merge_turns

    cust_words = [Word(w, t, t + 0.3) for w, t in zip("and then it kept failing again and again".split(),
                                                      (0.0, 0.4, 0.8, 2.0, 2.4, 2.8, 3.2, 3.6))]
    customer = Turn(Speaker.CUSTOMER, tuple(cust_words), 1)
    agent_words = [Word(w, t, t + 0.3) for w, t in zip("let me just stop you".split(), (1.4, 1.8, 2.2, 2.6, 3.0))]
    agent = Turn(Speaker.AGENT, tuple(agent_words), 0)
    t = replace(make_transcript([]), turns=merge_turns([customer, agent]))
    (i,) = compute_characteristics(t).interruptions
    assert i.start == 1.4
    assert i.duration_seconds == pytest.approx(3.3 - 2.0)


# --- options, data and records -----------------------------------------------------------


def test_backchannel_phrases_are_data() -> None:
    data = default_backchannels()
    assert {"en", "zh"} <= set(data)
    assert "no problem" in data["en"] and "对对" in data["zh"]
    assert "no problem" in DEFAULT_BACKCHANNELS and "嗯" in DEFAULT_BACKCHANNELS
    cover = PhraseCover(["no problem", "okay"])
    assert cover.covers(("no", "problem", "okay", "no", "problem"))
    assert not cover.covers(("problem",)) and not cover.covers(("no", "okay"))
    assert cover.covers(())  # fillers only ("um") leave no tokens


def test_options_validation() -> None:
    with pytest.raises(ConfigError, match="latch_tolerance_seconds"):
        CharacteristicsOptions(latch_tolerance_seconds=-0.1)
    with pytest.raises(ConfigError, match="simultaneous_start_seconds"):
        CharacteristicsOptions(simultaneous_start_seconds=-1.0)
    with pytest.raises(ConfigError, match="backchannel_max_words"):
        CharacteristicsOptions(backchannel_max_words=2.5)  # type: ignore[arg-type]
    opts = CharacteristicsOptions.from_dict({"latch_tolerance_seconds": 0.2, "backchannel_max_words": 3})
    assert CharacteristicsOptions.from_dict(opts.to_dict()) == opts
    assert pickle.loads(pickle.dumps(opts)).backchannel_cover.covers(("okay",))


CARD = """\
schema_version: 1
name: t
languages: [en]
characteristics:
{block}criteria:
  - id: interruptions
    title: No interruptions
    type: interruptions
    weight: 10
    max_count: 0
"""


def card(block: str):
    return parse_scorecard(CARD.format(block=block), source="card.yaml")


def test_thresholds_from_the_scorecard() -> None:
    c = card("  latch_tolerance: 100ms\n  simultaneous_start: 200ms\n  backchannel_max_words: 3\n")
    opts = c.characteristics
    assert opts.latch_tolerance_seconds == pytest.approx(0.1)
    assert opts.simultaneous_start_seconds == pytest.approx(0.2)
    assert opts.backchannel_max_words == 3
    default = card("  hold_min: 15s\n").characteristics
    assert (default.latch_tolerance_seconds, default.simultaneous_start_seconds, default.backchannel_max_words) == (
        0.3,
        0.5,
        6,
    )
    # The same call, judged by each card.
    t = make_transcript([("customer", 0.0, CUSTOMER_LONG), ("agent", 2.1, "No problem, no problem.")])
    assert score_transcript(t, c).result("interruptions").verdict is Verdict.FAIL
    assert score_transcript(t, card("  hold_min: 15s\n")).result("interruptions").verdict is Verdict.PASS


@pytest.mark.parametrize(
    "line, field, says",
    [
        ("latch_tolerance: 300", "latch_tolerance", "unit"),
        ("simultaneous_start: half a second", "simultaneous_start", ""),
        ("backchannel_max_words: 2.5", "backchannel_max_words", "whole number"),
        ("backchannel_max_words: -1", "backchannel_max_words", ">= 0"),
        ("latch_tolerence: 300ms", "latch_tolerence", ""),
    ],
)
def test_unit_errors_name_the_field(line: str, field: str, says: str) -> None:
    with pytest.raises(ScorecardError) as err:
        card(f"  {line}\n")
    message = str(err.value)
    assert "card.yaml" in message and field in message and says in message


def test_pass_says_what_was_not_counted() -> None:
    t = make_transcript(
        [
            ("customer", 0.0, CUSTOMER_LONG),
            ("agent", 2.1, "No problem, no problem."),
            ("customer", 10.0, "I will be there at nine"),
            ("agent", 12.1, "great we will see you then"),
        ]
    )
    r = score_transcript(t, card("  hold_min: 15s\n")).result("interruptions")
    assert r.verdict is Verdict.PASS
    assert r.reason == (
        "0 agent interruption(s), at most 0 allowed; 2 overlaps not counted: 1 acknowledgement, 1 latched turn end"
    )
    notes = [e for e in r.evidence if e.kind == "note"]
    assert [n.start for n in notes] == [2.1, 12.1]
    assert notes[0].rule.startswith('Agent at 0:02 said "No problem, no problem." over the customer')
    assert notes[0].rule.endswith("acknowledgement, not counted")


def test_only_the_longest_overlaps_not_counted_are_noted() -> None:
    script = [("customer", 0.0, " ".join([CUSTOMER_LONG] * 3))]
    script += [("agent", 1.0 + 2.0 * n, "uh-huh" if n != 3 else "okay okay okay") for n in range(8)]
    r = score_transcript(make_transcript(script), card("  hold_min: 15s\n")).result("interruptions")
    assert r.verdict is Verdict.PASS
    assert r.reason.endswith("8 overlaps not counted: 8 acknowledgements")
    notes = [e for e in r.evidence if e.kind == "note"]
    assert len(notes) == 5 and 7.0 in [n.start for n in notes]  # the longest, "okay okay okay"
    assert [n.start for n in notes] == sorted(n.start for n in notes)


def test_failure_evidence_in_plain_words() -> None:
    t = make_transcript(
        [("agent", 0.0, "hello"), ("customer", 165.0, CUSTOMER_LONG), ("agent", 168.4, "hold on let me stop you there")]
    )
    r = score_transcript(t, card("  hold_min: 15s\n")).result("interruptions")
    assert r.verdict is Verdict.FAIL
    (e,) = [e for e in r.evidence if e.kind == "event"]
    assert e.rule == (
        'Agent at 2:48 started "hold on let me stop you there" while the customer was still saying '
        '"week and it keeps failing on the second" — talked over them for 2.7 s'
    )


def test_exported_names_follow_call_analytics() -> None:
    t = make_transcript(
        [("customer", 0.0, CUSTOMER_LONG), ("agent", 2.1, "hold on let me stop you there"), ("agent", 10.0, "okay")]
    )
    ch = compute_characteristics(t)
    d = ch.to_dict()
    assert d["interruption_count"] == 1
    assert d["interruption_time_seconds"] == pytest.approx(2.6)
    assert d["interruptions_by_interrupter"] == {
        "agent": [{"start": 2.1, "end": 4.7, "duration_seconds": 2.6}],
        "customer": [],
    }
    again = Characteristics.from_dict(d)
    assert again.to_dict() == d
    # Records written before overlaps were classified still load.
    old = {k: v for k, v in d.items() if k not in ("overlaps_not_counted", "interruptions_by_interrupter")}
    assert Characteristics.from_dict(old).overlaps_not_counted == ()
