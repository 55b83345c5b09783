"""Accuracy metrics for recognised text: word error rate with text normalisation.

Reference scripts and recogniser output differ in ways that are not recognition errors —
case, punctuation, "3" against "three", "OK" against "okay" — so both sides are normalised
before words are aligned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from qa_pipeline.lang import load_languages, normalise_text

def normalise_words(text: str) -> list[str]:
    """Words for scoring recognition: the one normaliser with every number spelled out and
    apostrophes kept inside words, then the language files' ``wer.spellings`` applied.

    ``"It's 3 o'clock, OK?"`` gives ``["it's", "three", "o'clock", "okay"]``; ``"3rd"`` gives
    ``["third"]``; ``"1,250"`` gives ``["one", "thousand", "two", "hundred", "fifty"]``.
    """
    spellings = _spellings()
    words = normalise_text(text, apostrophes="keep", numbers="spell", drop_fillers=False, simplify=False)
    return [out for word in words for out in spellings.get(word, (word,))]


@lru_cache(maxsize=1)
def _spellings() -> dict[str, tuple[str, ...]]:
    wer = load_languages().wer
    return {k: tuple(v.split()) for k, v in wer.spellings.items()} if wer is not None else {}


@dataclass(frozen=True)
class WordErrors:
    """Alignment counts of a hypothesis against a reference.

    Attributes:
        substitutions: Reference words recognised as another word.
        deletions: Reference words missing from the hypothesis.
        insertions: Hypothesis words with no reference word.
        reference_words: Number of reference words after normalisation.
    """

    substitutions: int
    deletions: int
    insertions: int
    reference_words: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """Errors per reference word; with an empty reference, 0.0 if nothing was inserted, else 1.0."""
        if self.reference_words == 0:
            return 0.0 if self.insertions == 0 else 1.0
        return self.errors / self.reference_words

    def __add__(self, other: WordErrors) -> WordErrors:
        return WordErrors(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.reference_words + other.reference_words,
        )


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    """Align two texts word by word (minimum edit distance) and count the errors.

    Sum the results of several texts with ``+`` for a corpus-level rate.
    """
    return _align(normalise_words(reference), normalise_words(hypothesis))


def _align(ref: list[str], hyp: list[str]) -> WordErrors:
    # Each cell holds (cost, substitutions, deletions, insertions); ties prefer substitutions,
    # which is how the usual scoring tools count.
    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i in range(1, len(ref) + 1):
        cur = [(i, 0, i, 0)]
        for j in range(1, len(hyp) + 1):
            if ref[i - 1] == hyp[j - 1]:
                cur.append(prev[j - 1])
                continue
            sub = prev[j - 1]
            dele = prev[j]
            ins = cur[j - 1]
            best = min(
                (sub[0] + 1, 0, sub),
                (dele[0] + 1, 1, dele),
                (ins[0] + 1, 2, ins),
            )
            cost, kind, base = best
            cur.append(
                (
                    cost,
                    base[1] + (kind == 0),
                    base[2] + (kind == 1),
                    base[3] + (kind == 2),
                )
            )
        prev = cur
    _, s, d, n = prev[-1]
    return WordErrors(substitutions=s, deletions=d, insertions=n, reference_words=len(ref))


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` after normalisation.

    Args:
        reference: What was said.
        hypothesis: What was recognised.

    Returns:
        (substitutions + deletions + insertions) / reference words; may exceed 1.0 when the
        hypothesis has many extra words. An empty reference gives 0.0 against an empty
        hypothesis and 1.0 otherwise.
    """
    return word_errors(reference, hypothesis).rate


def corpus_word_error_rate(pairs: Iterable[tuple[str, str]]) -> float:
    """Word error rate over many (reference, hypothesis) pairs, weighted by reference length."""
    total = WordErrors(0, 0, 0, 0)
    for reference, hypothesis in pairs:
        total = total + word_errors(reference, hypothesis)
    return total.rate
