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

from qa_pipeline.criteria.base import BuildContext, Criterion, Evidence, Outcome, speaker_of
from qa_pipeline.criteria.context import ScoringContext
from qa_pipeline.criteria.fields import FieldReader
from qa_pipeline.transcript import Speaker


def _turn_text_at(ctx: ScoringContext, speaker: Speaker, start: float) -> str | None:
    """The text of the speaker's turn that starts at ``start``, if there is one."""
    starts = ctx.track(speaker).turn_times()[0]
    k = bisect.bisect_left(starts, start)
    return ctx.turn_text(speaker, k) if k < len(starts) and abs(starts[k] - start) < 1e-6 else None


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
        who = speaker_of(self.interrupter)
        found = ctx.characteristics.interruptions_by(who)
        min_overlap = ctx.characteristics.options.interruption_min_overlap_seconds
        evidence = []
        for item in found:
            mine = _turn_text_at(ctx, who, item.start)
            theirs = _turn_text_at(ctx, who.other(), item.interrupted_turn_start)
            evidence.append(
                Evidence(
                    "event",
                    f"{who.value} started talking at {item.start:.1f}s while the {who.other().value} was "
                    f"speaking; overlap {item.duration_seconds:.1f}s ≥ {min_overlap:g}s",
                    who,
                    item.start,
                    item.end,
                    mine if mine is not None else "",
                    f"{who.other().value}: {theirs}" if theirs is not None else "",
                )
            )
        summary = f"{len(found)} {who.value} interruption(s), at most {self.max_count} allowed"
        if len(found) <= self.max_count:
            return Outcome.passed(summary, evidence)
        return Outcome.failed(summary, evidence)
