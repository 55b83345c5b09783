"""``empathy_response``: when the customer voices frustration, the agent answers with empathy.

Fields::

    trigger_phrases: {en: [...]}   # customer cues; default: the scorecard's frustration_phrases
                                   # and frustration_examples (the customer's state by meaning)
    response_phrases: {en: [...]}  # agent empathy statements (the lexical fast path)
    response_examples: {en: [...]} # … and by meaning: apologies, acknowledgements
    response_counter_examples: {en: [...]}
    response_counter_phrases: {en: [...]}  # optional: a sentence holding one ("no need to
                                   # get so upset") is never empathy by meaning
    min_example_similarity: 0.6
    within_agent_turns: 2          # the response must come in the agent's next N turns …
    within: 30s                    # … and/or within this long after the cue ends
    require: each                  # each frustration episode answered, or: any

The response window opens at the start of the customer turn holding the cue (an agent
talking over a complaint with "I'm so sorry" is answering it) and closes at the end of the
agent's N-th turn starting after the cue, or ``within`` after the cue ends, whichever is
first; with neither field, two agent turns. Sentence encoders read a feeling word, not whether
it is denied or whose it is, so "Don't get upset with me, I'm only doing my job" reads like
sympathy: a sentence holding one of ``response_counter_phrases`` is not credited by meaning
(an empathy phrase said in it still counts), and an episode left unanswered notes it. Cues
that fall inside an open window belong to the same episode. N/A when the customer voiced no
frustration, complaint or distress. With the scorecard's ``frustration_answered_similarity``,
an utterance less alike to the frustration examples still opens an episode when the agent's
reply in its window shows empathy (so it can turn N/A into a pass, never into a fail).
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
    clock,
    meaning_to_dict,
    phrase_examples,
    phrases_to_dict,
    read_example_similarity,
    read_meaning,
    window_text,
)
from qa_pipeline.criteria.context import Cue, ScoringContext
from qa_pipeline.criteria.fields import FieldReader
from qa_pipeline.semantic import MeaningMatch, MeaningSpec, sentence_span
from qa_pipeline.textmatch import PhraseMatch
from qa_pipeline.transcript import Speaker

_SHOWS = "answers with empathy"


@dataclass(frozen=True)
class EmpathyResponseCriterion(Criterion):
    """Empathy after a frustration cue."""

    type_name = "empathy_response"

    trigger_phrases: Mapping[str, tuple[str, ...]] | None
    response_phrases: Mapping[str, tuple[str, ...]]
    within_agent_turns: int | None
    within_seconds: float | None
    require: str
    trigger_set: int | None
    response_set: int
    response_meaning: MeaningSpec | None = None
    response_counter_phrases: Mapping[str, tuple[str, ...]] | None = None
    response_counter_set: int | None = None

    @classmethod
    def parse(cls, fields: FieldReader, build: BuildContext) -> "EmpathyResponseCriterion":
        triggers = fields.phrases("trigger_phrases", build.languages, None)
        if triggers is not None:
            trigger_set = build.compile(fields, "trigger_phrases", triggers, Speaker.CUSTOMER)
        elif build.frustration_set is not None or build.frustration_meaning is not None:
            trigger_set = None
        else:
            raise fields.problem(
                None,
                "missing required field 'trigger_phrases' "
                "(or give the scorecard frustration_phrases or frustration_examples)",
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
        meaning = read_meaning(fields, build, "response_", read_example_similarity(fields))
        counters = fields.phrases("response_counter_phrases", build.languages, None)
        counter_set = None
        if counters is not None:
            if meaning is None:
                raise fields.problem(
                    "response_counter_phrases", "needs 'response_examples' beside it (it vetoes judging by meaning)"
                )
            counter_set = build.compile(fields, "response_counter_phrases", counters, Speaker.AGENT)
        return cls(
            triggers, responses, turns, within, require, trigger_set, response_set, meaning, counters, counter_set
        )

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
        if self.response_meaning is not None:
            out.update(meaning_to_dict(self.response_meaning, "response_"))
            out["min_example_similarity"] = self.response_meaning.min_similarity
        if self.response_counter_phrases is not None:
            out["response_counter_phrases"] = phrases_to_dict(self.response_counter_phrases)
        return out

    def _window_end(self, ctx: ScoringContext, cue: Cue, agent_starts: list[float], agent_ends: list[float]) -> float:
        end = math.inf
        if self.within_seconds is not None:
            end = cue.end + self.within_seconds
        if self.within_agent_turns is not None:
            k = bisect.bisect_right(agent_starts, cue.start) + self.within_agent_turns - 1
            end = min(end, agent_ends[k] if k < len(agent_ends) else ctx.speech_end)
        return max(end, cue.end)

    def _answer(self, ctx: ScoringContext, lo: float, hi: float) -> Evidence | None:
        found = ctx.find(self.response_set, Speaker.AGENT, lo, hi)
        if found:
            return ctx.match_evidence(found[0], "empathy statement", (lo, hi), _SHOWS)
        if self.response_meaning is not None:
            meant = ctx.meaning(self.response_meaning, Speaker.AGENT, lo, hi)
            meant = self._undenied(ctx, meant)
            if meant:
                why = f"{_SHOWS}: {meant[0].reason()}"
                return ctx.meaning_evidence(meant[0], why)
        return None

    def _undenied(self, ctx: ScoringContext, meant: list[MeaningMatch]) -> list[MeaningMatch]:
        """The matches whose sentences hold none of the counter phrases."""
        return [m for m, denial in self._denials(ctx, meant) if denial is None]

    def _denials(
        self, ctx: ScoringContext, meant: list[MeaningMatch]
    ) -> list[tuple[MeaningMatch, PhraseMatch | None]]:
        """Each match with the first counter phrase said in its sentences, or None."""
        if self.response_counter_set is None or not meant:
            return [(m, None) for m in meant]
        turns = ctx.turns(Speaker.AGENT)
        spans = [sentence_span(turns[m.utterance.turn], m.utterance.start, m.utterance.end) for m in meant]
        # A sentence can start before the response window and end after it, so can its phrase.
        said = ctx.find(
            self.response_counter_set, Speaker.AGENT, min(a for a, _ in spans), max(b for _, b in spans)
        )
        return [(m, next((d for d in said if d.start < b and a < d.end), None)) for m, (a, b) in zip(meant, spans)]

    def _denial_notes(self, ctx: ScoringContext, lo: float, hi: float) -> list[Evidence]:
        """Why sentences of the window that read like empathy were not credited (shown with a
        missing answer, so a coach sees what was said instead)."""
        if self.response_meaning is None or self.response_counter_set is None:
            return []
        # A sentence and its clauses are judged apart: one note per phrase said, quoting the
        # longest of them.
        longest: dict[tuple[float, str], MeaningMatch] = {}
        for m, denial in self._denials(ctx, ctx.meaning(self.response_meaning, Speaker.AGENT, lo, hi)):
            if denial is not None:
                key = (denial.start, denial.phrase)
                if key not in longest or len(m.utterance.text) > len(longest[key].utterance.text):
                    longest[key] = m
        notes = []
        for (_, phrase), m in longest.items():
            u = m.utterance
            rule = (
                f'Agent at {clock(u.start)}: "{u.text}" — not empathy: it tells the caller off for a '
                f'feeling (scorecard counter phrase "{phrase}")'
            )
            context = ctx.turn_text(Speaker.AGENT, u.turn)
            notes.append(Evidence("note", rule, Speaker.AGENT, u.start, u.end, u.text, context))
        return notes

    def _cues(self, ctx: ScoringContext) -> list[Cue]:
        if self.trigger_set is None:
            cues = ctx.customer_distress()
            maybe = ctx.distress_if_answered()
            if not maybe:
                return cues
            agent_starts, agent_ends = ctx.track(Speaker.AGENT).turn_times()
            answered = [
                c for c in maybe
                if self._answer(ctx, c.turn_start, self._window_end(ctx, c, agent_starts, agent_ends)) is not None
            ]
            return sorted(cues + answered, key=lambda c: (c.start, c.end))
        track = ctx.track(Speaker.CUSTOMER)
        offsets = track.turn_word_offsets()
        turn_starts = track.turn_times()[0]
        return [
            Cue(
                m.start,
                m.end,
                turn_starts[bisect.bisect_right(offsets, m.first_word) - 1],
                ctx.match_evidence(m, "frustration cue", why="voices frustration"),
            )
            for m in ctx.find(self.trigger_set, Speaker.CUSTOMER)
        ]

    def evaluate(self, ctx: ScoringContext) -> Outcome:
        cues = self._cues(ctx)
        if not cues:
            return Outcome.not_applicable("the customer voiced no frustration, complaint or distress")
        agent_starts, agent_ends = ctx.track(Speaker.AGENT).turn_times()
        # An episode: cues close together, answered (or not) once. A cue after the agent
        # already answered opens a new episode that needs its own answer.
        episodes: list[tuple[float, float, list[Cue], Evidence | None]] = []
        for cue in cues:
            closes = self._window_end(ctx, cue, agent_starts, agent_ends)
            if episodes:
                lo, hi, members, answer = episodes[-1]
                if cue.start <= hi and (answer is None or answer.start is None or cue.start < answer.start):
                    hi = max(hi, closes)
                    episodes[-1] = (lo, hi, [*members, cue], answer or self._answer(ctx, lo, hi))
                    continue
            episodes.append((cue.turn_start, closes, [cue], self._answer(ctx, cue.turn_start, closes)))
        evidence: list[Evidence] = []
        answered = 0
        for lo, hi, members, answer in episodes:
            evidence.extend(c.evidence for c in members)
            if answer is not None:
                answered += 1
                evidence.append(answer)
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
                evidence.extend(self._denial_notes(ctx, lo, hi))
        total = len(episodes)
        ok = answered == total if self.require == "each" else answered > 0
        credit = answered / total if self.require == "each" else float(answered > 0)
        summary = f"{answered} of {total} episode(s) of customer frustration or distress answered with empathy"
        if ok:
            return Outcome.passed(summary, evidence, credit)
        return Outcome.failed(summary, evidence, credit)
