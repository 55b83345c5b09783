"""Set human verdicts against the machine's: per criterion, per evaluator, evaluator against
evaluator, and call totals."""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import Iterable, Mapping, Sequence

from qa_pipeline.calibration.agreement import agreement, compare_totals, confusion
from qa_pipeline.calibration.records import (
    CalibrationReport,
    CriterionCalibration,
    Disagreement,
    EvaluatorCalibration,
    HumanEvaluation,
    MachineCall,
    MachineCriterion,
    PairCalibration,
    TotalPair,
)
from qa_pipeline.criteria.base import Verdict


def latest_evaluations(evaluations: Iterable[HumanEvaluation]) -> list[HumanEvaluation]:
    """Each evaluator's latest verdict per criterion of a call, ordered by call, criterion and
    evaluator."""
    chosen: dict[tuple[str, str, str], HumanEvaluation] = {}
    for e in evaluations:
        key = (e.call_id, e.criterion_id, e.evaluator)
        if key not in chosen or e.evaluated_on > chosen[key].evaluated_on:
            chosen[key] = e
    return [chosen[k] for k in sorted(chosen)]


def human_total(
    evaluations: Sequence[HumanEvaluation], call: MachineCall
) -> tuple[float | None, bool]:
    """An evaluator's total for a call: as given in the file, else computed from their verdicts.

    The computation is the scorecard's: each applicable criterion is worth its weight, a pass
    earns it (or the points given), a fail earns nothing (or the points given), na criteria
    are left out, and a failed critical criterion makes the total 0. It needs a verdict on
    every criterion of the call's scorecard; otherwise there is no total.

    Args:
        evaluations: One evaluator's latest verdicts on the call.
        call: The call as the machine scored it (for weights and critical criteria).

    Returns:
        The total (0–100, one decimal) or None, and whether it was computed.
    """
    latest_day = max(e.evaluated_on for e in evaluations)
    given = [e.total for e in evaluations if e.evaluated_on == latest_day and e.total is not None]
    if given:
        return given[0], False
    by_criterion = {e.criterion_id: e for e in evaluations}
    earned = possible = 0.0
    critical_failed = False
    for criterion in call.criteria:
        e = by_criterion.get(criterion.criterion_id)
        if e is None:
            return None, True
        if e.verdict is Verdict.NA:
            continue
        if criterion.weight is None:
            return None, True
        possible += criterion.weight
        if e.points is not None:
            earned += e.points
        elif e.verdict is Verdict.PASS:
            earned += criterion.weight
        if e.verdict is Verdict.FAIL and criterion.critical:
            critical_failed = True
    if critical_failed:
        return 0.0, True
    if possible <= 0:
        return None, True
    return round(100.0 * earned / possible, 1), True


def build_report(evaluations: Iterable[HumanEvaluation], machine: Mapping[str, MachineCall]) -> CalibrationReport | None:
    """Measure the machine's verdicts against people's.

    Args:
        evaluations: Human evaluations (all stored ones; each evaluator's latest verdict per
            criterion of a call counts).
        machine: The calls' latest machine scores by call id.

    Returns:
        The report, or None when there is no evaluation.
    """
    chosen = latest_evaluations(evaluations)
    if not chosen:
        return None
    compared: list[tuple[HumanEvaluation, MachineCriterion, MachineCall]] = []
    skipped = 0
    for e in chosen:
        call = machine.get(e.call_id)
        mc = call.criterion(e.criterion_id) if call else None
        if call is None or mc is None:
            skipped += 1
            continue
        compared.append((e, mc, call))

    # Criteria in scorecard order (calls scored by different scorecards: first seen first).
    order: dict[str, MachineCriterion] = {}
    for call in sorted({c.call_id: c for _, _, c in compared}.values(), key=lambda c: c.call_id):
        for mc in call.criteria:
            order.setdefault(mc.criterion_id, mc)

    by_criterion: dict[str, list[tuple[HumanEvaluation, MachineCriterion, MachineCall]]] = defaultdict(list)
    for item in compared:
        by_criterion[item[0].criterion_id].append(item)
    # (call, criterion) → evaluator → verdict, for evaluator-against-evaluator figures.
    human_by_item: dict[tuple[str, str], dict[str, Verdict]] = defaultdict(dict)
    for e, _, _ in compared:
        human_by_item[(e.call_id, e.criterion_id)][e.evaluator] = e.verdict

    criteria = []
    for cid, first_seen in order.items():
        items = by_criterion.get(cid, [])
        if not items:
            continue
        pairs = [(mc.verdict.value, e.verdict.value) for e, mc, _ in items]
        disagreements = tuple(
            sorted(
                (_disagreement(e, mc, call) for e, mc, call in items if mc.verdict is not e.verdict),
                key=lambda d: (d.call_id, d.evaluator, d.evaluated_on),
            )
        )
        human_pairs = [
            (a.value, b.value)
            for (call_id, crit), verdicts in sorted(human_by_item.items())
            if crit == cid
            for (_, a), (_, b) in combinations(sorted(verdicts.items()), 2)
        ]
        criteria.append(
            CriterionCalibration(
                criterion_id=cid,
                title=first_seen.title,
                critical=first_seen.critical,
                agreement=agreement(pairs),
                confusion=confusion(pairs),
                disagreements=disagreements,
                between_evaluators=agreement(human_pairs) if human_pairs else None,
            )
        )

    all_pairs = [(mc.verdict.value, e.verdict.value) for e, mc, _ in compared]
    total_pairs = _total_pairs(compared)
    by_evaluator = _by_evaluator(compared, total_pairs)
    pairs, pooled = _evaluator_pairs(compared, total_pairs)
    days = [e.evaluated_on for e in chosen]
    return CalibrationReport(
        evaluations=len(compared),
        calls=len({e.call_id for e, _, _ in compared}),
        evaluators=tuple(sorted({e.evaluator for e, _, _ in compared})),
        scorecards=tuple(sorted({call.scorecard_name for _, _, call in compared})),
        first_evaluated=min(days),
        last_evaluated=max(days),
        skipped=skipped,
        overall=agreement(all_pairs),
        confusion=confusion(all_pairs),
        criteria=tuple(criteria),
        totals=compare_totals([(p.human, p.machine) for p in total_pairs]),
        total_pairs=tuple(sorted(total_pairs, key=lambda p: (-abs(p.difference), p.call_id, p.evaluator))),
        by_evaluator=by_evaluator,
        pairs=pairs,
        between_evaluators=agreement(pooled) if pooled else None,
    )


