"""``empathy_response``: when the customer voices frustration, the agent answers with empathy.

Fields::

    trigger_phrases: {en: [...]}   # customer cues; default: the scorecard's frustration_phrases
    response_phrases: {en: [...]}  # agent empathy statements
    within_agent_turns: 2          # the response must come in the agent's next N turns …
    within: 30s                    # … and/or within this long after the cue ends
    require: each                  # each frustration episode answered, or: any

The response window opens at the start of the customer turn holding the cue (an agent
talking over a complaint with "I'm so sorry" is answering it) and closes at the end of the
agent's N-th turn starting after the cue, or ``within`` after the cue ends, whichever is
first; with neither field, two agent turns. Cues that fall inside an open window belong to the
same episode. N/A when the customer voiced no frustration.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any, Mapping

from qa_pipeline.criteria.base import (
    BuildContext,
    Criterion,
    Evidence,
    Outcome,
    phrase_examples,
    phrases_to_dict,
    window_text,
)
from qa_pipeline.criteria.context import ScoringContext
from qa_pipeline.criteria.fields import FieldReader
from qa_pipeline.textmatch import PhraseMatch
from qa_pipeline.transcript import Speaker


@dataclass(frozen=True)
class EmpathyResponseCriterion(Criterion):
    """Empathy after a frustration cue."""

    type_name = "empathy_response"

    trigger_phrases: Mapping[str, tuple[str, ...]] | None
    response_phrases: Mapping[str, tuple[str, ...]]
    within_agent_turns: int | None
    within_seconds: float | None
    require: str
    trigger_set: int
    response_set: int

    @classmethod
    def parse(cls, fields: FieldReader, build: BuildContext) -> "EmpathyResponseCriterion":
        triggers = fields.phrases("trigger_phrases", build.languages, None)
        if triggers is not None:
            trigger_set = build.compile(fields, "trigger_phrases", triggers, Speaker.CUSTOMER)
        elif build.frustration_set is not None:
            trigger_set = build.frustration_set
        else:
            raise fields.problem(
                None, "missing required field 'trigger_phrases' (or give the scorecard frustration_phrases)"
            )
        responses = fields.phrases("response_phrases", build.languages)
        turns = fields.number("within_agent_turns", None, minimum=1, integer=True)
        within = fields.duration("within", None)
        if within is not None and within <= 0:
            raise fields.problem("within", "must be longer than 0s")
        if turns is None and within is None:
            turns = 2
        require = fields.choice("require", ("each", "any"), "each")
        response_set = build.compile(fields, "response_phrases", responses, Speaker.AGENT)
        return cls(triggers, responses, turns, within, require, trigger_set, response_set)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.trigger_phrases is not None:
            out["trigger_phrases"] = phrases_to_dict(self.trigger_phrases)
        out.update(
            {
                "response_phrases": phrases_to_dict(self.response_phrases),
                "within_agent_turns": self.within_agent_turns,
                "within_seconds": self.within_seconds,
                "require": self.require,
            }
        )
        return out

    def _window_end(
        self, ctx: ScoringContext, cue: PhraseMatch, agent_starts: list[float], agent_ends: list[float]
    ) -> float:
        end = math.inf
        if self.within_seconds is not None:
            end = cue.end + self.within_seconds
        if self.within_agent_turns is not None:
            k = bisect.bisect_right(agent_starts, cue.start) + self.within_agent_turns - 1
            end = min(end, agent_ends[k] if k < len(agent_ends) else ctx.speech_end)
        return max(end, cue.end)

    def _answer(self, ctx: ScoringContext, lo: float, hi: float) -> PhraseMatch | None:
        found = ctx.find(self.response_set, Speaker.AGENT, lo, hi)
        return found[0] if found else None

    def evaluate(self, ctx: ScoringContext) -> Outcome:
        cues = ctx.find(self.trigger_set, Speaker.CUSTOMER)
        if not cues:
            return Outcome.not_applicable("the customer voiced no frustration")
        track = ctx.track(Speaker.CUSTOMER)
        offsets = track.turn_word_offsets()
        cue_turn_starts = track.turn_times()[0]
        agent_starts, agent_ends = ctx.track(Speaker.AGENT).turn_times()
        # An episode: cues close together, answered (or not) once. A cue after the agent
        # already answered opens a new episode that needs its own answer.
        episodes: list[tuple[float, float, list[PhraseMatch], PhraseMatch | None]] = []
        for cue in cues:
            opens = cue_turn_starts[bisect.bisect_right(offsets, cue.first_word) - 1]
            closes = self._window_end(ctx, cue, agent_starts, agent_ends)
            if episodes:
                lo, hi, members, answer = episodes[-1]
                if cue.start <= hi and (answer is None or cue.start < answer.start):
                    hi = max(hi, closes)
                    episodes[-1] = (lo, hi, [*members, cue], answer or self._answer(ctx, lo, hi))
                    continue
            episodes.append((opens, closes, [cue], self._answer(ctx, opens, closes)))
        evidence: list[Evidence] = []
        answered = 0
        for lo, hi, members, answer in episodes:
            evidence.extend(ctx.match_evidence(m, "customer frustration cue") for m in members)
            if answer is not None:
                answered += 1
                evidence.append(ctx.match_evidence(answer, "empathy statement", (lo, hi)))
            else:
                evidence.append(
                    Evidence(
                        "missing",
                        f"no empathy statement such as {phrase_examples(ctx.phrases(self.response_set))} "
                        f"in agent speech {window_text(lo, hi)}",
                        Speaker.AGENT,
                        lo,
                        hi,
                    )
                )
        total = len(episodes)
        ok = answered == total if self.require == "each" else answered > 0
        credit = answered / total if self.require == "each" else float(answered > 0)
        summary = f"{answered} of {total} frustration episode(s) answered with empathy"
        if ok:
            return Outcome.passed(summary, evidence, credit)
        return Outcome.failed(summary, evidence, credit)
