"""Numbers that are personal data: card, phone, SSN, Chinese ID, IBAN, account numbers, CVVs.

A party's digit groups are joined into *runs* (groups with only pauses or separators between
them, however the recogniser split them). A run is personal data when:

- it passes the entity's checksum or validity rule (Luhn with a card-issuer prefix, the
  Chinese ID check digit and birth date, a valid phone number for the region, a formatted
  SSN): python-stdnum and phonenumbers decide; or
- a prompt just before it says what it is ("card number", "security code", "account
  number") and its length fits. A recogniser that drops one digit of a card number makes
  it fail Luhn, yet fifteen of sixteen digits are still a leak.

A prompt such as "order number" or "balance" before a run keeps it, as do amounts (``$``,
``dollars``); times (``3:45``) and dates (``03/04``) are text, not digit groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from qa_pipeline.lang import load_languages
from qa_pipeline.pii.context import CueIndex
from qa_pipeline.pii.findings import Finding, PartyWords
from qa_pipeline.pii.options import Entity, RedactionOptions
from qa_pipeline.pii.spoken import Piece, PieceKind

_PII = load_languages().pii
# Words said between the groups of one number without ending it.
FILLERS = _PII.number_fillers

# Card numbers start with 2 (Mastercard 2-series), 3 (Amex, JCB, Diners), 4 (Visa),
# 5 (Mastercard, Maestro) or 6 (Discover, UnionPay, Maestro).
CARD_PREFIXES = frozenset("23456")
_SSN_SHAPE = re.compile(r"\d{3}-\d{2}-\d{4}")
# The spoken letter X, the last character of some Chinese ID numbers.
_CN_ID_X = _PII.letter_x
_IBAN_START = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]*")


def _iban_prefix_ok(text: str) -> bool:
    # Country code (two letters), then two check digits.
    return all(ch.isalpha() if k < 2 else ch.isdigit() for k, ch in enumerate(text[:4]))


@dataclass(frozen=True)
class Run:
    """Digit groups read as one number.

    Attributes:
        pieces: The digit pieces, in order.
        x_word: Index of a word "X" right after the digits (last character of a Chinese ID).
    """

    pieces: tuple[Piece, ...]
    x_word: int | None = None

    @property
    def digits(self) -> str:
        return "".join(p.value for p in self.pieces)

    @property
    def first(self) -> int:
        return self.pieces[0].first

    @property
    def last(self) -> int:
        return self.pieces[-1].last

    @property
    def amount(self) -> bool:
        return any(p.amount for p in self.pieces)

    @property
    def plus(self) -> bool:
        return self.pieces[0].plus

    def split(self, at: int) -> tuple["Run", "Run"]:
        return Run(self.pieces[:at]), Run(self.pieces[at:], self.x_word)


def digit_runs(
    pieces: Sequence[Piece],
    party: PartyWords,
    max_gap_seconds: float,
    interrupted: Callable[[float, float], bool] | None = None,
) -> list[Run]:
    """Join a party's digit pieces into runs (see the module docstring).

    Args:
        pieces: The party's pieces.
        party: The party's words (for their times).
        max_gap_seconds: Groups further apart are separate numbers.
        interrupted: Tells whether the other party said something (more than "uh-huh") between
            two moments; such groups are separate numbers (a card number, then the answer
            to "and the security code?").
    """
    runs: list[Run] = []
    current: list[Piece] = []
    bridge_ok = True
    for p in pieces:
        if p.kind is PieceKind.DIGITS:
            joined = current and bridge_ok and party.gap(current[-1].last, p.first) <= max_gap_seconds
            if joined and interrupted is not None:
                joined = not interrupted(party.words[current[-1].last].end, party.words[p.first].start)
            if joined:
                current.append(p)
            else:
                if current:
                    runs.append(Run(tuple(current)))
                current = [p]
            bridge_ok = True
            continue
        if p.kind is PieceKind.SEP or p.value in FILLERS:
            continue
        if current and bridge_ok and p.value in _CN_ID_X and sum(len(q.value) for q in current) == 17:
            runs.append(Run(tuple(current), x_word=p.first))
            current = []
            continue
        bridge_ok = False
    if current:
        runs.append(Run(tuple(current)))
    return runs


def _luhn(digits: str) -> bool:
    from stdnum import luhn

    return luhn.is_valid(digits)


def _cn_id(number: str) -> bool:
    from stdnum.cn import ric

    return ric.is_valid(number)


def _ssn(digits: str) -> bool:
    from stdnum.us import ssn

    return ssn.is_valid(digits)


def _phone(digits: str, plus: bool, region: str, possible_only: bool) -> bool:
    import phonenumbers

    try:
        number = phonenumbers.parse(("+" if plus else "") + digits, None if plus else region)
    except phonenumbers.NumberParseException:
        return False
    if possible_only:
        return phonenumbers.is_possible_number(number)
    return phonenumbers.is_valid_number(number)


def _validated(run: Run, active: frozenset[Entity], cue: str | None, region: str) -> tuple[Entity, str, bool] | None:
    """The entity a whole run is by its checksum or format: (entity, rule, uses the X word)."""
    digits = run.digits
    n = len(digits)
    if Entity.CN_ID in active:
        if n == 18 and _cn_id(digits):
            return Entity.CN_ID, "checksum", False
        if n == 17 and run.x_word is not None and _cn_id(digits + "X"):
            return Entity.CN_ID, "checksum", True
    if cue == "negative":
        return None
    if Entity.CARD in active and 13 <= n <= 19 and digits[0] in CARD_PREFIXES and _luhn(digits):
        return Entity.CARD, "luhn", False
    if Entity.SSN in active and n == 9 and _ssn(digits):
        lengths = [len(p.value) for p in run.pieces]
        shaped = lengths == [3, 2, 4] or (len(run.pieces) == 1 and bool(_SSN_SHAPE.fullmatch(run.pieces[0].shape)))
        if (shaped and cue is None) or cue == "ssn":
            return Entity.SSN, "format", False
    if Entity.PHONE in active and 7 <= n <= 15:
        # A leading plus or a phone prompt: a number of a possible length is enough.
        if (cue == "phone" or run.plus) and _phone(digits, run.plus, region, possible_only=True):
            return Entity.PHONE, "valid", False
        if (n >= 10 or run.plus) and _phone(digits, run.plus, region, possible_only=False):
            return Entity.PHONE, "valid", False
    return None


# Lengths a run may have when only a prompt says what it is.
_CONTEXT_RULES: dict[str, tuple[Entity, int, int]] = {
    "card": (Entity.CARD, 12, 23),
    "phone": (Entity.PHONE, 7, 15),
    # Recognisers drop or repeat digits of a number read in groups ("53622 552 525").
    "ssn": (Entity.SSN, 8, 12),
    "account": (Entity.BANK_ACCOUNT, 6, 20),
    "id": (Entity.CN_ID, 15, 18),
    "cvv": (Entity.CVV, 3, 4),
}


_NUMBER_CUES: frozenset[str] = frozenset(_CONTEXT_RULES) | {"negative"}


def _by_context(run: Run, active: frozenset[Entity], cue: str | None, options: RedactionOptions) -> Entity | None:
    if cue is None or cue not in _CONTEXT_RULES:
        return None
    entity, low, high = _CONTEXT_RULES[cue]
    if entity not in active or not low <= len(run.digits) <= high:
        return None
    if entity is Entity.CARD and not options.card_context:
        return None
    return entity


def number_findings(
    pieces: Sequence[Piece],
    party: PartyWords,
    cues: CueIndex,
    options: RedactionOptions,
    active: frozenset[Entity],
    interrupted: Callable[[float, float], bool] | None = None,
) -> list[Finding]:
    """Card, phone, SSN, Chinese ID, account and CVV numbers among one party's words."""
    findings: list[Finding] = []
    for run in digit_runs(pieces, party, options.max_gap_seconds, interrupted):
        if run.amount:
            continue
        start = party.words[run.first].start
        # Only prompts for numbers count: in "your SSN and date of birth?" the nearest cue is
        # the date's, which says nothing about the digits that follow.
        nearest = cues.nearest(start, options.context_seconds, _NUMBER_CUES)
        cue = None if nearest is None else nearest.kind
        findings.extend(_run_findings(run, active, cue, options))
    return findings


