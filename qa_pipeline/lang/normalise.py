"""The one text normaliser, driven by the language data files.

Every module that compares words — phrase matching, overlap and backchannel detection, the
hallucination guard, role cues, word error rate — normalises text with
:func:`normalise_text`; its keyword arguments say what a caller needs, so variants are
parameters, not separate normalisers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from qa_pipeline.lang.data import ALL, LanguageDataError, WerWords, load_language

APOSTROPHES = "'’‘`´"

Numbers = Literal["small", "spell", "keep"]

def is_cjk(ch: str) -> bool:
    """True for a CJK ideograph or kana, each of which is a token of its own."""
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0xF900 <= o <= 0xFAFF
        or 0x3040 <= o <= 0x30FF
        or 0x20000 <= o <= 0x2FA1F
    )


@dataclass(frozen=True)
class _Rules:
    """One language's normalisation tables, compiled once."""

    fillers: frozenset[str]
    contractions: dict[str, tuple[str, ...]]
    number_words: dict[str, tuple[str, ...]]
    suffixes: tuple[tuple[str, tuple[str, ...]], ...]
    possessive_is: frozenset[str]
    simplify: dict[int, str]
    wer: WerWords | None
    source: str


@lru_cache(maxsize=None)
def _rules(language: str, folder: str | None) -> _Rules:
    data = load_language(language, Path(folder) if folder else None)
    return _Rules(
        data.fillers,
        data.contractions,
        data.number_words,
        data.contraction_suffixes,
        data.possessive_is,
        str.maketrans(data.traditional_to_simplified),
        data.wer,
        data.source,
    )


_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
# In spelled-number mode a word splits at digit/letter boundaries, keeping ordinal endings.
_SPELL_PARTS = re.compile(r"\d+(?:st|nd|rd|th)?|[^\W\d_]+(?:'[^\W\d_]+)*")


def normalise_text(
    text: str,
    language: str = ALL,
    *,
    apostrophes: Literal["expand", "keep", "split"] = "expand",
    numbers: Numbers = "small",
    drop_fillers: bool = True,
    simplify: bool = True,
    split_cjk: bool = True,
    keep: str = "",
    directory: Path | None = None,
) -> tuple[str, ...]:
    """Text as lower-case word tokens: the one normaliser every module uses.

    Always: NFKC (full/half width), casefold, punctuation and symbols dropped (they separate
    words). The keyword arguments choose the rest; the defaults are phrase matching's.

    Args:
        text: Any text.
        language: Whose word lists apply; ``*`` (default) = every shipped language, for text
            of unknown or mixed language.
        apostrophes: ``expand`` contractions (``I'm`` → ``i am``, ``can't`` → ``can not``,
            possessive ``'s`` dropped, other apostrophes removed; the whole-word table also
            applies, ``ok`` → ``okay``); ``keep`` them inside words (``it's``); ``split``
            words at them.
        numbers: ``small``: digit strings of the ``number_words`` table spelled out (``2`` →
            ``two``), others kept; ``spell``: every number spelled in full (``1,250`` → ``one
            thousand two hundred fifty``, ``3rd`` → ``third``, ``007`` digit by digit; needs
            the language's ``wer`` section); ``keep``: digits as written.
        drop_fillers: Drop the language's fillers (``um``, ``嗯``).
        simplify: Write traditional Chinese characters in simplified script.
        split_cjk: Make every CJK character its own token (Chinese needs no segmenter).
        keep: Further characters that belong to words (``{}`` keeps ``{name}`` whole).
        directory: Folder of the language files; default: the shipped ones.

    Example:
        ``normalise_text("I'm SO sorry — um, can't help.")`` →
        ``('i', 'am', 'so', 'sorry', 'can', 'not', 'help')``.
    """
    rules = _rules(language, str(directory) if directory else None)
    text = unicodedata.normalize("NFKC", text).casefold()
    if simplify:
        text = text.translate(rules.simplify)
    if numbers == "spell":
        # Thousands separators inside numbers are not word breaks.
        text = _THOUSANDS.sub("", text)
    expand = apostrophes == "expand"
    in_word = "" if apostrophes == "split" else APOSTROPHES
    fillers = rules.fillers if drop_fillers else frozenset()
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        if not buf:
            return
        word = "".join(buf).strip("'")
        buf.clear()
        if numbers == "spell":
            words: tuple[str, ...] = tuple(_spell(part, rules) for part in _SPELL_PARTS.findall(word))
            tokens = tuple(t for w in words for t in w.split())
        elif expand:
            tokens = _expand(word, rules, numbers == "small")
        else:
            tokens = (word,) if word else ()
        out.extend(tok for tok in tokens if tok not in fillers)

    for ch in text:
        if ch in in_word:
            buf.append("'")
        elif split_cjk and is_cjk(ch):
            flush()
            if ch not in fillers:
                out.append(ch)
        elif ch.isalnum() or ch in keep:
            buf.append(ch)
        else:
            flush()
    flush()
    return tuple(out)


def _expand(word: str, rules: _Rules, small_numbers: bool) -> tuple[str, ...]:
    found = rules.contractions.get(word)
    if found is not None:
        return found
    if small_numbers:
        found = rules.number_words.get(word)
        if found is not None:
            return found
    if "'" in word:
        for suffix, tail in rules.suffixes:
            if word.endswith(suffix) and len(word) > len(suffix):
                return (word[: -len(suffix)],) + tail
        if word.endswith("'s"):
            base = word[:-2]
            return (base, "is") if base in rules.possessive_is else (base,)
        word = word.replace("'", "")
    return (word,) if word else ()


def _spell(part: str, rules: _Rules) -> str:
    """One word of spelled-number mode: digits in words, anything else as it is."""
    if not part[0].isdigit():
        return part
    wer = rules.wer
    if wer is None:
        raise LanguageDataError(f"{rules.source}: spelling numbers needs the key wer")
    digits = part.rstrip("stndrh")
    if digits != part:
        return ordinal_words(int(digits), wer)
    if len(part) > 1 and part.startswith("0"):
        return " ".join(wer.ones[int(d)] for d in part)
    return number_words(int(part), wer)


def number_words(n: int, wer: WerWords) -> str:
    """A whole number in words (``1250`` → ``one thousand two hundred fifty``); a number of
    a million or more (an account or phone number) is read digit by digit."""
    if n < 20:
        return wer.ones[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return wer.tens[tens - 2] + ("" if ones == 0 else " " + wer.ones[ones])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{wer.ones[hundreds]} {wer.hundred}" + ("" if rest == 0 else " " + number_words(rest, wer))
    if n < 1_000_000:
        thousands, rest = divmod(n, 1000)
        return f"{number_words(thousands, wer)} {wer.thousand}" + ("" if rest == 0 else " " + number_words(rest, wer))
    return " ".join(wer.ones[int(d)] for d in str(n))


def ordinal_words(n: int, wer: WerWords) -> str:
    """An ordinal in words (``3`` → ``third``, ``21`` → ``twenty first``)."""
    words = number_words(n, wer).split()
    last = words[-1]
    if last in wer.ordinals:
        words[-1] = wer.ordinals[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)
