"""``talk_share``: the agent's share of the talk time lies in a range.

Fields::

    min: 30%
    max: 70%

N/A when nobody spoke.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qa_pipeline.criteria.base import BuildContext, Criterion, Evidence, Outcome
from qa_pipeline.criteria.context import ScoringContext
from qa_pipeline.criteria.fields import FieldReader
from qa_pipeline.criteria.ranges import in_range, range_text, read_range


def _pct(x: float) -> str:
    return f"{x:.0%}"


@dataclass(frozen=True)
class TalkShareCriterion(Criterion):
    """Agent talk share within [min, max]."""

    type_name = "talk_share"

    min_share: float | None
    max_share: float | None

    @classmethod
    def parse(cls, fields: FieldReader, build: BuildContext) -> "TalkShareCriterion":
        low, high = read_range(fields, fields.percentage, "agent talk share, e.g. min: 30%")
        return cls(low, high)

    def to_dict(self) -> dict[str, Any]:
        return {"min_share": self.min_share, "max_share": self.max_share}

    def evaluate(self, ctx: ScoringContext) -> Outcome:
        ch = ctx.characteristics
        share = ch.agent_talk_share
        if share is None:
            return Outcome.not_applicable("nobody spoke")
        wanted = range_text(self.min_share, self.max_share, _pct)
        rule = (
            f"agent talk share {_pct(share)} (agent {ch.agent.talk_time_seconds:.1f}s, customer "
            f"{ch.customer.talk_time_seconds:.1f}s), wanted {wanted}"
        )
        ev = [Evidence("note", rule)]
        if in_range(share, self.min_share, self.max_share):
            return Outcome.passed(f"agent talk share {_pct(share)} within {wanted}", ev)
        return Outcome.failed(f"agent talk share {_pct(share)} outside {wanted}", ev)
