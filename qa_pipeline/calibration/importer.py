"""Read a CSV of human QA evaluations and check it against the store's scored calls.

One row per criterion of a call as an evaluator judged it::

    call_id,criterion_id,verdict,points,evaluator,date,total,comment
    call-001,greeting,pass,10,maria,2024-03-11,95,
    call-001,closing,fail,0,maria,2024-03-11,95,no offer of further help

Columns (header names are matched ignoring case and surrounding spaces; others are ignored):

- ``call_id``, ``criterion_id``, ``evaluator``, ``date`` (``YYYY-MM-DD``): required;
- ``verdict`` (``pass``, ``fail``, ``na``; ``n/a`` is read as ``na``) and/or ``points`` (the
  points given, between 0 and the criterion's weight): at least one per row. Points alone
  make a fail when 0 and a pass otherwise (partial credit counts as a pass, as it does in
  the scorecard's graded criteria);
- ``total``: the evaluator's total for the call, 0–100, optional (repeat it on each row of
  the evaluation or give it once); without it the total is computed from the verdicts;
- ``comment``: optional.

Every problem is reported with the file, line and column, all at once, and nothing is
imported from a file that has any.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Collection, Mapping

from qa_pipeline.calibration.records import HumanEvaluation, MachineCall
from qa_pipeline.criteria.base import Verdict
from qa_pipeline.errors import QAError

REQUIRED_COLUMNS: tuple[str, ...] = ("call_id", "criterion_id", "evaluator", "date")
OPTIONAL_COLUMNS: tuple[str, ...] = ("verdict", "points", "total", "comment")
VERDICT_WORDS: dict[str, Verdict] = {"pass": Verdict.PASS, "fail": Verdict.FAIL, "na": Verdict.NA, "n/a": Verdict.NA}
# Enough to fix a file in one go without burying the first problems.
MAX_PROBLEMS = 25

MachineLookup = Callable[[Collection[str]], Mapping[str, MachineCall]]


class EvaluationFileError(QAError):
    """A human evaluation file cannot be read or does not fit the store's calls and criteria."""


@dataclass(frozen=True)
class _Problem:
    line: int
    field: str
    message: str


@dataclass(frozen=True)
class _Row:
    line: int
    call_id: str
    criterion_id: str
    evaluator: str
    evaluated_on: date
    verdict: Verdict
    points: float | None
    total: float | None
    comment: str


def read_evaluations(path: str | os.PathLike[str], machine_for: MachineLookup, where: str = "the store") -> list[HumanEvaluation]:
    """Read and validate an evaluation file.

    Args:
        path: The CSV file.
        machine_for: Gives the scored calls among a set of call ids (calls it leaves out are
            reported as unknown).
        where: The store, as named in messages.

    Returns:
        The evaluations, in file order.

    Raises:
        EvaluationFileError: The file cannot be read, lacks a column, or has rows with
            problems (every problem is listed with its line and column).
    """
    path = Path(path)
    shown = os.fspath(path)
    text = _read_text(path)
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise EvaluationFileError(f"{shown}: empty file; expected a header with {', '.join(REQUIRED_COLUMNS)} and verdict or points")
    # Spreadsheets in some locales save CSV with semicolons (or tabs).
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise EvaluationFileError(f"{shown}:1: {exc}") from exc
    columns = _columns(header, shown)
    problems: list[_Problem] = []
    rows: list[_Row] = []
    end = reader.line_num
    try:
        for record in reader:
            # A quoted value may span lines: a row is named by the line it starts on.
            line, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            row = _parse_row(record, columns, line, problems)
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        raise EvaluationFileError(f"{shown}:{reader.line_num}: {exc}") from exc
    if not rows and not problems:
        raise EvaluationFileError(f"{shown}: no evaluations below the header")
    machine = machine_for({r.call_id for r in rows})
    if rows and not machine:
        first = rows[0]
        n = len({r.call_id for r in rows})
        raise EvaluationFileError(
            f"{shown}: none of its {n} call(s) is a scored call in {where} (the first, {first.call_id!r}, is on line "
            f"{first.line}); is that the store `qa run` wrote to (--db)?"
        )
    out = _check(rows, machine, shown, where, problems)
    if problems:
        raise EvaluationFileError(_message(shown, problems))
    return out


