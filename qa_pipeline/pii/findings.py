"""What a detector reports: an entity over a range of one party's words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from qa_pipeline.pii.options import Entity
from qa_pipeline.transcript import Word


@dataclass(frozen=True, slots=True)
class Finding:
    """Words ``first..last`` (inclusive indices into one party's word list) are an entity.

    Attributes:
        entity: What was found.
        first: Index of the first word.
        last: Index of the last word.
        rule: Why: ``luhn``, ``checksum``, ``valid``, ``format`` or ``context`` (a prompt
            before it), for tests and tuning.
    """

    entity: Entity
    first: int
    last: int
    rule: str


@dataclass(frozen=True)
class PartyWords:
    """One party's words in time order, as detectors see them.

    Attributes:
        words: The words.
        texts: Their texts (the same order).
    """

    words: Sequence[Word]

    @property
    def texts(self) -> list[str]:
        return [w.text for w in self.words]

    def gap(self, left: int, right: int) -> float:
        """Seconds of silence between word ``left`` and the later word ``right``."""
        return self.words[right].start - self.words[left].end
