"""``silence`` (dead air): no silence of both parties outside holds longer than ``max_silence``.

Fields::

    max_silence: 10s

Only silences between two words of the call count (the non-talk instances of the call
characteristics); holds are judged by ``hold_etiquette`` instead. A ``max_silence`` below the
characteristics' ``non_talk_min`` cannot see the shortest silences.
"""

from __future__ import annotations

import bisect
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
from qa_pipeline.transcript import Speaker


def _said_around(ctx: ScoringContext, start: float, end: float) -> str:
    """The last turn before a silence and the first after it, for the reviewer's context."""
    # (time, speaker, turn index) of the turns found so far.
    before: tuple[float, Speaker, int] | None = None
    after: tuple[float, Speaker, int] | None = None
    for speaker in Speaker:
        starts, ends = ctx.track(speaker).turn_times()
        k = bisect.bisect_right(ends, start + 1e-6) - 1
        if k >= 0 and (before is None or ends[k] > before[0]):
            before = (ends[k], speaker, k)
        k = bisect.bisect_left(starts, end - 1e-6)
        if k < len(starts) and (after is None or starts[k] < after[0]):
            after = (starts[k], speaker, k)
    parts = []
    for found in (before, after):
        if found is not None:
            _, speaker, k = found
            parts.append(f"{speaker.value}: {ctx.turn_text(speaker, k)}")
    return " … ".join(parts)


@dataclass(frozen=True)
class SilenceCriterion(Criterion):
    """No dead air longer than ``max_silence_seconds``."""

    type_name = "silence"
    role_dependent = False

    max_silence_seconds: float

    @classmethod
    def parse(cls, fields: FieldReader, build: BuildContext) -> "SilenceCriterion":
        value = fields.duration("max_silence")
        if value <= 0:
            raise fields.problem("max_silence", "must be longer than 0s")
        return cls(value)

    def to_dict(self) -> dict[str, Any]:
        return {"max_silence_seconds": self.max_silence_seconds}

    def evaluate(self, ctx: ScoringContext) -> Outcome:
        limit = self.max_silence_seconds
        long_ones = [n for n in ctx.characteristics.non_talk if n.end - n.start > limit]
        if not long_ones:
            non_talk = ctx.characteristics.non_talk
            if not non_talk:
                shortest = seconds(ctx.characteristics.options.non_talk_min_seconds)
                return Outcome.passed(f"no silence of {shortest} or more outside holds")
            longest = max(n.duration_seconds for n in non_talk)
            return Outcome.passed(f"longest silence outside holds {longest:.1f}s ≤ {seconds(limit)}")
        evidence = [
            Evidence(
                "event",
                f"silence of both parties {n.duration_seconds:.1f}s outside a hold > {seconds(limit)}",
                None,
                n.start,
                n.end,
                "",
                _said_around(ctx, n.start, n.end),
            )
            for n in long_ones
        ]
        worst = max(n.duration_seconds for n in long_ones)
        return Outcome.failed(
            f"{len(long_ones)} silence(s) outside holds longer than {seconds(limit)} (longest {worst:.1f}s)",
            evidence,
        )
