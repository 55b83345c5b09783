"""``phrase``: a speaker says (or, with ``negate``, never says) one of a list of phrases.

Fields::

    speaker: agent | customer | any
    phrases: {en: [...], zh: [...]}     # or a plain list for every language
    within_first: 15s                   # at most one window; none = the whole call
    within_last: 30s
    between: [10s, 60s]
    negate: false                       # true: pass when none is said (must-not-say)
    min_matches: 1                      # distinct utterances needed to pass
    fuzzy: true                         # false: words must match exactly
    examples: {en: [...]}               # judged by meaning: utterances that count
    counter_examples: {en: [...]}       # near misses that must not count
    min_example_similarity: 0.6         # cosine similarity with the nearest example
    example_method: probe               # optional: a linear probe also decides, with
    min_probe_probability: 0.7          #   this probability, contrasted with the examples
    probe_contrast: [greeting, closing] #   of these criteria
    near_copy_similarity: 0.8           #   and a near copy of one example counts anyway
    shows: greets the caller            # what a match shows, in evidence a person reads
    when_cut_off: fail                  # na: N/A when the recording ends mid-conversation
    cut_off_within: 500ms               # … i.e. speech runs into the last this-long of audio

Phrases are the fast path: a listed wording (matched fuzzily) decides at once. ``examples``
add judging by meaning: any utterance of the speaker in the window whose sentence embedding
is at least ``min_example_similarity`` alike to an example, and closer to it than to every
counter-example, counts as well (see :mod:`qa_pipeline.semantic`). With ``negate``, a clause
found by meaning counts only when its whole sentence does too (:func:`_convicted_by_sentence`).

Windows: ``within_first`` counts from the first word of the call, ``within_last`` back from
the last word (so ringing and trailing silence do not shift them), ``between`` is absolute
time from the start of the recording. A first or last window ends at the middle of the
call's speech when the call is shorter than twice its length: an opening is not a closing.
A phrase is *in* a window when it starts inside it.
With ``negate``, long phrases must match in full (no word missing), because a false hit
costs the agent points.
"""

from __future__ import annotations

import dataclasses
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
    speaker_of,
    window_text,
)
from qa_pipeline.criteria.context import ScoringContext
from qa_pipeline.criteria.fields import FieldReader, LineDict
from qa_pipeline.semantic import MeaningMatch, MeaningSpec, sentence_span
from qa_pipeline.textmatch import MatchPolicy
from qa_pipeline.transcript import Speaker

SPEAKERS = ("agent", "customer", "any")
CUT_OFF = ("fail", "na")
# How reasons name whose speech was searched.
_WHO = {None: "either party", **{sp: f"the {sp.value}" for sp in Speaker}}


@dataclass(frozen=True)
class TimeWindow:
    """Where in the call a phrase is looked for.

    Attributes:
        kind: ``call`` (whole call), ``first``, ``last`` or ``between``.
        start: Seconds: the window length for first/last, the absolute start for between.
        end: Absolute end for between; unused otherwise.
    """

    kind: str = "call"
    start: float = 0.0
    end: float = 0.0

    def bounds(self, ctx: ScoringContext) -> tuple[float, float]:
        # A first or last window stops at the middle of the call's speech: on a call shorter
        # than the two windows, the opening's "thanks for calling" is not also its closing.
        middle = (ctx.speech_start + ctx.speech_end) / 2
        if self.kind == "first":
            return ctx.speech_start, min(ctx.speech_start + self.start, middle)
        if self.kind == "last":
            return max(ctx.speech_end - self.start, middle), ctx.speech_end
        if self.kind == "between":
            return self.start, self.end
        return -math.inf, math.inf

    def shown(self, ctx: ScoringContext) -> str:
        lo, hi = self.bounds(ctx)
        if self.kind == "call":
            return "anywhere in the call"
        return window_text(max(lo, 0.0), hi)

    def to_dict(self) -> dict[str, Any] | None:
        if self.kind == "first":
            return {"within_first_seconds": self.start}
        if self.kind == "last":
            return {"within_last_seconds": self.start}
        if self.kind == "between":
            return {"between_seconds": [self.start, self.end]}
        return None


