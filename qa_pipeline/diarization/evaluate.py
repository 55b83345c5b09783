"""Diarization error rate and word-level speaker accuracy against a known truth.

DER follows the usual definition: (missed speech + false alarm + speaker confusion) divided
by the reference speech time, counted on a 10 ms grid, with a no-score collar around every
reference boundary and the hypothesis speakers mapped one-to-one onto the reference
speakers so as to agree the most.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Hashable, Sequence

import numpy as np

STEP_SECONDS = 0.01


@dataclass(frozen=True)
class DiarizationError:
    """DER and its parts, in seconds of scored reference speech.

    Attributes:
        scored_seconds: Reference speech outside the collars (counted once per speaker).
        missed_seconds: Reference speech with no hypothesis speaker.
        false_alarm_seconds: Hypothesis speech where the reference has fewer speakers.
        confusion_seconds: Speech given to the wrong speaker.
        mapping: Hypothesis speaker → reference speaker.
    """

    scored_seconds: float
    missed_seconds: float
    false_alarm_seconds: float
    confusion_seconds: float
    mapping: dict[Hashable, Hashable]

    @property
    def der(self) -> float:
        if self.scored_seconds <= 0:
            return 0.0
        return (self.missed_seconds + self.false_alarm_seconds + self.confusion_seconds) / self.scored_seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "der": round(self.der, 4),
            "scored_seconds": round(self.scored_seconds, 3),
            "missed_seconds": round(self.missed_seconds, 3),
            "false_alarm_seconds": round(self.false_alarm_seconds, 3),
            "confusion_seconds": round(self.confusion_seconds, 3),
            "mapping": {str(k): str(v) for k, v in self.mapping.items()},
        }


Segment = tuple[Hashable, float, float]


def _grid(segments: Sequence[Segment], labels: list[Hashable], n: int) -> np.ndarray:
    grid = np.zeros((n, len(labels)), dtype=bool)
    index = {lab: i for i, lab in enumerate(labels)}
    for lab, start, end in segments:
        a, b = int(round(start / STEP_SECONDS)), int(round(end / STEP_SECONDS))
        grid[max(0, a) : min(n, b), index[lab]] = True
    return grid


def diarization_error(
    reference: Sequence[Segment], hypothesis: Sequence[Segment], collar_seconds: float = 0.25
) -> DiarizationError:
    """Compare speaker segments.

    Args:
        reference: ``(speaker, start, end)`` of the true speech; parties may overlap.
        hypothesis: ``(speaker, start, end)`` found by diarization.
        collar_seconds: Time on each side of every reference boundary left out of scoring.

    Returns:
        The error, with the speaker mapping that minimises it.
    """
    end = max([e for _, _, e in list(reference) + list(hypothesis)], default=0.0)
    n = int(round(end / STEP_SECONDS)) + 1
    ref_labels = sorted({s for s, _, _ in reference}, key=str)
    hyp_labels = sorted({s for s, _, _ in hypothesis}, key=str)
    ref = _grid(reference, ref_labels, n)
    hyp = _grid(hypothesis, hyp_labels, n)
    scored = np.ones(n, dtype=bool)
    c = int(round(collar_seconds / STEP_SECONDS))
    if c > 0:
        for _, start, stop in reference:
            for t in (start, stop):
                i = int(round(t / STEP_SECONDS))
                scored[max(0, i - c) : min(n, i + c)] = False
    ref, hyp = ref[scored], hyp[scored]
    agree = ref.T.astype(np.int64) @ hyp.astype(np.int64)  # (ref, hyp) co-occurrence frames
    best_total, best_map = -1, {}
    # Exhaustive search is fine for the handful of speakers of a phone call.
    if len(hyp_labels) <= len(ref_labels):
        candidates = (list(enumerate(p)) for p in itertools.permutations(range(len(ref_labels)), len(hyp_labels)))
    else:
        candidates = ([(h, r) for r, h in enumerate(p)] for p in itertools.permutations(range(len(hyp_labels)), len(ref_labels)))
    for pairs in candidates:
        total = sum(int(agree[r, h]) for h, r in pairs)
        if total > best_total:
            best_total, best_map = total, {hyp_labels[h]: ref_labels[r] for h, r in pairs}
    n_ref = ref.sum(axis=1)
    n_hyp = hyp.sum(axis=1)
    correct = np.zeros(ref.shape[0], dtype=np.int64)
    for h, r in best_map.items():
        correct += ref[:, ref_labels.index(r)] & hyp[:, hyp_labels.index(h)]
    missed = np.maximum(n_ref - n_hyp, 0).sum()
    false_alarm = np.maximum(n_hyp - n_ref, 0).sum()
    confusion = (np.minimum(n_ref, n_hyp) - correct).sum()
    return DiarizationError(
        scored_seconds=float(n_ref.sum() * STEP_SECONDS),
        missed_seconds=float(missed * STEP_SECONDS),
        false_alarm_seconds=float(false_alarm * STEP_SECONDS),
        confusion_seconds=float(confusion * STEP_SECONDS),
        mapping=best_map,
    )
