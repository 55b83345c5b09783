"""``hold_etiquette``: every hold is announced beforehand and the customer thanked afterwards.

Fields::

    announce_phrases: {en: [...]}   # "may I place you on a brief hold", "请您稍等"
    thank_phrases: {en: [...]}      # "thank you for holding", "感谢您的耐心等待"
    duration_phrases: {en: [...]}   # optional: "two minutes", "分钟" — the expected wait
    announce_within: 30s            # the announcement starts at most this long before the hold
    thank_within: 20s               # the thank-you starts at most this long after it
    announce_examples: {en: [...]}  # optional: announcements judged by meaning
    thank_examples: {en: [...]}     # optional: thanks judged by meaning
    announce_counter_examples / thank_counter_examples, min_example_similarity: 0.6
    credit:                         # partial credit per hold, adding up to 100%
      announcement: 40%
      duration: 20%                 # only earned together with an announcement
      thanks: 40%

Verdict: pass when every hold was announced and followed by a thank-you (a hold at the end
of the call, after which nobody spoke, needs no thank-you and earns its share). Points are the
mean credit over holds, so a hold announced without the expected duration passes with less
than full points. Default credit: 40/20/40 with ``duration_phrases``, else 50/0/50.
N/A when the call had no hold (see :mod:`qa_pipeline.characteristics` for what is a hold).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from qa_pipeline.callrecord import CallEvent, EventKind, EventParty
from qa_pipeline.criteria.base import (
    BuildContext,
    Criterion,
    Evidence,
    Outcome,
    meaning_to_dict,
    phrase_examples,
    phrases_to_dict,
    read_example_similarity,
    read_meaning,
    window_text,
)
from qa_pipeline.semantic import MeaningSpec
from qa_pipeline.criteria.context import ScoringContext
from qa_pipeline.criteria.fields import FieldReader
from qa_pipeline.transcript import Speaker

# Word times from ASR are good to a few hundred milliseconds; a thank-you that starts a
# moment before the measured end of the silence is still after the hold.
_EDGE_SLACK_SECONDS = 0.5


@dataclass(frozen=True)
class HoldEtiquetteCriterion(Criterion):
    """Holds announced (ideally with a duration) and thanked."""

    type_name = "hold_etiquette"

    announce_phrases: Mapping[str, tuple[str, ...]]
    thank_phrases: Mapping[str, tuple[str, ...]]
    duration_phrases: Mapping[str, tuple[str, ...]] | None
    announce_within_seconds: float
    thank_within_seconds: float
    announcement_credit: float
    duration_credit: float
    thanks_credit: float
    announce_set: int
    thank_set: int
    duration_set: int | None
    announce_meaning: MeaningSpec | None = None
    thank_meaning: MeaningSpec | None = None

    @classmethod
    def parse(cls, fields: FieldReader, build: BuildContext) -> "HoldEtiquetteCriterion":
        announce = fields.phrases("announce_phrases", build.languages)
        thank = fields.phrases("thank_phrases", build.languages)
        duration = fields.phrases("duration_phrases", build.languages, None)
        announce_within = fields.duration("announce_within", 30.0)
        thank_within = fields.duration("thank_within", 20.0)
        for name, value in (("announce_within", announce_within), ("thank_within", thank_within)):
            if value <= 0:
                raise fields.problem(name, "must be longer than 0s")
        defaults = (0.4, 0.2, 0.4) if duration is not None else (0.5, 0.0, 0.5)
        credit = fields.mapping("credit", None)
        if credit is None:
            a_credit, d_credit, t_credit = defaults
        else:
            a_credit = credit.percentage("announcement", defaults[0])
            d_credit = credit.percentage("duration", defaults[1] if duration is not None else 0.0)
            t_credit = credit.percentage("thanks", defaults[2])
            credit.finish()
            if abs(a_credit + d_credit + t_credit - 1.0) > 1e-9:
                raise fields.problem("credit", "announcement, duration and thanks must add up to 100%")
            if d_credit > 0 and duration is None:
                raise fields.problem("credit", "a duration share needs duration_phrases")
        threshold = read_example_similarity(fields)
        announce_meaning = read_meaning(fields, build, "announce_", threshold)
        thank_meaning = read_meaning(fields, build, "thank_", threshold)
        return cls(
            announce,
            thank,
            duration,
            announce_within,
            thank_within,
            a_credit,
            d_credit,
            t_credit,
            build.compile(fields, "announce_phrases", announce, Speaker.AGENT),
            build.compile(fields, "thank_phrases", thank, Speaker.AGENT),
            build.compile(fields, "duration_phrases", duration, Speaker.AGENT)
            if duration is not None
            else None,
            announce_meaning,
            thank_meaning,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "announce_phrases": phrases_to_dict(self.announce_phrases),
            "thank_phrases": phrases_to_dict(self.thank_phrases),
            "duration_phrases": None
            if self.duration_phrases is None
            else phrases_to_dict(self.duration_phrases),
            "announce_within_seconds": self.announce_within_seconds,
            "thank_within_seconds": self.thank_within_seconds,
            "credit": {
                "announcement": self.announcement_credit,
                "duration": self.duration_credit,
                "thanks": self.thanks_credit,
            },
            **meaning_to_dict(self.announce_meaning, "announce_"),
            **meaning_to_dict(self.thank_meaning, "thank_"),
            **_threshold(self.announce_meaning or self.thank_meaning),
        }

    def evaluate(self, ctx: ScoringContext) -> Outcome:
        holds = ctx.characteristics.holds
        if not holds:
            return Outcome.not_applicable("no hold in the call")
        evidence: list[Evidence] = []
        credits: list[float] = []
        problems: list[str] = []
        events: list[CallEvent] = []
        for n, hold in enumerate(holds, 1):
            announced_s: float | None = None
            thanked_s: float | None = None
            evidence.append(
                Evidence(
                    "event",
                    f"hold {n}: both parties silent {hold.duration_seconds:.1f}s"
                    + (" until the call ended" if hold.at_call_end else ""),
                    None,
                    hold.start,
                    hold.end,
                )
            )
            lo = hold.start - self.announce_within_seconds
            announced = ctx.find(self.announce_set, Speaker.AGENT, lo, hold.start)
            meant = (
                ctx.meaning(self.announce_meaning, Speaker.AGENT, lo, hold.start)
                if not announced and self.announce_meaning is not None
                else []
            )
            credit = 0.0
            if announced or meant:
                credit += self.announcement_credit
                if announced:
                    # The fullest announcement is the best evidence ("may I place you on a
                    # brief hold" rather than the "while I check" after it).
                    best = max(announced, key=lambda m: (m.last_token - m.first_token, m.start))
                    announced_s = best.start
                    evidence.append(
                        ctx.match_evidence(best, "hold announcement", (lo, hold.start), "announces the hold")
                    )
                else:
                    announced_s = meant[-1].utterance.start
                    why = f"announces the hold: {meant[-1].reason()}"
                    evidence.append(ctx.meaning_evidence(meant[-1], why))
                if self.duration_set is not None:
                    said = ctx.find(self.duration_set, Speaker.AGENT, lo, hold.start)
                    if said:
                        credit += self.duration_credit
                        evidence.append(ctx.match_evidence(said[-1], "expected duration", (lo, hold.start)))
                    else:
                        evidence.append(
                            Evidence(
                                "missing",
                                f"hold {n} announced without an expected duration such as "
                                f"{phrase_examples(ctx.phrases(self.duration_set))}",
                                Speaker.AGENT,
                                max(lo, 0.0),
                                hold.start,
                            )
                        )
            else:
                problems.append(f"hold {n} at {hold.start:.1f}s not announced")
                evidence.append(
                    Evidence(
                        "missing",
                        f"no hold announcement such as {phrase_examples(ctx.phrases(self.announce_set))} "
                        f"in agent speech {window_text(max(lo, 0.0), hold.start)}",
                        Speaker.AGENT,
                        max(lo, 0.0),
                        hold.start,
                    )
                )
            if hold.at_call_end:
                credit += self.thanks_credit
            else:
                t_lo = hold.end - _EDGE_SLACK_SECONDS
                t_hi = hold.end + self.thank_within_seconds
                thanked = ctx.find(self.thank_set, Speaker.AGENT, t_lo, t_hi)
                thanked_meant = (
                    ctx.meaning(self.thank_meaning, Speaker.AGENT, t_lo, t_hi)
                    if not thanked and self.thank_meaning is not None
                    else []
                )
                if thanked:
                    credit += self.thanks_credit
                    thanked_s = thanked[0].start
                    evidence.append(
                        ctx.match_evidence(
                            thanked[0], "thanks after hold", (t_lo, t_hi), "thanks the caller for holding"
                        )
                    )
                elif thanked_meant:
                    credit += self.thanks_credit
                    thanked_s = thanked_meant[0].utterance.start
                    why = f"thanks the caller for holding: {thanked_meant[0].reason()}"
                    evidence.append(ctx.meaning_evidence(thanked_meant[0], why))
                else:
                    problems.append(f"no thank-you after hold {n} (ended {hold.end:.1f}s)")
                    evidence.append(
                        Evidence(
                            "missing",
                            f"no thank-you such as {phrase_examples(ctx.phrases(self.thank_set))} "
                            f"in agent speech {window_text(max(t_lo, 0.0), t_hi)}",
                            Speaker.AGENT,
                            max(t_lo, 0.0),
                            t_hi,
                        )
                    )
            credits.append(min(credit, 1.0))
            # The scorer names the criterion as the source; the hold's times are the
            # characteristics' own, so the event replaces the measured one.
            events.append(
                CallEvent(
                    EventKind.HOLD,
                    hold.start,
                    hold.end,
                    EventParty.BOTH,
                    "",
                    "until the call ended" if hold.at_call_end else "",
                    announced_s,
                    thanked_s,
                )
            )
        mean = sum(credits) / len(credits)
        if problems:
            outcome = Outcome.failed("; ".join(problems), evidence, mean)
        else:
            outcome = Outcome.passed(f"{len(holds)} hold(s) announced and thanked", evidence, mean)
        return replace(outcome, events=tuple(events))


def _threshold(spec: MeaningSpec | None) -> dict[str, Any]:
    return {} if spec is None else {"min_example_similarity": spec.min_similarity}
