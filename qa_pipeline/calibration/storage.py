"""Human evaluations in the results store, and the machine verdicts they are compared with."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Collection, Iterator, Sequence

from sqlalchemy import func, insert, select, tuple_, update
from sqlalchemy.exc import SQLAlchemyError

from qa_pipeline.calibration.records import HumanEvaluation, ImportSummary, MachineCall, MachineCriterion
from qa_pipeline.criteria.base import Evidence, Verdict
from qa_pipeline.errors import StoreError
from qa_pipeline.store import Store, schema
from qa_pipeline.store.records import CallStatus

# Keeps IN lists well below SQLite's bound-parameter limit.
CHUNK = 500


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]


def machine_calls(store: Store, call_ids: Collection[str]) -> dict[str, MachineCall]:
    """The latest score of each of the given calls that has one (calls without are left out).

    Raises:
        StoreError: The store cannot be read.
    """
    wanted = sorted(set(call_ids))
    if not wanted:
        return {}
    c, s, r = schema.calls.c, schema.call_scores.c, schema.criterion_results.c
    # Score ids only grow, so the largest per call is its latest.
    latest = select(func.max(s.id)).group_by(s.call_pk)
    try:
        with store.engine.connect() as conn:
            heads: dict[int, dict[str, Any]] = {}
            for part in _chunks(wanted):
                query = (
                    select(c.id, c.call_id, c.agent_id, c.started_at, s.scorecard_name, s.scorecard_hash, s.total)
                    .select_from(schema.calls.join(schema.call_scores, s.call_pk == c.id))
                    .where(c.call_id.in_(part), s.id.in_(latest), c.status == CallStatus.OK.value)
                )
                for row in conn.execute(query):
                    heads[row.id] = dict(row._mapping)
            if not heads:
                return {}
            hashes = sorted({h["scorecard_hash"] for h in heads.values()})
            weights = _weights(conn, hashes)
            criteria: dict[int, list[MachineCriterion]] = {pk: [] for pk in heads}
            keys = sorted((pk, h["scorecard_hash"]) for pk, h in heads.items())
            for part in _chunks(keys):
                query = (
                    select(r.call_pk, r.scorecard_hash, r.criterion_id, r.title, r.verdict, r.points, r.max_points, r.critical, r.reason, r.evidence)
                    .where(tuple_(r.call_pk, r.scorecard_hash).in_(list(part)))
                    .order_by(r.call_pk, r.position)
                )
                for row in conn.execute(query):
                    criteria[row.call_pk].append(
                        MachineCriterion(
                            criterion_id=row.criterion_id,
                            title=row.title,
                            verdict=Verdict(row.verdict),
                            points=float(row.points),
                            max_points=float(row.max_points),
                            weight=weights.get((row.scorecard_hash, row.criterion_id)),
                            critical=bool(row.critical),
                            reason=row.reason,
                            evidence=tuple(Evidence.from_dict(e) for e in json.loads(row.evidence or "[]")),
                        )
                    )
    except SQLAlchemyError as exc:
        raise StoreError(f"{store}: cannot read scores ({_reason(exc)})") from exc
    return {
        h["call_id"]: MachineCall(
            pk=pk,
            call_id=h["call_id"],
            agent_id=h["agent_id"],
            started_at=h["started_at"],
            scorecard_name=h["scorecard_name"],
            scorecard_hash=h["scorecard_hash"],
            total=None if h["total"] is None else float(h["total"]),
            criteria=tuple(criteria[pk]),
        )
        for pk, h in sorted(heads.items(), key=lambda kv: kv[1]["call_id"])
    }


def _weights(conn: Any, hashes: Sequence[str]) -> dict[tuple[str, str], float]:
    """Each criterion's weight per scorecard: the points at stake on calls where it applied."""
    r = schema.criterion_results.c
    out: dict[tuple[str, str], float] = {}
    for part in _chunks(list(hashes)):
        query = (
            select(r.scorecard_hash, r.criterion_id, func.max(r.max_points))
            .where(r.scorecard_hash.in_(part))
            .group_by(r.scorecard_hash, r.criterion_id)
        )
        for card, criterion, weight in conn.execute(query):
            if weight:
                out[(card, criterion)] = float(weight)
    return out


