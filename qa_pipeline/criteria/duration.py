"""``duration``: the handle time lies in a range.

Fields::

    min: 30s
    max: 15m
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qa_pipeline.criteria.base import (
    BuildContext,
    Criterion,
    Evidence,
    Outcome,
    seconds,
)
from qa_pipeline.criteria.context import ScoringContext
from qa_pipeline.criteria.fields import FieldReader
from qa_pipeline.criteria.ranges import in_range, range_text, read_range


@dataclass(frozen=True)
class DurationCriterion(Criterion):
    """Handle time within [min, max]."""

    type_name = "duration"
    role_dependent = False

    min_seconds: float | None
    max_seconds: float | None

    @classmethod
    def parse(cls, fields: FieldReader, build: BuildContext) -> "DurationCriterion":
        low, high = read_range(fields, fields.duration, "handle time, e.g. max: 15m")
        return cls(low, high)

    def to_dict(self) -> dict[str, Any]:
        return {"min_seconds": self.min_seconds, "max_seconds": self.max_seconds}

    def evaluate(self, ctx: ScoringContext) -> Outcome:
        handle = ctx.characteristics.duration_seconds
        wanted = range_text(self.min_seconds, self.max_seconds, seconds)
        ev = [Evidence("note", f"handle time {handle:.1f}s, wanted {wanted}", None, 0.0, handle)]
        if in_range(handle, self.min_seconds, self.max_seconds):
            return Outcome.passed(f"handle time {handle:.1f}s within {wanted}", ev)
        return Outcome.failed(f"handle time {handle:.1f}s outside {wanted}", ev)
