"""Score a transcript against a scorecard: verdicts, points, evidence and the call total.

Points: a criterion that applies earns ``weight × credit`` of ``weight`` points; N/A criteria
are left out of both sides. The total is ``100 × earned / possible`` rounded to one decimal,
or None when no criterion applied. A failed ``critical`` criterion makes the total 0 and the
score says which criterion did it (``auto_failed_by``).

When agent and customer were inferred from a mono recording, every verdict that depends on
who is who carries ``roles_inferred: true``, so reviewers know to check the speaker labels.
When the role decision itself was uncertain (confidence below the configured threshold, or
one voice only), the call and those verdicts also carry ``roles_review: true``.

Scoring is deterministic: the same transcript and scorecard give byte-identical JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Mapping

from qa_pipeline.callrecord import CallEvent, EventKind, sort_events
from qa_pipeline.characteristics import (
    Characteristics,
    measure_tracks,
    turn_pause_bound,
)
from qa_pipeline.criteria.base import Evidence, Outcome, Verdict
from qa_pipeline.criteria.context import ScoringContext
from qa_pipeline.errors import ConfigError
# Declared with the other stage options (flags and [scoring] of qa.toml come from it).
from qa_pipeline.options import ScoringOptions
from qa_pipeline.scorecard import Scorecard
from qa_pipeline.textmatch import TokenTrack
from qa_pipeline.transcript import Speaker, Transcript

__all__ = [
    "CallEvent",
    "CallScore",
    "CriterionResult",
    "Evidence",
    "ScoringOptions",
    "Verdict",
    "score_transcript",
    "SCORE_SCHEMA_VERSION",
    "SCORING_VERSION",
]

SCORE_SCHEMA_VERSION = 1
# Bumped when the engine's behaviour changes in a way that can change verdicts, so stored
# scores can be told apart from ones a newer engine would give.
SCORING_VERSION = "1"


@dataclass(frozen=True)
class CriterionResult:
    """A criterion's verdict for one call.

    Attributes:
        id: Criterion id.
        title: Criterion title.
        type: Criterion type.
        verdict: pass, fail or na.
        points: Points earned (weight × credit; 0 for na).
        max_points: Points at stake (the weight; 0 for na).
        credit: Share earned, 0..1.
        critical: Whether failing it zeroes the call.
        reason: One sentence for the verdict table.
        evidence: Supporting records.
        roles_inferred: The verdict depends on speaker roles that were guessed.
        roles_review: The verdict depends on speaker roles flagged for review.
    """

    id: str
    title: str
    type: str
    verdict: Verdict
    points: float
    max_points: float
    credit: float
    critical: bool
    reason: str
    evidence: tuple[Evidence, ...]
    roles_inferred: bool = False
    roles_review: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "type": self.type,
            "verdict": self.verdict.value,
            "points": round(self.points, 3),
            "max_points": round(self.max_points, 3),
            "credit": round(self.credit, 4),
            "critical": self.critical,
            "reason": self.reason,
            "roles_inferred": self.roles_inferred,
            "roles_review": self.roles_review,
            "evidence": [e.to_dict() for e in self.evidence],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CriterionResult":
        return cls(
            id=str(data["id"]),
            title=str(data["title"]),
            type=str(data["type"]),
            verdict=Verdict(data["verdict"]),
            points=float(data["points"]),
            max_points=float(data["max_points"]),
            credit=float(data["credit"]),
            critical=bool(data["critical"]),
            reason=str(data["reason"]),
            evidence=tuple(Evidence.from_dict(e) for e in data.get("evidence", ())),
            roles_inferred=bool(data.get("roles_inferred", False)),
            roles_review=bool(data.get("roles_review", False)),
        )


@dataclass(frozen=True)
class CallScore:
    """The score of one call against one scorecard.

    Attributes:
        call_id: The call.
        scorecard_name: The scorecard's name.
        scorecard_hash: The scorecard's content hash (SHA-256 hex).
        language: Language the call was scored in.
        total: 0–100, one decimal; 0 when auto-failed; None when no criterion applied.
        points: Points earned over applicable criteria.
        max_points: Points at stake over applicable criteria.
        auto_failed: A critical criterion failed.
        auto_failed_by: Ids of the failed critical criteria.
        roles_inferred: Speaker roles were guessed (mono recording).
        results: One result per scorecard criterion, in scorecard order.
        characteristics: The call's measured characteristics.
        scoring_version: Version of the scoring engine's behaviour.
        schema_version: Version of this record's JSON layout.
        roles_review: The agent/customer decision was uncertain: role-dependent verdicts
            are flagged for a person to check.
        events: Holds, silences, interruptions and overlaps with their times and who, in
            time order; a hold judged by a criterion carries that criterion's id and when it
            was announced and thanked. Empty for scores written before events were kept.
    """

    call_id: str
    scorecard_name: str
    scorecard_hash: str
    language: str
    total: float | None
    points: float
    max_points: float
    auto_failed: bool
    auto_failed_by: tuple[str, ...]
    roles_inferred: bool
    results: tuple[CriterionResult, ...]
    characteristics: Characteristics
    scoring_version: str = SCORING_VERSION
    schema_version: int = SCORE_SCHEMA_VERSION
    roles_review: bool = False
    events: tuple[CallEvent, ...] = ()

    def result(self, criterion_id: str) -> CriterionResult:
        """The result of one criterion."""
        for r in self.results:
            if r.id == criterion_id:
                return r
        raise KeyError(criterion_id)

    @property
    def verdicts(self) -> dict[str, Verdict]:
        return {r.id: r.verdict for r in self.results}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "scoring_version": self.scoring_version,
            "call_id": self.call_id,
            "scorecard": {"name": self.scorecard_name, "hash": self.scorecard_hash},
            "language": self.language,
            "total": self.total,
            "points": round(self.points, 3),
            "max_points": round(self.max_points, 3),
            "auto_failed": self.auto_failed,
            "auto_failed_by": list(self.auto_failed_by),
            "roles_inferred": self.roles_inferred,
            "roles_review": self.roles_review,
            "criteria": [r.to_dict() for r in self.results],
            "characteristics": self.characteristics.to_dict(),
            "events": [e.to_dict() for e in self.events],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CallScore":
        if data.get("schema_version") != SCORE_SCHEMA_VERSION:
            raise ConfigError(f"unsupported score schema_version {data.get('schema_version')!r}")
        total = data.get("total")
        return cls(
            call_id=str(data["call_id"]),
            scorecard_name=str(data["scorecard"]["name"]),
            scorecard_hash=str(data["scorecard"]["hash"]),
            language=str(data["language"]),
            total=None if total is None else float(total),
            points=float(data["points"]),
            max_points=float(data["max_points"]),
            auto_failed=bool(data["auto_failed"]),
            auto_failed_by=tuple(data.get("auto_failed_by", ())),
            roles_inferred=bool(data.get("roles_inferred", False)),
            results=tuple(CriterionResult.from_dict(r) for r in data["criteria"]),
            characteristics=Characteristics.from_dict(data["characteristics"]),
            scoring_version=str(data.get("scoring_version", SCORING_VERSION)),
            schema_version=int(data["schema_version"]),
            roles_review=bool(data.get("roles_review", False)),
            events=tuple(
                CallEvent.from_dict(e, f"call {data['call_id']}, event {n}")
                for n, e in enumerate(data.get("events") or (), 1)
            ),
        )

    def to_json(self) -> str:
        """Deterministic JSON (same input → same bytes)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)


