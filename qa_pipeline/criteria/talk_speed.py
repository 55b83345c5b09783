"""``talk_speed``: a party's speaking rate lies in a range.

Fields::

    speaker: agent
    min_per_minute: 110     # words per minute; characters per minute for Chinese
    max_per_minute: 190

N/A when the party did not speak.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qa_pipeline.criteria.base import BuildContext, Criterion, Evidence, Outcome, speaker_of
from qa_pipeline.criteria.context import ScoringContext
from qa_pipeline.criteria.fields import FieldReader
from qa_pipeline.criteria.ranges import in_range, range_text


@dataclass(frozen=True)
class TalkSpeedCriterion(Criterion):
    """Speaking rate within [min, max] per minute."""

    type_name = "talk_speed"

    speaker: str
    min_per_minute: float | None
    max_per_minute: float | None

    @classmethod
    def parse(cls, fields: FieldReader, build: BuildContext) -> "TalkSpeedCriterion":
        speaker = fields.choice("speaker", ("agent", "customer"), "agent")
        low = fields.number("min_per_minute", None, minimum=0)
        high = fields.number("max_per_minute", None, minimum=0)
        if low is None and high is None:
            raise fields.problem(None, "give min_per_minute and/or max_per_minute")
        if low is not None and high is not None and high < low:
            raise fields.problem("max_per_minute", "must not be below min_per_minute")
        return cls(speaker, low, high)

    def to_dict(self) -> dict[str, Any]:
        return {
            "speaker": self.speaker,
            "min_per_minute": self.min_per_minute,
            "max_per_minute": self.max_per_minute,
        }

    def evaluate(self, ctx: ScoringContext) -> Outcome:
        speaker = speaker_of(self.speaker)
        party = ctx.characteristics.party(speaker)
        unit = ctx.characteristics.speed_unit
        if party.talk_speed_per_minute is None:
            return Outcome.not_applicable(f"the {self.speaker} did not speak")
        speed = party.talk_speed_per_minute
        wanted = range_text(self.min_per_minute, self.max_per_minute, lambda x: f"{x:g}")
        rule = (
            f"{self.speaker} speed {speed:.0f} {unit}/min ({party.word_count} {unit} in "
            f"{party.talk_time_seconds:.1f}s), wanted {wanted}"
        )
        ev = [Evidence("note", rule, speaker)]
        if in_range(speed, self.min_per_minute, self.max_per_minute):
            return Outcome.passed(f"{self.speaker} speed {speed:.0f} {unit}/min within {wanted}", ev)
        return Outcome.failed(f"{self.speaker} speed {speed:.0f} {unit}/min outside {wanted}", ev)
