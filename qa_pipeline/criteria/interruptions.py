"""``interruptions``: a party talks over the other at most ``max_count`` times.

Fields::

    interrupter: agent          # whose interruptions count (agent | customer)
    max_count: 0                # pass when the count is at most this

What counts as an interruption (overlap and backchannel thresholds) is defined by the
call characteristics; see :mod:`qa_pipeline.characteristics`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from qa_pipeline.criteria.base import BuildContext, Criterion, Evidence, Outcome
from qa_pipeline.criteria.context import ScoringContext
from qa_pipeline.criteria.fields import FieldReader
from qa_pipeline.transcript import Speaker, Turn


def _turn_at(turns: list[Turn], start: float) -> Turn | None:
    k = bisect.bisect_left([t.start for t in turns], start)
    return turns[k] if k < len(turns) and abs(turns[k].start - start) < 1e-6 else None


@dataclass(frozen=True)
class InterruptionsCriterion(Criterion):
    """At most ``max_count`` interruptions by one party."""

    type_name = "interruptions"

    interrupter: str
    max_count: int

    @classmethod
    def parse(cls, fields: FieldReader, build: BuildContext) -> "InterruptionsCriterion":
        interrupter = fields.choice("interrupter", ("agent", "customer"), "agent")
        max_count = fields.number("max_count", 0, minimum=0, integer=True)
        return cls(interrupter, max_count)

    def to_dict(self) -> dict[str, Any]:
        return {"interrupter": self.interrupter, "max_count": self.max_count}

    def evaluate(self, ctx: ScoringContext) -> Outcome:
        who = Speaker(self.interrupter)
        found = ctx.characteristics.interruptions_by(who)
        min_overlap = ctx.characteristics.options.interruption_min_overlap_seconds
        evidence = []
        for item in found:
            mine = _turn_at(ctx.turns(who), item.start)
            theirs = _turn_at(ctx.turns(who.other()), item.interrupted_turn_start)
            evidence.append(
                Evidence(
                    "event",
                    f"{who.value} started talking at {item.start:.1f}s while the {who.other().value} was "
                    f"speaking; overlap {item.duration_seconds:.1f}s ≥ {min_overlap:g}s",
                    who,
                    item.start,
                    item.end,
                    mine.text if mine else "",
                    f"{who.other().value}: {theirs.text}" if theirs else "",
                )
            )
        summary = f"{len(found)} {who.value} interruption(s), at most {self.max_count} allowed"
        if len(found) <= self.max_count:
            return Outcome.passed(summary, evidence)
        return Outcome.failed(summary, evidence)