_DEFAULT_OPTIONS = ScoringOptions()


def score_transcript(
    transcript: Transcript, scorecard: Scorecard, options: ScoringOptions | None = None
) -> CallScore:
    """Measure a call and judge it against every criterion of a scorecard.

    Args:
        transcript: The call.
        scorecard: A loaded scorecard (:func:`qa_pipeline.scorecard.load_scorecard`).
        options: Reporting options.

    Returns:
        The call's score with a result per criterion.

    Raises:
        ScorecardError: The scorecard does not cover the transcript's language.
    """
    options = options or _DEFAULT_OPTIONS
    language = scorecard.language_for(transcript.language, transcript.call_id)
    bound = turn_pause_bound(transcript)
    turns = transcript.turns
    agent_speaker = Speaker.AGENT
    agent = TokenTrack(agent_speaker, [t for t in turns if t.speaker is agent_speaker], bound)
    customer = TokenTrack(Speaker.CUSTOMER, [t for t in turns if t.speaker is not agent_speaker], bound)
    characteristics = measure_tracks(
        agent, customer, transcript.duration, transcript.language, scorecard.characteristics
    )
    ctx = ScoringContext(
        transcript,
        characteristics,
        language,
        scorecard.indexes[language],
        scorecard.frustration_set,
        agent,
        customer,
        scorecard.frustration_meaning,
    )
    roles_inferred = ctx.roles_inferred
    roles_review = transcript.roles.review
    results: list[CriterionResult] = []
    points = 0.0
    max_points = 0.0
    auto_failed_by: list[str] = []
    judged: list[CallEvent] = []
    for spec in scorecard.criteria:
        reason_na = spec.applies_when.not_applicable_reason(ctx)
        outcome = Outcome.not_applicable(reason_na) if reason_na else spec.rule.evaluate(ctx)
        evidence = outcome.evidence
        reason = outcome.reason
        judged += [replace(e, source=spec.id) for e in outcome.events]
        if len(evidence) > options.max_evidence:
            reason += f" ({len(evidence)} evidence records, first {options.max_evidence} shown)"
            evidence = evidence[: options.max_evidence]
        if outcome.verdict is Verdict.NA:
            earned, at_stake = 0.0, 0.0
        else:
            at_stake = spec.weight
            earned = spec.weight * outcome.credit
            if outcome.verdict is Verdict.FAIL and spec.critical:
                auto_failed_by.append(spec.id)
        points += earned
        max_points += at_stake
        results.append(
            CriterionResult(
                id=spec.id,
                title=spec.title,
                type=spec.type,
                verdict=outcome.verdict,
                points=earned,
                max_points=at_stake,
                credit=outcome.credit,
                critical=spec.critical,
                reason=reason,
                evidence=evidence,
                roles_inferred=roles_inferred
                and outcome.verdict is not Verdict.NA
                and spec.rule.depends_on_roles(),
                roles_review=roles_review
                and outcome.verdict is not Verdict.NA
                and spec.rule.depends_on_roles(),
            )
        )
    if auto_failed_by:
        total: float | None = 0.0
    elif max_points > 0:
        total = round(100.0 * points / max_points, 1)
    else:
        total = None
    return CallScore(
        call_id=transcript.call_id,
        scorecard_name=scorecard.name,
        scorecard_hash=scorecard.content_hash,
        language=language,
        total=total,
        points=points,
        max_points=max_points,
        auto_failed=bool(auto_failed_by),
        auto_failed_by=tuple(auto_failed_by),
        roles_inferred=roles_inferred,
        results=tuple(results),
        characteristics=characteristics,
        roles_review=roles_review,
        events=_call_events(characteristics, judged),
    )


def _call_events(characteristics: Characteristics, judged: list[CallEvent]) -> tuple[CallEvent, ...]:
    """The measured events, a hold judged by a criterion in place of the same measured hold
    (the first criterion's, when several judge it)."""
    holds: dict[tuple[float, float], CallEvent] = {}
    for e in judged:
        if e.kind is EventKind.HOLD:
            holds.setdefault((e.start_s, e.end_s), e)
    out = [
        holds.pop((e.start_s, e.end_s), e) if e.kind is EventKind.HOLD else e
        for e in characteristics.events()
    ]
    # Criteria judge only the measured holds; anything else they report is kept as it is.
    out += [e for e in judged if e.kind is not EventKind.HOLD] + list(holds.values())
    return sort_events(out)