def read_window(fields: FieldReader) -> TimeWindow:
    """Read at most one of ``within_first``, ``within_last`` and ``between``."""
    given = [name for name in ("within_first", "within_last", "between") if fields.has(name)]
    if len(given) > 1:
        raise fields.problem(
            given[1], f"give only one of within_first, within_last, between (also got '{given[0]}')"
        )
    if not given:
        return TimeWindow()
    name = given[0]
    if name == "between":
        raw = fields.raw("between")
        if not isinstance(raw, list) or len(raw) != 2:
            raise fields.problem("between", "expected two durations, e.g. [10s, 60s]")
        inner = FieldReader(_as_line_dict(raw, fields.data.line_of("between")), prefix="between")
        lo = inner.duration("[0]")
        hi = inner.duration("[1]")
        if hi <= lo:
            raise fields.problem("between", "the end must be after the start")
        return TimeWindow("between", lo, hi)
    length = fields.duration(name)
    if length <= 0:
        raise fields.problem(name, "must be longer than 0s")
    return TimeWindow("first" if name == "within_first" else "last", length)


def _as_line_dict(items: list, line: int) -> LineDict:
    out = LineDict({f"[{i}]": v for i, v in enumerate(items)})
    out.line = line
    return out


def exact_policy(policy: MatchPolicy) -> MatchPolicy:
    return dataclasses.replace(policy, token_similarity=1.0, allow_missing=False, allow_insertions=False)


@dataclass(frozen=True)
class PhraseCriterion(Criterion):
    """Phrases said (or not said) by a speaker within a time window."""

    type_name = "phrase"

    speaker: str
    phrases: Mapping[str, tuple[str, ...]]
    window: TimeWindow
    negate: bool
    min_matches: int
    fuzzy: bool
    set_id: int
    meaning: MeaningSpec | None = None
    shows: str = ""
    when_cut_off: str = "fail"
    cut_off_within: float = 0.5

    @classmethod
    def parse(cls, fields: FieldReader, build: BuildContext) -> "PhraseCriterion":
        speaker = fields.choice("speaker", SPEAKERS)
        phrases = fields.phrases("phrases", build.languages)
        window = read_window(fields)
        negate = fields.boolean("negate", False)
        min_matches = fields.number("min_matches", 1, minimum=1, integer=True)
        if negate and fields.has("min_matches"):
            raise fields.problem("min_matches", "has no meaning with negate: true (any match fails)")
        fuzzy = fields.boolean("fuzzy", True)
        policy = build.policy if fuzzy else exact_policy(build.policy)
        if negate:
            policy = dataclasses.replace(policy, allow_missing=False)
        when_cut_off = fields.choice("when_cut_off", CUT_OFF, "fail")
        # A cut-off is told from a closing by either party, so both are searched then.
        searched = None if when_cut_off == "na" else speaker_of(speaker)
        set_id = build.compile(fields, "phrases", phrases, searched, policy)
        meaning = read_meaning(fields, build, "", read_example_similarity(fields))
        shows = fields.string("shows", "") if fields.has("shows") else ""
        cut_off_within = fields.duration("cut_off_within", 0.5)
        if negate and when_cut_off == "na":
            raise fields.problem("when_cut_off", "has no meaning with negate: true")
        return cls(
            speaker,
            phrases,
            window,
            negate,
            min_matches,
            fuzzy,
            set_id,
            meaning,
            shows,
            when_cut_off,
            cut_off_within,
        )

    def depends_on_roles(self) -> bool:
        return self.speaker != "any"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"speaker": self.speaker, "phrases": phrases_to_dict(self.phrases)}
        window = self.window.to_dict()
        if window:
            out.update(window)
        out.update({"negate": self.negate, "min_matches": self.min_matches, "fuzzy": self.fuzzy})
        if self.meaning is not None:
            out.update(meaning_to_dict(self.meaning))
            out["min_example_similarity"] = self.meaning.min_similarity
        if self.shows:
            out["shows"] = self.shows
        if self.when_cut_off != "fail":
            out.update({"when_cut_off": self.when_cut_off, "cut_off_within_seconds": self.cut_off_within})
        return out

    def evaluate(self, ctx: ScoringContext) -> Outcome:
        lo, hi = self.window.bounds(ctx)
        speaker = speaker_of(self.speaker)
        who = _WHO[speaker]
        window = None if self.window.kind == "call" else (lo, hi)
        matches = ctx.find(self.set_id, speaker, lo, hi)
        label = "prohibited phrase" if self.negate else "phrase"
        evidence = [ctx.match_evidence(m, label, window, self.shows or None) for m in matches]
        said = [(m.start, m.end, m.text) for m in matches]
        # Meaning only where the lexical fast path has not already decided.
        if self.meaning is not None and (self.negate or len(matches) < self.min_matches):
            meant = ctx.meaning(self.meaning, speaker, lo, hi)
            if self.negate:
                meant = _convicted_by_sentence(ctx, meant, lo, hi)
            for mm in meant:
                u = mm.utterance
                if any(s0 < u.end and u.start < e0 for s0, e0, _ in said):
                    continue  # the same words, already counted
                said.append((u.start, u.end, u.text))
                why = f"{self.shows}: {mm.reason()}" if self.shows else None
                evidence.append(ctx.meaning_evidence(mm, why))
            order = sorted(range(len(said)), key=lambda i: (said[i][0], i))
            said = [said[i] for i in order]
            evidence = [evidence[i] for i in order]
        phrases = ctx.phrases(self.set_id)
        if self.negate:
            if said:
                quoted = ", ".join(f'"{text}" at {clock(start)}' for start, _, text in said[:3])
                return Outcome.failed(f"{who} said {quoted}", evidence)
            where = self.window.shown(ctx)
            return Outcome.passed(f"{who} said none of the {len(phrases)} prohibited phrases {where}")
        if len(said) >= self.min_matches:
            start, _, text = said[0]
            return Outcome.passed(f'{who} said "{text}" at {clock(start)}', evidence)
        cut = self._cut_off(ctx, speaker, lo, hi)
        if cut is not None:
            return Outcome.not_applicable(f"the recording ends mid-conversation at {clock(cut)}", evidence)
        where = self.window.shown(ctx)
        need = "" if self.min_matches == 1 else f" (found {len(said)} of the {self.min_matches} needed)"
        missing = Evidence(
            kind="missing",
            rule=f"none of {phrase_examples(phrases)} said by {who} {where}{need}",
            speaker=speaker,
            start=None if window is None else max(lo, 0.0),
            end=None if window is None else hi,
        )
        return Outcome.failed(f"{who} said none of the expected phrases {where}{need}", [*evidence, missing])

    def _cut_off(self, ctx: ScoringContext, speaker: Speaker | None, lo: float, hi: float) -> float | None:
        """Where the recording cuts the conversation off, if it does and nobody closed it.

        A conversation is cut off when speech runs into the last ``cut_off_within`` of the
        audio and the other party did not close it either (a customer's "bye" means the call
        ended, however abruptly).
        """
        if self.when_cut_off != "na" or ctx.speech_end <= 0.0:
            return None
        if ctx.characteristics.duration_seconds - ctx.speech_end > self.cut_off_within:
            return None
        others = [sp for sp in Speaker if sp is not speaker] if speaker is not None else []
        for other in others:
            if ctx.find(self.set_id, other, lo, hi):
                return None
            if self.meaning is not None and ctx.meaning(self.meaning, other, lo, hi):
                return None
        return ctx.characteristics.duration_seconds


