"""Criterion types, one module each, resolved from a scorecard's ``type:`` by a closed registry.

The registry is a plain dict: a scorecard can only name the types listed here, never a class
by import path, so a scorecard file cannot make the scorer import arbitrary code.
"""

from __future__ import annotations

from qa_pipeline.criteria.base import Criterion, Evidence, Outcome, Verdict
from qa_pipeline.criteria.duration import DurationCriterion
from qa_pipeline.criteria.empathy import EmpathyResponseCriterion
from qa_pipeline.criteria.hold import HoldEtiquetteCriterion
from qa_pipeline.criteria.interruptions import InterruptionsCriterion
from qa_pipeline.criteria.paraphrase import ParaphraseCriterion
from qa_pipeline.criteria.phrase import PhraseCriterion
from qa_pipeline.criteria.silence import SilenceCriterion
from qa_pipeline.criteria.talk_share import TalkShareCriterion
from qa_pipeline.criteria.talk_speed import TalkSpeedCriterion

CRITERION_TYPES: dict[str, type[Criterion]] = {
    cls.type_name: cls
    for cls in (
        PhraseCriterion,
        ParaphraseCriterion,
        EmpathyResponseCriterion,
        InterruptionsCriterion,
        HoldEtiquetteCriterion,
        SilenceCriterion,
        TalkShareCriterion,
        TalkSpeedCriterion,
        DurationCriterion,
    )
}


def known_types() -> list[str]:
    """The criterion type names a scorecard may use, sorted."""
    return sorted(CRITERION_TYPES)


__all__ = ["CRITERION_TYPES", "Criterion", "Evidence", "Outcome", "Verdict", "known_types"]