def _run_findings(run: Run, active: frozenset[Entity], cue: str | None, options: RedactionOptions) -> list[Finding]:
    found = _validated(run, active, cue, options.default_region)
    prompted = _by_context(run, active, cue, options)
    if found is not None and prompted is not None and found[0] is not prompted and found[1] != "checksum":
        # "Account number: 2125550187" is an account number, though it would be a valid phone.
        found = None
    if found is not None:
        entity, rule, with_x = found
        last = run.x_word if with_x and run.x_word is not None else run.last
        return [Finding(entity, run.first, last, rule)]
    if prompted is not None:
        last = run.x_word if run.x_word is not None and prompted is Entity.CN_ID else run.last
        return [Finding(prompted, run.first, last, "context")]
    if cue == "negative" or len(run.pieces) < 2 or len(run.digits) < 16:
        return []
    # A card number and a short number in one breath (its expiry, its CVV): a validated
    # part of 15 digits or more on one side of a split point; the rest is judged on its own.
    for at in range(1, len(run.pieces)):
        left, right = run.split(at)
        for part, other in ((left, right), (right, left)):
            if not (15 <= len(part.digits) and len(other.digits) <= 6):
                continue
            hit = _validated(part, active, None, options.default_region)
            if hit is not None and hit[0] in (Entity.CARD, Entity.CN_ID):
                last = part.x_word if hit[2] and part.x_word is not None else part.last
                return [Finding(hit[0], part.first, last, hit[1])] + _run_findings(other, active, cue, options)
    return []


def iban_findings(pieces: Sequence[Piece], party: PartyWords, options: RedactionOptions) -> list[Finding]:
    """IBANs, written (``GB82 WEST 1234…``) or spelled out, validated by their check digits."""
    from stdnum import iban

    chars: list[tuple[str, Piece]] = []
    for p in pieces:
        if p.kind is PieceKind.SEP:
            continue
        if p.kind is PieceKind.DIGITS and not p.amount:
            chars.append((p.value, p))
        elif p.kind is PieceKind.TEXT and p.value.isascii() and p.value.isalnum() and len(p.value) <= 8:
            chars.append((p.value.upper(), p))
        else:
            chars.append(("", p))  # ends any IBAN
    findings: list[Finding] = []
    i = 0
    while i < len(chars):
        best = None
        text = ""
        for j in range(i, len(chars)):
            part, piece = chars[j]
            if not part or (j > i and party.gap(chars[j - 1][1].last, piece.first) > options.max_gap_seconds):
                break
            text += part
            if len(text) > 34 or not _iban_prefix_ok(text):
                break
            if len(text) >= 15 and _IBAN_START.fullmatch(text) and iban.is_valid(text):
                best = j
        if best is not None:
            findings.append(Finding(Entity.IBAN, chars[i][1].first, chars[best][1].last, "checksum"))
            i = best + 1
        else:
            i += 1
    return findings
