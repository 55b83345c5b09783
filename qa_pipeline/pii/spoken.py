"""Spoken and written numbers in recogniser words, read as digit strings.

Whisper writes the same spoken number many ways: ``4532 0151``, ``4532 -0151.``, ``4 ,556``,
``0 .151,``, ``four five three two``, ``forty five thirty two``, ``double four``, ``oh``,
``一九八五``. :func:`tokenize` turns a party's words into :class:`Piece` s — digit groups,
plain text and separators — each remembering the words it came from, so a number found in
the digits can be mapped back to the words that said it.

Punctuation inside and around digit groups (``,`` ``.`` ``-``) is read as a pause, not as a
decimal or thousands mark: recognisers put it between spoken groups of card and phone
numbers. Only a currency mark (``$``, ``dollars``…) makes a number an amount.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum
from typing import Sequence

from qa_pipeline.lang import load_languages


class PieceKind(str, Enum):
    DIGITS = "digits"
    TEXT = "text"
    SEP = "sep"


@dataclass(frozen=True, slots=True)
class Piece:
    """A digit group, a text token or a separator, with the words it spans.

    Attributes:
        kind: digits, text or sep.
        value: The digits, or the text lower-cased without surrounding punctuation.
        first: Index of the first word it came from.
        last: Index of the last word it came from.
        shape: For written digits, the word as written (``536-22-5525``); empty when spoken.
        amount: Marked as money (``$12``, ``€``, ``%``).
        plus: Written or said with a leading plus (international phone prefix).
    """

    kind: PieceKind
    value: str
    first: int
    last: int
    shape: str = ""
    amount: bool = False
    plus: bool = False


def _is_cjk(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"


# Spoken number words of every language file (``pii`` section). Chinese digits are read
# character by character, the others word by word.
_PII = load_languages().pii
UNITS = {w: v for w, v in _PII.digits.items() if not any(_is_cjk(ch) for ch in w)}
# "oh" and "o" are zero only next to other digits ("oh one five"), not in "oh, I see".
ZERO_LIKE = set(_PII.zero_like)
TEENS = dict(_PII.teens)
TENS = dict(_PII.tens)
REPEATS = dict(_PII.repeats)
HUNDRED = _PII.hundred
NUMBER_WORDS = set(UNITS) | ZERO_LIKE | set(TEENS) | set(TENS) | set(REPEATS) | ({HUNDRED} - {""})

CHINESE_DIGITS = {w: str(v) for w, v in _PII.digits.items() if len(w) == 1 and _is_cjk(w)}

# "%" marks an amount in any language.
CURRENCY_WORDS = set(_PII.currency_words) | {"%"}

_CURRENCY_MARK = re.compile(r"[$€£¥₹]|%$")
_WRITTEN_DIGITS = re.compile(r"[-.,+(]*\d[\d\-.,()]*")
_LEADING = "\"'[{«“‘"
_TRAILING = ".,!?;:\"')]}»”’…"



@dataclass(frozen=True, slots=True)
class _Atom:
    kind: str  # "num" written digits, "word" number word, "text", "sep"
    value: str
    index: int
    shape: str = ""
    amount: bool = False
    plus: bool = False


def normalise_word(text: str) -> str:
    """A word lower-cased, NFKC-normalised, without the punctuation around it.

    Not :func:`qa_pipeline.lang.normalise_text`: a word keeps the punctuation inside it,
    because a number's written shape (``536-22-5525``) and an address (``j.smith@x.com``)
    are what identify them.
    """
    t = unicodedata.normalize("NFKC", text).strip().lower()
    return t.strip(_LEADING + _TRAILING + "-")


def _atoms(text: str, index: int) -> list[_Atom]:
    raw = unicodedata.normalize("NFKC", text).strip()
    if not raw:
        return []
    if any(_is_cjk(ch) for ch in raw):
        return _cjk_atoms(raw, index)
    core = raw.lstrip(_LEADING).rstrip(_TRAILING)
    if not core or not any(ch.isalnum() for ch in core):
        return [_Atom("sep", core, index)]
    if any(ch.isdigit() for ch in core):
        if _CURRENCY_MARK.search(core):
            return [_Atom("num", re.sub(r"\D", "", core), index, core, amount=True)]
        if _WRITTEN_DIGITS.fullmatch(core):
            plus = core.lstrip("-.,(").startswith("+") or core.startswith("+")
            return [_Atom("num", re.sub(r"\D", "", core), index, core, plus=plus)]
        # Times (3:45), dates (03/04/1985), ordinals (3rd) and codes (AB12) stay text.
        return [_Atom("text", core.lower(), index, core)]
    lower = core.lower()
    parts = [p for p in lower.split("-") if p]
    if parts and all(p in NUMBER_WORDS for p in parts):
        return [_Atom("word", p, index) for p in parts]
    return [_Atom("text", lower.strip("-"), index, core)]


def _cjk_atoms(raw: str, index: int) -> list[_Atom]:
    atoms: list[_Atom] = []
    buf_kind, buf = "", []

    def flush() -> None:
        nonlocal buf_kind, buf
        if buf:
            value = "".join(buf)
            atoms.append(_Atom(buf_kind, value, index, value))
        buf_kind, buf = "", []

    for ch in raw:
        if ch.isdigit() and ch.isascii():
            kind, value = "num", ch
        elif ch in CHINESE_DIGITS:
            kind, value = "num", CHINESE_DIGITS[ch]
        elif ch.isalnum():
            kind, value = "text", ch.lower()
        else:
            kind, value = "sep", ch
        if kind != buf_kind:
            flush()
            buf_kind = kind
        buf.append(value)
    flush()
    return atoms


def _digitish(atom: _Atom | None) -> bool:
    return atom is not None and (atom.kind == "num" or (atom.kind == "word" and atom.value not in ZERO_LIKE))


def _neighbour(atoms: Sequence[_Atom], i: int, step: int) -> _Atom | None:
    # The nearest atom that is neither a separator nor another "oh".
    j = i + step
    while 0 <= j < len(atoms):
        a = atoms[j]
        if a.kind == "sep" or (a.kind == "word" and a.value in ZERO_LIKE):
            j += step
            continue
        return a
    return None


def _resolve_oh(atoms: list[_Atom]) -> list[_Atom]:
    out = []
    for i, a in enumerate(atoms):
        if a.kind == "word" and a.value in ZERO_LIKE:
            after = _neighbour(atoms, i, 1)
            # "five oh" and "oh five" are digits; "eighty five, oh I see" is not.
            if _digitish(after) or (_digitish(_neighbour(atoms, i, -1)) and (after is None or after.kind != "text")):
                a = _Atom("word", "zero", a.index)
            else:
                a = _Atom("text", a.value, a.index)
        out.append(a)
    return out


def _below_hundred(atoms: Sequence[_Atom], i: int) -> tuple[str, int] | None:
    """Digits of a number word phrase under 100 starting at ``atoms[i]`` and the atoms used."""
    a = atoms[i]
    if a.kind != "word":
        return None
    if a.value in TEENS:
        return str(TEENS[a.value]), 1
    if a.value in TENS:
        nxt = atoms[i + 1] if i + 1 < len(atoms) else None
        if nxt is not None and nxt.kind == "word" and nxt.value in UNITS and UNITS[nxt.value] > 0:
            return f"{TENS[a.value]}{UNITS[nxt.value]}", 2
        return f"{TENS[a.value]}0", 1
    if a.value in UNITS:
        return str(UNITS[a.value]), 1
    return None


def _phrase(atoms: Sequence[_Atom], i: int) -> tuple[str, int]:
    """Digits said by the number words starting at ``atoms[i]`` and how many atoms they use.

    Returns ``("", 0)`` when ``atoms[i]`` does not start a number.
    """
    a = atoms[i]
    if a.value in REPEATS:
        nxt = atoms[i + 1] if i + 1 < len(atoms) else None
        if nxt is not None and nxt.kind == "word" and nxt.value in UNITS:
            return str(UNITS[nxt.value]) * REPEATS[a.value], 2
        return "", 0
    head = _below_hundred(atoms, i)
    if head is None:
        return "", 0
    digits, used = head
    j = i + used
    if j < len(atoms) and atoms[j].kind == "word" and atoms[j].value == HUNDRED:
        j += 1
        if j + 1 < len(atoms) and atoms[j].kind == "text" and atoms[j].value == "and" and atoms[j + 1].kind == "word":
            j += 1
        rest = _below_hundred(atoms, j) if j < len(atoms) else None
        if rest is not None and atoms[j].value not in REPEATS and atoms[j].value != HUNDRED:
            return digits + rest[0].rjust(2, "0"), j + rest[1] - i
        return digits + "00", j - i
    return digits, used


def tokenize(texts: Sequence[str]) -> list[Piece]:
    """Read a party's words as digit groups, text and separators.

    Args:
        texts: The words in time order, as the recogniser wrote them.

    Returns:
        Pieces in order; every piece names the first and last word it came from.
    """
    atoms = _resolve_oh([a for i, t in enumerate(texts) for a in _atoms(t, i)])
    pieces: list[Piece] = []
    i = 0
    while i < len(atoms):
        a = atoms[i]
        if a.kind == "num":
            pieces.append(Piece(PieceKind.DIGITS, a.value, a.index, a.index, a.shape, a.amount, a.plus))
            i += 1
            continue
        if a.kind == "word":
            digits, used = _phrase(atoms, i)
            if used:
                pieces.append(Piece(PieceKind.DIGITS, digits, a.index, atoms[i + used - 1].index))
                i += used
                continue
            pieces.append(Piece(PieceKind.TEXT, a.value, a.index, a.index))
            i += 1
            continue
        kind = PieceKind.SEP if a.kind == "sep" else PieceKind.TEXT
        pieces.append(Piece(kind, a.value, a.index, a.index, a.shape))
        i += 1
    return _mark_money(pieces)


def _mark_money(pieces: list[Piece]) -> list[Piece]:
    """Mark digit groups said as money: ``$1 ,250``, ``1250 dollars``, ``plus 44`` → plus."""
    out = list(pieces)
    for n, p in enumerate(out):
        if p.kind is not PieceKind.DIGITS:
            continue
        prev = _adjacent(out, n, -1)
        nxt = _adjacent(out, n, 1)
        amount = p.amount
        if nxt is not None and nxt.kind is PieceKind.TEXT and nxt.value in CURRENCY_WORDS:
            amount = True
        if prev is not None and prev.kind is PieceKind.TEXT and prev.value in {"usd", "rmb", "eur", "gbp"}:
            amount = True
        if prev is not None and prev.kind is PieceKind.DIGITS and prev.amount and p.shape[:1] in {",", "."}:
            amount = True  # "$1 ,250": the amount goes on in the next word
        plus = p.plus or (prev is not None and prev.kind is PieceKind.TEXT and prev.value == "plus")
        if amount != p.amount or plus != p.plus:
            out[n] = Piece(p.kind, p.value, p.first, p.last, p.shape, amount, plus)
    return out


def _adjacent(pieces: Sequence[Piece], n: int, step: int) -> Piece | None:
    j = n + step
    while 0 <= j < len(pieces) and pieces[j].kind is PieceKind.SEP:
        j += step
    return pieces[j] if 0 <= j < len(pieces) else None
