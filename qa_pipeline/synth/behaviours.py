"""Planted behaviours: which QA-relevant moves a call contains, the script that realises them,
and the verdicts a correct scorer must reach.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa_pipeline.synth import phrases
from qa_pipeline.synth.records import (
    CRITERIA,
    Event,
    EventType,
    Line,
    Pause,
    Step,
    Verdict,
)
from qa_pipeline.transcript import Speaker

# A silence at least this long outside a hold fails the dead-air criterion (the default
# scorecard's threshold).
DEAD_AIR_FAIL_SECONDS = 10.0

A, C = Speaker.AGENT, Speaker.CUSTOMER


@dataclass(frozen=True)
class Behaviours:
    """What one call contains. Good behaviours default to present, bad ones to absent.

    Attributes:
        greeting: The agent opens with a greeting.
        self_identification: The agent gives name and company in the opening.
        paraphrase: The agent restates the problem (active listening).
        frustration: The customer voices frustration.
        empathy: The agent answers frustration with empathy (only with ``frustration``).
        positive: The agent uses a positive, helpful phrase.
        verification: The agent asks the customer's name (makes the call longer).
        dead_air_seconds: Unexplained silence on both channels mid-call; 0 = none.
        hold: The customer is put on hold.
        hold_announced: The agent asks before the hold.
        hold_thanked: The agent thanks the customer after the hold.
        hold_seconds: Length of the hold.
        hold_music: Music on the agent channel during the hold (else silence).
        interruption: The agent talks over the customer's explanation.
        interruption_seconds: Length of the talk-over; None = 1–2 s chosen at random.
        follow_up: The customer makes a further request; None = only when ``prohibited``.
        prohibited: The agent answers the request with prohibited language.
        closing: The agent asks whether there is anything else and says goodbye.
    """

    greeting: bool = True
    self_identification: bool = True
    paraphrase: bool = True
    frustration: bool = False
    empathy: bool = True
    positive: bool = True
    verification: bool = False
    dead_air_seconds: float = 0.0
    hold: bool = False
    hold_announced: bool = True
    hold_thanked: bool = True
    hold_seconds: float = 25.0
    hold_music: bool = True
    interruption: bool = False
    interruption_seconds: float | None = None
    follow_up: bool | None = None
    prohibited: bool = False
    closing: bool = True

    def __post_init__(self) -> None:
        if self.dead_air_seconds < 0:
            raise ValueError("dead_air_seconds must be >= 0")
        if self.hold_seconds <= 0:
            raise ValueError("hold_seconds must be positive")
        if self.interruption_seconds is not None and not 0.2 <= self.interruption_seconds <= 4.0:
            raise ValueError("interruption_seconds must be within 0.2..4")
        if self.prohibited and self.follow_up is False:
            raise ValueError("prohibited language needs follow_up (the request it answers)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Behaviours:
        return cls(**data)


def _pick(rng: np.random.Generator, pool: Sequence[str], **fields: str) -> str:
    return pool[int(rng.integers(len(pool)))].format(**fields)


def pick_problem(rng: np.random.Generator, topic: str | None = None) -> phrases.Problem:
    """Choose a problem variant, of one topic or any."""
    pool = [p for p in phrases.PROBLEMS if topic is None or p.topic == topic]
    if not pool:
        raise ValueError(f"unknown problem topic {topic!r}; choose from {', '.join(phrases.TOPICS)}")
    return pool[int(rng.integers(len(pool)))]


def build_steps(
    behaviours: Behaviours,
    problem: phrases.Problem,
    agent_name: str,
    company: str,
    rng: np.random.Generator,
) -> tuple[Step, ...]:
    """Write the script of a call that plants ``behaviours``.

    Args:
        behaviours: What the call contains.
        problem: Why the customer calls.
        agent_name: The agent's first name, for the self-identification.
        company: The company name, for greeting and self-identification.
        rng: Chooses among phrasings; the same state gives the same script.
    """
    b = behaviours
    names = {"name": agent_name, "company": company}
    steps: list[Step] = []

    opening_marks = tuple(
        m
        for m, on in ((EventType.GREETING, b.greeting), (EventType.SELF_IDENTIFICATION, b.self_identification))
        if on
    )
    steps.append(Line(A, _pick(rng, phrases.OPENINGS[(b.greeting, b.self_identification)], **names), opening_marks))
    steps.append(Line(C, problem.explain))
    if b.interruption:
        overlap = b.interruption_seconds
        if overlap is None:
            overlap = round(float(rng.uniform(1.0, 2.0)), 2)
        steps.append(Line(A, _pick(rng, phrases.INTERRUPT), overlap_seconds=overlap))
    if b.frustration:
        steps.append(Line(C, _pick(rng, phrases.FRUSTRATION), (EventType.FRUSTRATION,)))
        if b.empathy:
            steps.append(Line(A, _pick(rng, phrases.EMPATHY), (EventType.EMPATHY,)))
    if b.paraphrase:
        steps.append(Line(A, problem.paraphrase, (EventType.PARAPHRASE,)))
        steps.append(Line(C, _pick(rng, phrases.CONFIRM)))
    else:
        steps.append(Line(A, _pick(rng, phrases.ACKNOWLEDGE)))
    if b.positive:
        steps.append(Line(A, _pick(rng, phrases.POSITIVE), (EventType.POSITIVE,)))
    if b.verification:
        steps.append(Line(A, _pick(rng, phrases.VERIFY)))
        steps.append(Line(C, _pick(rng, phrases.CUSTOMER_NAMES)))
    if b.dead_air_seconds > 0:
        steps.append(Pause("dead_air", b.dead_air_seconds))
    if b.hold:
        if b.hold_announced:
            steps.append(Line(A, _pick(rng, phrases.HOLD_ANNOUNCEMENT), (EventType.HOLD_ANNOUNCEMENT,)))
            steps.append(Line(C, _pick(rng, phrases.HOLD_ACCEPT)))
        steps.append(Pause("hold", b.hold_seconds, music=b.hold_music))
        if b.hold_thanked:
            steps.append(Line(A, _pick(rng, phrases.HOLD_THANKS), (EventType.HOLD_THANKS,)))
    steps.append(Line(A, problem.resolution))
    if b.follow_up or (b.follow_up is None and b.prohibited):
        steps.append(Line(C, problem.request))
        if b.prohibited:
            steps.append(Line(A, _pick(rng, phrases.PROHIBITED), (EventType.PROHIBITED,)))
        else:
            steps.append(Line(A, _pick(rng, phrases.HELPFUL_REPLY)))
    if b.closing:
        steps.append(Line(A, _pick(rng, phrases.CLOSING), (EventType.CLOSING,)))
        steps.append(Line(C, _pick(rng, phrases.CLOSING_REPLY)))
        steps.append(Line(A, _pick(rng, phrases.FAREWELL, **names)))
    else:
        steps.append(Line(C, _pick(rng, phrases.ABRUPT_END_CUSTOMER)))
        steps.append(Line(A, _pick(rng, phrases.ABRUPT_END_AGENT)))
    return tuple(steps)


def expected_verdicts(events: Sequence[Event]) -> dict[str, Verdict]:
    """The verdict per default-scorecard criterion that the planted events call for.

    Args:
        events: Every event of the rendered call.

    Returns:
        ``{criterion_id: "pass" | "fail" | "na"}`` for every id in :data:`CRITERIA`.
    """

    def has(kind: EventType) -> bool:
        return any(e.type is kind for e in events)

    frustrations = [e for e in events if e.type is EventType.FRUSTRATION]
    if not frustrations:
        empathy: Verdict = "na"
    else:
        first = min(e.start for e in frustrations)
        empathy = "pass" if any(e.type is EventType.EMPATHY and e.start > first for e in events) else "fail"

    holds = [e for e in events if e.type is EventType.HOLD]
    if not holds:
        hold: Verdict = "na"
    else:
        hold = "pass" if all(h.announced and h.thanked for h in holds) else "fail"

    agent_interrupted = any(
        e.type is EventType.INTERRUPTION and e.speaker is Speaker.AGENT for e in events
    )
    long_dead_air = any(
        e.type is EventType.DEAD_AIR and e.duration >= DEAD_AIR_FAIL_SECONDS - 1e-6 for e in events
    )
    verdicts: dict[str, Verdict] = {
        "greeting": "pass" if has(EventType.GREETING) else "fail",
        "self_identification": "pass" if has(EventType.SELF_IDENTIFICATION) else "fail",
        "active_listening": "pass" if has(EventType.PARAPHRASE) else "fail",
        "empathy": empathy,
        "interruptions": "fail" if agent_interrupted else "pass",
        "hold_etiquette": hold,
        "positive_language": "fail" if has(EventType.PROHIBITED) else "pass",
        "closing": "pass" if has(EventType.CLOSING) else "fail",
        "dead_air": "fail" if long_dead_air else "pass",
    }
    return {cid: verdicts[cid] for cid in CRITERIA}
