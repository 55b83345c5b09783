"""Prompts that say what the next number is: "card number", "security code", "出生"…

A number without a checksum (a CVV, an account number, a phone number the recogniser got one
digit wrong) is only recognisable by what was said just before it, by either party: the agent
asks "and the security code on the back?", the customer answers "seven three one". The
nearest cue before a number decides; cues such as "order number" or "balance" say that the
number is not personal data.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Iterable, Sequence

from qa_pipeline.lang import load_languages
from qa_pipeline.pii.spoken import normalise_word

# Cue phrases by kind, lower case, as spoken (multi-word phrases match consecutive words):
# every language file's ``pii.cues``.
CUES: dict[str, tuple[str, ...]] = dict(load_languages().pii.cues)

def _has_cjk(text: str) -> bool:
    return any("\u3000" <= ch <= "\u9fff" for ch in text)


_PHRASES: list[tuple[tuple[str, ...], str]] = sorted(
    ((tuple(p.split()), kind) for kind, phrases in CUES.items() for p in phrases if not _has_cjk(p)),
    key=lambda item: -len(item[0]),
)
_CJK_CUES: list[tuple[str, str]] = sorted(
    ((p, kind) for kind, phrases in CUES.items() for p in phrases if _has_cjk(p)), key=lambda item: -len(item[0])
)


def cue_at(tokens: Sequence[str], k: int) -> str | None:
    """The kind of cue that ends at ``tokens[k]`` (longest phrase first), or None."""
    for phrase, kind in _PHRASES:
        n = len(phrase)
        if k - n + 1 >= 0 and tuple(tokens[k - n + 1 : k + 1]) == phrase:
            return kind
    if _has_cjk(tokens[k]):
        # Chinese may come one character per word: look at the last few words joined too.
        joined = "".join(tokens[max(0, k - 5) : k + 1])
        for cue, kind in _CJK_CUES:
            if cue in tokens[k] or joined.endswith(cue):
                return kind
    return None


@dataclass(frozen=True)
class Cue:
    """The nearest cue before a moment: its kind and how many words back it was."""

    kind: str
    distance: int


class CueIndex:
    """Every word of a call (both parties) in time order, for "what was just asked" queries.

    Args:
        words: ``(start, text)`` of every word of the call.
    """

    def __init__(self, words: Iterable[tuple[float, str]]) -> None:
        ordered = sorted(words, key=lambda w: w[0])
        self.starts = [s for s, _ in ordered]
        self.tokens = [normalise_word(t) for _, t in ordered]

    def nearest(self, before: float, window_seconds: float, kinds: frozenset[str] | None = None) -> Cue | None:
        """The nearest cue among the words starting in ``[before - window, before)``.

        Args:
            before: The moment (seconds), usually the start of a number.
            window_seconds: How far back to look.
            kinds: Only these kinds count; None = all.
        """
        hi = bisect.bisect_left(self.starts, before - 1e-6)
        lo = bisect.bisect_left(self.starts, before - window_seconds)
        for k in range(hi - 1, lo - 1, -1):
            kind = cue_at(self.tokens, k)
            if kind is not None and (kinds is None or kind in kinds):
                return Cue(kind, hi - 1 - k)
        return None

    def following(self, after: float, window_seconds: float, kinds: frozenset[str]) -> Cue | None:
        """The first cue of ``kinds`` among the words starting in ``(after, after + window]``."""
        lo = bisect.bisect_right(self.starts, after + 1e-6)
        hi = bisect.bisect_right(self.starts, after + window_seconds)
        for k in range(lo, hi):
            kind = cue_at(self.tokens, k)
            if kind in kinds:
                return Cue(kind, k - lo)
        return None
