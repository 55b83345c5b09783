"""Typed records of calibration: human verdicts, the machine's verdicts they are set against,
and the agreement figures computed from both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping

from qa_pipeline.criteria.base import Evidence, Verdict

#: Verdict categories in the order confusion matrices use.
LABELS: tuple[str, ...] = tuple(v.value for v in Verdict)


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _sig(x: float | None) -> float | None:
    # p-values keep three significant digits: 1.2e-09 must not print as 0.
    return None if x is None else float(f"{x:.3g}")


@dataclass(frozen=True)
class HumanEvaluation:
    """One criterion of one call as a person judged it.

    Attributes:
        call_id: The call.
        criterion_id: The scorecard criterion.
        evaluator: Who judged it.
        evaluated_on: The day of the evaluation.
        verdict: pass, fail or na (from the points when only points were given).
        points: Points the evaluator gave, if any.
        total: The evaluator's total for the call (0–100), if the file gives one.
        comment: The evaluator's note, if any.
        source: The file it was imported from.
        line: Its line in that file.
    """

    call_id: str
    criterion_id: str
    evaluator: str
    evaluated_on: date
    verdict: Verdict
    points: float | None = None
    total: float | None = None
    comment: str = ""
    source: str = ""
    line: int = 0

    @property
    def key(self) -> tuple[str, str, str, date]:
        """What makes an evaluation unique: call, criterion, evaluator, day."""
        return (self.call_id, self.criterion_id, self.evaluator, self.evaluated_on)

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "criterion_id": self.criterion_id,
            "evaluator": self.evaluator,
            "evaluated_on": self.evaluated_on.isoformat(),
            "verdict": self.verdict.value,
            "points": self.points,
            "total": self.total,
            "comment": self.comment,
            "source": self.source,
            "line": self.line,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "HumanEvaluation":
        points, total = data.get("points"), data.get("total")
        return cls(
            call_id=str(data["call_id"]),
            criterion_id=str(data["criterion_id"]),
            evaluator=str(data["evaluator"]),
            evaluated_on=date.fromisoformat(str(data["evaluated_on"])),
            verdict=Verdict(data["verdict"]),
            points=None if points is None else float(points),
            total=None if total is None else float(total),
            comment=str(data.get("comment") or ""),
            source=str(data.get("source") or ""),
            line=int(data.get("line") or 0),
        )


@dataclass(frozen=True)
class MachineCriterion:
    """The machine's verdict on one criterion of a call (its latest score).

    Attributes:
        criterion_id: The criterion.
        title: Its title.
        verdict: pass, fail or na.
        points: Points earned.
        max_points: Points at stake (0 when na).
        weight: The criterion's weight in the scorecard, or None when no scored call has
            shown it (it was na everywhere).
        critical: Failing it zeroes the call.
        reason: The verdict's one-line reason.
        evidence: The verdict's evidence.
    """

    criterion_id: str
    title: str
    verdict: Verdict
    points: float
    max_points: float
    weight: float | None
    critical: bool
    reason: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class MachineCall:
    """A scored call as calibration needs it.

    Attributes:
        pk: The call's row in the store.
        call_id: The call.
        agent_id: Its agent.
        started_at: When it started.
        scorecard_name: The scorecard of its latest score.
        scorecard_hash: That scorecard's content hash.
        total: Its total (0–100), or None when no criterion applied.
        criteria: Its criteria in scorecard order.
    """

    pk: int
    call_id: str
    agent_id: str | None
    started_at: datetime | None
    scorecard_name: str
    scorecard_hash: str
    total: float | None
    criteria: tuple[MachineCriterion, ...]

    def criterion(self, criterion_id: str) -> MachineCriterion | None:
        for c in self.criteria:
            if c.criterion_id == criterion_id:
                return c
        return None


@dataclass(frozen=True)
class ImportSummary:
    """What importing an evaluation file did.

    Attributes:
        source: The file.
        rows: Evaluation rows read.
        inserted: Rows new to the store.
        updated: Rows already stored whose verdict, points, total or comment changed.
        unchanged: Rows already stored as they are (a re-import).
        calls: Distinct calls in the file.
        evaluators: Distinct evaluators in the file.
    """

    source: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    calls: int
    evaluators: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "calls": self.calls,
            "evaluators": list(self.evaluators),
        }


# Landis & Koch (1977), "The measurement of observer agreement for categorical data":
# the upper end of each band (a κ below 0 is "poor").
KAPPA_BANDS: tuple[tuple[float, str], ...] = (
    (0.20, "slight"),
    (0.40, "fair"),
    (0.60, "moderate"),
    (0.80, "substantial"),
    (1.00, "almost perfect"),
)


def kappa_band(kappa: float | None) -> str:
    """The Landis & Koch reading of a κ.

    poor (below 0), slight (0–0.20), fair (0.21–0.40), moderate (0.41–0.60), substantial
    (0.61–0.80), almost perfect (0.81–1); ``undefined`` for None.
    """
    if kappa is None:
        return "undefined"
    # Rounded as printed, so that a κ shown as 0.40 is read as the band that names 0.40.
    k = round(kappa, 2)
    if k < 0:
        return "poor"
    for upper, name in KAPPA_BANDS:
        if k <= upper:
            return name
    return KAPPA_BANDS[-1][1]


@dataclass(frozen=True)
class Agreement:
    """How often two raters agree on categorical verdicts, and Cohen's κ.

    Attributes:
        n: Items both rated.
        agreed: Items with the same verdict.
        observed: Share agreed, 0–1 (percent agreement / 100); None when ``n`` is 0.
        expected: Agreement expected by chance from each rater's own verdict shares.
        kappa: Cohen's κ = (observed − expected) / (1 − expected); None when undefined
            (no items, or both raters gave one and the same verdict to every item, which
            leaves nothing beyond chance to measure).
        kappa_low: Lower end of an approximate 95% interval of κ (Cohen's large-sample
            standard error), clipped to [−1, 1].
        kappa_high: Upper end of that interval.
        note: Why κ is undefined, when it is.
    """

    n: int
    agreed: int
    observed: float | None
    expected: float | None
    kappa: float | None
    kappa_low: float | None = None
    kappa_high: float | None = None
    note: str = ""

    @property
    def percent(self) -> float | None:
        """Percent agreement, 0–100."""
        return None if self.observed is None else 100.0 * self.observed

    @property
    def band(self) -> str:
        """Landis & Koch reading of κ."""
        return kappa_band(self.kappa)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "agreed": self.agreed,
            "percent_agreement": _r(self.percent, 2),
            "expected_agreement": _r(self.expected),
            "kappa": _r(self.kappa),
            "kappa_ci95": None if self.kappa_low is None else [_r(self.kappa_low), _r(self.kappa_high)],
            "band": self.band,
            "note": self.note,
        }


@dataclass(frozen=True)
class Confusion:
    """Counts of (machine verdict, human verdict) pairs.

    Attributes:
        labels: The verdict categories, in row and column order (pass, fail, na).
        counts: ``counts[i][j]``: items the first rater (the machine, or the first evaluator
            of a pair) put in ``labels[i]`` and the second in ``labels[j]``.
    """

    labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    def count(self, first: str, second: str) -> int:
        return self.counts[self.labels.index(first)][self.labels.index(second)]

    @property
    def total(self) -> int:
        return sum(sum(row) for row in self.counts)

    def to_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "rows": "machine", "columns": "human", "counts": [list(r) for r in self.counts]}


@dataclass(frozen=True)
class Disagreement:
    """A criterion of a call where an evaluator and the machine gave different verdicts.

    Attributes:
        call_id: The call.
        agent_id: Its agent.
        criterion_id: The criterion.
        criterion_title: Its title.
        evaluator: Who disagreed with the machine.
        evaluated_on: When.
        human: The evaluator's verdict.
        machine: The machine's verdict.
        human_points: The evaluator's points, if given.
        machine_points: The machine's points.
        reason: The machine's reason for its verdict.
        evidence: The machine's evidence (what it heard, or what it looked for and missed).
        comment: The evaluator's note.
    """

    call_id: str
    agent_id: str | None
    criterion_id: str
    criterion_title: str
    evaluator: str
    evaluated_on: date
    human: Verdict
    machine: Verdict
    human_points: float | None
    machine_points: float
    reason: str
    evidence: tuple[Evidence, ...]
    comment: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "agent_id": self.agent_id,
            "criterion_id": self.criterion_id,
            "criterion_title": self.criterion_title,
            "evaluator": self.evaluator,
            "evaluated_on": self.evaluated_on.isoformat(),
            "human": self.human.value,
            "machine": self.machine.value,
            "human_points": self.human_points,
            "machine_points": round(self.machine_points, 3),
            "reason": self.reason,
            "evidence": [e.to_dict() for e in self.evidence],
            "comment": self.comment,
        }


@dataclass(frozen=True)
class CriterionCalibration:
    """Agreement between people and the machine on one criterion.

    Attributes:
        criterion_id: The criterion.
        title: Its title.
        critical: Failing it zeroes the call.
        agreement: Machine against every evaluation of the criterion.
        confusion: Machine verdicts (rows) against human verdicts (columns).
        disagreements: The evaluations the machine disagrees with.
        between_evaluators: Evaluator against evaluator on calls judged by two or more
            (every pair of them); None when no call was.
    """

    criterion_id: str
    title: str
    critical: bool
    agreement: Agreement
    confusion: Confusion
    disagreements: tuple[Disagreement, ...]
    between_evaluators: Agreement | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "criterion_id": self.criterion_id,
            "title": self.title,
            "critical": self.critical,
            "agreement": self.agreement.to_dict(),
            "confusion": self.confusion.to_dict(),
            "disagreements": [d.to_dict() for d in self.disagreements],
            "between_evaluators": None if self.between_evaluators is None else self.between_evaluators.to_dict(),
        }


@dataclass(frozen=True)
class TotalPair:
    """A call's total as an evaluator gave it (or as their verdicts add up) and the machine's.

    Attributes:
        call_id: The call.
        evaluator: The evaluator.
        evaluated_on: The day of the evaluation.
        human: The evaluator's total, 0–100.
        machine: The machine's total, 0–100.
        computed: The human total was computed from the verdicts (the file gave none).
    """

    call_id: str
    evaluator: str
    evaluated_on: date
    human: float
    machine: float
    computed: bool

    @property
    def difference(self) -> float:
        """Human minus machine."""
        return self.human - self.machine

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "evaluator": self.evaluator,
            "evaluated_on": self.evaluated_on.isoformat(),
            "human": round(self.human, 2),
            "machine": round(self.machine, 2),
            "difference": round(self.difference, 2),
            "computed": self.computed,
        }


@dataclass(frozen=True)
class TotalsComparison:
    """How two sets of call totals (0–100) relate.

    Attributes:
        n: Calls compared.
        pearson_r: Pearson correlation; None below 3 calls or when either side is constant.
        pearson_p: Its two-sided p-value.
        spearman_rho: Spearman rank correlation; None likewise.
        spearman_p: Its two-sided p-value.
        mean_abs_diff: Mean absolute difference, in score points; None without calls.
        mean_diff: Mean of first − second (human − machine: positive when people score
            higher); None without calls.
    """

    n: int
    pearson_r: float | None
    pearson_p: float | None
    spearman_rho: float | None
    spearman_p: float | None
    mean_abs_diff: float | None
    mean_diff: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "pearson_r": _r(self.pearson_r),
            "pearson_p": _sig(self.pearson_p),
            "spearman_rho": _r(self.spearman_rho),
            "spearman_p": _sig(self.spearman_p),
            "mean_abs_diff": _r(self.mean_abs_diff, 2),
            "mean_diff": _r(self.mean_diff, 2),
        }


@dataclass(frozen=True)
class EvaluatorCalibration:
    """One evaluator against the machine, over every criterion they judged.

    Attributes:
        evaluator: The evaluator.
        calls: Calls they evaluated.
        agreement: Their verdicts against the machine's.
        totals: Their totals against the machine's.
    """

    evaluator: str
    calls: int
    agreement: Agreement
    totals: TotalsComparison

    def to_dict(self) -> dict[str, Any]:
        return {
            "evaluator": self.evaluator,
            "calls": self.calls,
            "agreement": self.agreement.to_dict(),
            "totals": self.totals.to_dict(),
        }


@dataclass(frozen=True)
class PairCalibration:
    """Two evaluators against each other on the calls both judged, with the machine against
    each of them on the same verdicts for comparison.

    Attributes:
        first: One evaluator (the alphabetically first).
        second: The other.
        calls: Calls both evaluated.
        agreement: ``first`` against ``second``.
        machine_first: The machine against ``first`` on the same verdicts.
        machine_second: The machine against ``second`` on the same verdicts.
        totals: ``first``'s totals against ``second``'s.
    """

    first: str
    second: str
    calls: int
    agreement: Agreement
    machine_first: Agreement
    machine_second: Agreement
    totals: TotalsComparison

    def to_dict(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "second": self.second,
            "calls": self.calls,
            "agreement": self.agreement.to_dict(),
            "machine_first": self.machine_first.to_dict(),
            "machine_second": self.machine_second.to_dict(),
            "totals": self.totals.to_dict(),
        }


@dataclass(frozen=True)
class CalibrationReport:
    """The machine's verdicts measured against people's.

    When an evaluator judged the same criterion of a call on several days, the latest
    verdict counts; the machine's verdict is the call's latest score.

    Attributes:
        evaluations: Human verdicts compared.
        calls: Calls with at least one.
        evaluators: The evaluators.
        scorecards: Names of the scorecards of the machine scores compared.
        first_evaluated: Day of the earliest evaluation.
        last_evaluated: Day of the latest.
        skipped: Stored human verdicts left out because their call or criterion has no
            machine verdict any more (e.g. the call was re-scored with another scorecard).
        overall: Machine against people over every criterion.
        confusion: Machine verdicts (rows) against human verdicts (columns), all criteria.
        criteria: Per criterion, in scorecard order.
        totals: Human totals against the machine's.
        total_pairs: The totals compared, largest difference first.
        by_evaluator: Per evaluator.
        pairs: Per pair of evaluators who judged the same calls.
        between_evaluators: All such pairs pooled; None when no call has two evaluators.
    """

    evaluations: int
    calls: int
    evaluators: tuple[str, ...]
    scorecards: tuple[str, ...]
    first_evaluated: date
    last_evaluated: date
    skipped: int
    overall: Agreement
    confusion: Confusion
    criteria: tuple[CriterionCalibration, ...]
    totals: TotalsComparison
    total_pairs: tuple[TotalPair, ...]
    by_evaluator: tuple[EvaluatorCalibration, ...]
    pairs: tuple[PairCalibration, ...]
    between_evaluators: Agreement | None

    @property
    def disagreements(self) -> tuple[Disagreement, ...]:
        """Every disagreement, criterion by criterion."""
        return tuple(d for c in self.criteria for d in c.disagreements)

    def criterion(self, criterion_id: str) -> CriterionCalibration:
        for c in self.criteria:
            if c.criterion_id == criterion_id:
                return c
        raise KeyError(criterion_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "evaluations": self.evaluations,
            "calls": self.calls,
            "evaluators": list(self.evaluators),
            "scorecards": list(self.scorecards),
            "first_evaluated": self.first_evaluated.isoformat(),
            "last_evaluated": self.last_evaluated.isoformat(),
            "skipped": self.skipped,
            "overall": self.overall.to_dict(),
            "confusion": self.confusion.to_dict(),
            "criteria": [c.to_dict() for c in self.criteria],
            "totals": self.totals.to_dict(),
            "total_pairs": [p.to_dict() for p in self.total_pairs],
            "by_evaluator": [e.to_dict() for e in self.by_evaluator],
            "pairs": [p.to_dict() for p in self.pairs],
            "between_evaluators": None if self.between_evaluators is None else self.between_evaluators.to_dict(),
        }
