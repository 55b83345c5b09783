"""Dates of birth: a date said near "born", "date of birth", "birthday", "出生"…

Only dates with such a cue are redacted; a due date or an appointment stays. A date is a run
of date words — month names, day numbers and ordinals, years (``1985``, ``nineteen eighty
five``), numeric dates (``03/04/1985``, ``1985-03-04``) and Chinese dates (``1985年3月3日``,
``一九八五年三月三日``) — holding at least a numeric date, a year, or a month with a day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from qa_pipeline.lang import load_languages
from qa_pipeline.pii.findings import Finding
from qa_pipeline.pii.options import Entity
from qa_pipeline.pii.spoken import Piece, PieceKind

_PII = load_languages().pii
MONTHS = _PII.months
ORDINAL_WORDS = _PII.ordinal_words
CONNECTORS = _PII.date_connectors
_ORDINAL = re.compile(r"\d{1,2}(st|nd|rd|th)")
_NUMERIC_DATE = re.compile(r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}|\d{1,2}/\d{2,4}|'\d{2}")
_CJK_DATE = re.compile(r"[年月日号]")


@dataclass
class _Date:
    first: int  # piece indices
    last: int
    strong: bool = False  # numeric or Chinese date, or a year
    month: bool = False
    day: bool = False


def _kind(p: Piece) -> str | None:
    """How a piece can be part of a date: year, day, month, date (complete), joiner, or None."""
    if p.kind is PieceKind.DIGITS:
        if p.amount:
            return None
        v = p.value
        if len(v) == 4 and v[:2] in ("19", "20"):
            return "year"
        if len(v) <= 2:
            return "day"
        if len(v) == 8 and v[:2] in ("19", "20") and p.shape and not p.shape.isdigit():
            return "date"  # 1985-03-04 written as one word
        return None
    if p.kind is PieceKind.SEP:
        return "joiner"
    v = p.value
    if v in MONTHS:
        return "month"
    if v in ORDINAL_WORDS or _ORDINAL.fullmatch(v):
        return "day"
    if _NUMERIC_DATE.fullmatch(v) or _NUMERIC_DATE.fullmatch(p.shape or ""):
        return "date"
    if _CJK_DATE.match(v):
        return "cjk"
    if v in CONNECTORS:
        return "joiner"
    return None


def _dates(pieces: Sequence[Piece]) -> list[_Date]:
    dates: list[_Date] = []
    current: _Date | None = None
    prev_digits = ""
    for n, p in enumerate(pieces):
        kind = _kind(p)
        if kind == "cjk" and (current is None or prev_digits == ""):
            kind = None  # 年, 月, 日 count only right after a number (日期 is "date", not a date)
        if kind is None:
            if current is not None:
                dates.append(current)
            current, prev_digits = None, ""
            continue
        if kind == "joiner":
            if current is not None and p.value == "thousand" and prev_digits == "2":
                current.strong = True  # "two thousand and five"
            continue
        if current is None:
            current = _Date(n, n)
        current.last = n
        if kind in ("date", "year", "cjk"):
            current.strong = True
        elif kind == "month":
            current.month = True
        elif kind == "day":
            current.day = True
            if prev_digits in ("19", "20"):
                current.strong = True  # "nineteen eighty five": a year said in parts
        prev_digits = p.value if p.kind is PieceKind.DIGITS else ""
    if current is not None:
        dates.append(current)
    return [d for d in dates if d.strong or (d.month and d.day)]


def dob_findings(
    pieces: Sequence[Piece], has_cue: Callable[[int, int], bool]
) -> list[Finding]:
    """Dates of birth among one party's pieces.

    Args:
        pieces: The party's pieces (see :func:`qa_pipeline.pii.spoken.tokenize`).
        has_cue: Tells whether a date-of-birth cue is near the words ``first..last``.
    """
    findings = []
    for d in _dates(pieces):
        first, last = pieces[d.first].first, pieces[d.last].last
        if has_cue(first, last):
            findings.append(Finding(Entity.DOB, first, last, "context"))
    return findings