def save_evaluations(store: Store, evaluations: Sequence[HumanEvaluation], machine: dict[str, MachineCall], source: str) -> ImportSummary:
    """Store evaluations in one transaction: new ones are added, stored ones (same call,
    criterion, evaluator and day) are updated when they changed and left alone otherwise, so
    importing a file twice changes nothing.

    Args:
        store: The store.
        evaluations: Validated evaluations (:func:`~qa_pipeline.calibration.importer.read_evaluations`).
        machine: Their calls, which give the store's call rows.
        source: The file they came from.

    Raises:
        StoreError: The store refused the write (nothing is written).
    """
    h = schema.human_evaluations.c
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    pks = sorted({machine[e.call_id].pk for e in evaluations})
    inserted = updated = unchanged = 0
    try:
        with store.engine.begin() as conn:
            stored: dict[tuple[int, str, str, Any], Any] = {}
            for part in _chunks(pks):
                query = select(h.id, h.call_pk, h.criterion_id, h.evaluator, h.evaluated_on, h.verdict, h.points, h.total, h.comment).where(
                    h.call_pk.in_(part)
                )
                for row in conn.execute(query):
                    stored[(row.call_pk, row.criterion_id, row.evaluator, row.evaluated_on)] = row
            new_rows = []
            for e in evaluations:
                pk = machine[e.call_id].pk
                values = {"verdict": e.verdict.value, "points": e.points, "total": e.total, "comment": e.comment or None}
                row = stored.get((pk, e.criterion_id, e.evaluator, e.evaluated_on))
                if row is None:
                    new_rows.append(
                        {
                            "call_pk": pk,
                            "criterion_id": e.criterion_id,
                            "evaluator": e.evaluator,
                            "evaluated_on": e.evaluated_on,
                            **values,
                            "source": source,
                            "line": e.line,
                            "imported_at": now,
                        }
                    )
                    inserted += 1
                elif all(getattr(row, k) == v for k, v in values.items()):
                    unchanged += 1
                else:
                    conn.execute(
                        update(schema.human_evaluations)
                        .where(h.id == row.id)
                        .values(**values, source=source, line=e.line, imported_at=now)
                    )
                    updated += 1
            if new_rows:
                conn.execute(insert(schema.human_evaluations), new_rows)
    except SQLAlchemyError as exc:
        raise StoreError(f"{store}: cannot save the human evaluations of {source} ({_reason(exc)})") from exc
    return ImportSummary(
        source=source,
        rows=len(evaluations),
        inserted=inserted,
        updated=updated,
        unchanged=unchanged,
        calls=len({e.call_id for e in evaluations}),
        evaluators=tuple(sorted({e.evaluator for e in evaluations})),
    )


def load_evaluations(store: Store) -> list[HumanEvaluation]:
    """Every stored human evaluation, ordered by call, criterion, evaluator and day.

    Raises:
        StoreError: The store cannot be read.
    """
    h, c = schema.human_evaluations.c, schema.calls.c
    query = (
        select(c.call_id, h.criterion_id, h.evaluator, h.evaluated_on, h.verdict, h.points, h.total, h.comment, h.source, h.line)
        .select_from(schema.human_evaluations.join(schema.calls, c.id == h.call_pk))
        .order_by(c.call_id, h.criterion_id, h.evaluator, h.evaluated_on)
    )
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(query).all()
    except SQLAlchemyError as exc:
        raise StoreError(f"{store}: cannot read human evaluations ({_reason(exc)})") from exc
    return [
        HumanEvaluation(
            call_id=row.call_id,
            criterion_id=row.criterion_id,
            evaluator=row.evaluator,
            evaluated_on=row.evaluated_on,
            verdict=Verdict(row.verdict),
            points=row.points,
            total=row.total,
            comment=row.comment or "",
            source=row.source,
            line=row.line,
        )
        for row in rows
    ]


def count_evaluations(store: Store) -> int:
    """How many human evaluations the store holds."""
    try:
        with store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.human_evaluations)).scalar() or 0)
    except SQLAlchemyError as exc:
        raise StoreError(f"{store}: cannot read human evaluations ({_reason(exc)})") from exc