def _read_text(path: Path) -> str:
    shown = os.fspath(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise EvaluationFileError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise EvaluationFileError(f"{shown}: is a folder, not a CSV file") from None
    except OSError as exc:
        raise EvaluationFileError(f"{shown}: cannot read ({exc.strerror or exc})") from exc
    try:
        # utf-8-sig: spreadsheets often start a CSV with a byte-order mark.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EvaluationFileError(f"{shown}:{line}: not UTF-8 text (save the sheet as 'CSV UTF-8')") from exc


def _columns(header: list[str], shown: str) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    columns: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
            if name in columns:
                raise EvaluationFileError(f"{shown}:1: column {name!r} appears twice in the header")
            columns[name] = i
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if "verdict" not in columns and "points" not in columns:
        missing.append("verdict or points")
    if missing:
        raise EvaluationFileError(
            f"{shown}:1: missing column(s) {', '.join(missing)} (the header has: {', '.join(h.strip() for h in header) or 'nothing'})"
        )
    return columns


def _cell(record: list[str], columns: Mapping[str, int], name: str) -> str:
    i = columns.get(name)
    if i is None or i >= len(record):
        return ""
    return record[i].strip()


def _number(text: str, line: int, field: str, problems: list[_Problem]) -> float | None:
    try:
        value = float(text)
    except ValueError:
        problems.append(_Problem(line, field, f"{text!r} is not a number"))
        return None
    if not math.isfinite(value):
        problems.append(_Problem(line, field, f"{text!r} is not a finite number"))
        return None
    return value


def _parse_date(text: str) -> date:
    # A full timestamp is accepted; evaluations are told apart by day.
    if len(text) > 10:
        return datetime.fromisoformat(text).date()
    return date.fromisoformat(text)


def _parse_row(record: list[str], columns: Mapping[str, int], line: int, problems: list[_Problem]) -> _Row | None:
    before = len(problems)
    values = {name: _cell(record, columns, name) for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS}
    for name in REQUIRED_COLUMNS:
        if not values[name]:
            problems.append(_Problem(line, name, "empty"))
    evaluated_on = None
    if values["date"]:
        try:
            evaluated_on = _parse_date(values["date"])
        except ValueError:
            problems.append(_Problem(line, "date", f"{values['date']!r} is not a date (YYYY-MM-DD)"))
    verdict = None
    if values["verdict"]:
        verdict = VERDICT_WORDS.get(values["verdict"].lower())
        if verdict is None:
            problems.append(_Problem(line, "verdict", f"{values['verdict']!r} is not pass, fail or na"))
    points = None
    if values["points"]:
        points = _number(values["points"], line, "points", problems)
        if points is not None and points < 0:
            problems.append(_Problem(line, "points", f"{values['points']} is negative"))
            points = None
    if not values["verdict"] and not values["points"]:
        problems.append(_Problem(line, "verdict", "empty; give pass, fail or na, or the points given"))
    if verdict is Verdict.NA and points:
        problems.append(_Problem(line, "points", f"{values['points']} points on an na verdict (na criteria carry no points)"))
    total = None
    if values["total"]:
        total = _number(values["total"], line, "total", problems)
        if total is not None and not 0 <= total <= 100:
            problems.append(_Problem(line, "total", f"{values['total']} is outside 0–100"))
            total = None
    if len(problems) > before or evaluated_on is None:
        return None
    if verdict is None:
        verdict = Verdict.PASS if points else Verdict.FAIL
    return _Row(
        line=line,
        call_id=values["call_id"],
        criterion_id=values["criterion_id"],
        evaluator=values["evaluator"],
        evaluated_on=evaluated_on,
        verdict=verdict,
        points=points,
        total=total,
        comment=values["comment"],
    )


def _check(
    rows: list[_Row], machine: Mapping[str, MachineCall], shown: str, where: str, problems: list[_Problem]
) -> list[HumanEvaluation]:
    seen: dict[tuple[str, str, str, date], int] = {}
    totals: dict[tuple[str, str, date], tuple[float, int]] = {}
    # An unknown call or criterion is reported once, on its first line, with how often it recurs.
    unknown_calls: dict[str, list[int]] = {}
    unknown_criteria: dict[tuple[str, str], tuple[MachineCall, list[int]]] = {}
    out: list[HumanEvaluation] = []
    for r in rows:
        call = machine.get(r.call_id)
        if call is None:
            unknown_calls.setdefault(r.call_id, []).append(r.line)
            continue
        criterion = call.criterion(r.criterion_id)
        if criterion is None:
            unknown_criteria.setdefault((r.criterion_id, call.scorecard_hash), (call, []))[1].append(r.line)
            continue
        if r.points is not None and criterion.weight is not None and r.points > criterion.weight + 1e-9:
            problems.append(_Problem(r.line, "points", f"{r.points:g} is more than the {criterion.weight:g} points {r.criterion_id!r} is worth"))
            continue
        key = (r.call_id, r.criterion_id, r.evaluator, r.evaluated_on)
        if key in seen:
            problems.append(_Problem(r.line, "criterion_id", f"repeats line {seen[key]} (same call, criterion, evaluator and date)"))
            continue
        seen[key] = r.line
        if r.total is not None:
            evaluation = (r.call_id, r.evaluator, r.evaluated_on)
            earlier = totals.setdefault(evaluation, (r.total, r.line))
            if earlier[0] != r.total:
                problems.append(_Problem(r.line, "total", f"{r.total:g} differs from the total {earlier[0]:g} on line {earlier[1]} for the same evaluation"))
                continue
        out.append(
            HumanEvaluation(
                call_id=r.call_id,
                criterion_id=r.criterion_id,
                evaluator=r.evaluator,
                evaluated_on=r.evaluated_on,
                verdict=r.verdict,
                points=r.points,
                total=r.total,
                comment=r.comment,
                source=shown,
                line=r.line,
            )
        )
    for call_id, lines in unknown_calls.items():
        problems.append(_Problem(lines[0], "call_id", f"{call_id!r} is not a scored call in {where} (run `qa run` on its recording first){_recurs(lines)}"))
    for (criterion_id, _), (call, lines) in unknown_criteria.items():
        known = ", ".join(c.criterion_id for c in call.criteria)
        problems.append(
            _Problem(lines[0], "criterion_id", f"{criterion_id!r} is not a criterion of scorecard {call.scorecard_name!r} (its criteria: {known}){_recurs(lines)}")
        )
    # A total given on one row of an evaluation holds for all its rows.
    filled = []
    for e in out:
        given = totals.get((e.call_id, e.evaluator, e.evaluated_on))
        filled.append(e if e.total is not None or given is None else replace(e, total=given[0]))
    return filled


def _recurs(lines: list[int]) -> str:
    if len(lines) == 1:
        return ""
    shown = ", ".join(str(n) for n in lines[1:4]) + (", …" if len(lines) > 4 else "")
    return f"; {len(lines)} rows, also line(s) {shown}"


def _message(shown: str, problems: list[_Problem]) -> str:
    problems = sorted(problems, key=lambda p: p.line)
    lines = [f"{shown}:{p.line}: {p.field}: {p.message}" for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        lines.append(f"… and {len(problems) - MAX_PROBLEMS} more")
    if len(problems) == 1:
        return f"{lines[0]}; nothing was imported"
    return f"{shown}: {len(problems)} problems, nothing was imported:\n  " + "\n  ".join(lines)