def _disagreement(e: HumanEvaluation, mc: MachineCriterion, call: MachineCall) -> Disagreement:
    return Disagreement(
        call_id=e.call_id,
        agent_id=call.agent_id,
        criterion_id=e.criterion_id,
        criterion_title=mc.title,
        evaluator=e.evaluator,
        evaluated_on=e.evaluated_on,
        human=e.verdict,
        machine=mc.verdict,
        human_points=e.points,
        machine_points=mc.points,
        reason=mc.reason,
        evidence=mc.evidence,
        comment=e.comment,
    )


def _total_pairs(compared: Sequence[tuple[HumanEvaluation, MachineCriterion, MachineCall]]) -> list[TotalPair]:
    grouped: dict[tuple[str, str], list[HumanEvaluation]] = defaultdict(list)
    calls: dict[str, MachineCall] = {}
    for e, _, call in compared:
        grouped[(e.call_id, e.evaluator)].append(e)
        calls[e.call_id] = call
    out = []
    for (call_id, evaluator), items in sorted(grouped.items()):
        call = calls[call_id]
        total, computed = human_total(items, call)
        if total is None or call.total is None:
            continue
        out.append(TotalPair(call_id, evaluator, max(e.evaluated_on for e in items), total, call.total, computed))
    return out


def _by_evaluator(
    compared: Sequence[tuple[HumanEvaluation, MachineCriterion, MachineCall]], total_pairs: Sequence[TotalPair]
) -> tuple[EvaluatorCalibration, ...]:
    out = []
    for name in sorted({e.evaluator for e, _, _ in compared}):
        mine = [(mc.verdict.value, e.verdict.value, e.call_id) for e, mc, _ in compared if e.evaluator == name]
        totals = [(p.human, p.machine) for p in total_pairs if p.evaluator == name]
        out.append(
            EvaluatorCalibration(
                evaluator=name,
                calls=len({c for _, _, c in mine}),
                agreement=agreement((m, h) for m, h, _ in mine),
                totals=compare_totals(totals),
            )
        )
    return tuple(out)


def _evaluator_pairs(
    compared: Sequence[tuple[HumanEvaluation, MachineCriterion, MachineCall]], total_pairs: Sequence[TotalPair]
) -> tuple[tuple[PairCalibration, ...], list[tuple[str, str]]]:
    """Every pair of evaluators who judged a criterion of the same call, and all their
    verdict pairs pooled."""
    per_item: dict[tuple[str, str], dict[str, tuple[Verdict, Verdict]]] = defaultdict(dict)
    for e, mc, _ in compared:
        per_item[(e.call_id, e.criterion_id)][e.evaluator] = (e.verdict, mc.verdict)
    totals = {(p.call_id, p.evaluator): p.human for p in total_pairs}
    verdicts: dict[tuple[str, str], list[tuple[str, Verdict, Verdict, Verdict]]] = defaultdict(list)
    for (call_id, _), by_evaluator in sorted(per_item.items()):
        for (a, (va, machine)), (b, (vb, _)) in combinations(sorted(by_evaluator.items()), 2):
            verdicts[(a, b)].append((call_id, va, vb, machine))
    pairs = []
    pooled: list[tuple[str, str]] = []
    for (a, b), items in sorted(verdicts.items()):
        both = [(x.value, y.value) for _, x, y, _ in items]
        pooled += both
        calls = sorted({call_id for call_id, _, _, _ in items})
        pair_totals = [(totals[(c, a)], totals[(c, b)]) for c in calls if (c, a) in totals and (c, b) in totals]
        pairs.append(
            PairCalibration(
                first=a,
                second=b,
                calls=len(calls),
                agreement=agreement(both),
                machine_first=agreement((m.value, x.value) for _, x, _, m in items),
                machine_second=agreement((m.value, y.value) for _, _, y, m in items),
                totals=compare_totals(pair_totals),
            )
        )
    return tuple(pairs), pooled