def _convicted_by_sentence(
    ctx: ScoringContext, matches: list[MeaningMatch], lo: float, hi: float
) -> list[MeaningMatch]:
    """The matches of a must-not-say criterion that stand once read in their sentence.

    A clause is judged alone as well as inside its sentence, which finds a thought spread over
    clauses; but a clause read out of its sentence can sound blunt where the sentence is not
    ("这个业务电话里办不了，" before "您可以带身份证到就近营业厅，或者在App上办理"; "no, we
    can't," before an offer). A failed critical criterion costs the whole call, so a clause
    counts only when its whole sentence, where it was judged too, counts as well. A sentence
    too long to be judged whole, or one that starts before the window (``lo``–``hi``, where
    utterances were judged), is judged by its clauses alone.
    """
    found = {(m.utterance.speaker, m.utterance.start, m.utterance.end) for m in matches}
    kept: list[MeaningMatch] = []
    for m in matches:
        u = m.utterance
        start, end = sentence_span(ctx.turns(u.speaker)[u.turn], u.start, u.end)
        is_clause = (start, end) != (u.start, u.end)
        sentence_judged = any(
            v.turn == u.turn and (v.start, v.end) == (start, end) and lo <= v.start <= hi
            for v in ctx.utterances(u.speaker)
        )
        if is_clause and sentence_judged and (u.speaker, start, end) not in found:
            continue
        kept.append(m)
    return kept
