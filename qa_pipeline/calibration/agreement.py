"""Agreement statistics: confusion matrices, percent agreement, Cohen's κ, and how two sets of
call totals relate (Pearson, Spearman, mean absolute difference).

Pure functions of pairs of ratings; the first of each pair is the reference rater (the
machine, or the first evaluator of a pair of people).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from qa_pipeline.calibration.records import LABELS, Agreement, Confusion, TotalsComparison

# Below this many calls a correlation says nothing (and with 2 it is always ±1).
MIN_CORRELATION_CALLS = 3


def confusion(pairs: Iterable[tuple[str, str]], labels: Sequence[str] = LABELS) -> Confusion:
    """Count ``(first, second)`` verdict pairs into a square matrix.

    Raises:
        ValueError: A verdict is not one of ``labels``.
    """
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for first, second in pairs:
        if first not in index or second not in index:
            raise ValueError(f"verdict pair ({first!r}, {second!r}) is outside {list(labels)}")
        counts[index[first]][index[second]] += 1
    return Confusion(tuple(labels), tuple(tuple(row) for row in counts))


def agreement_from_confusion(table: Confusion) -> Agreement:
    """Percent agreement and Cohen's κ of a confusion matrix.

    κ = (pₒ − pₑ) / (1 − pₑ) with pₒ the share of items on the diagonal and pₑ = Σₖ rₖ·cₖ / n²
    the agreement two raters with these verdict shares would reach by chance. When pₑ = 1
    both raters gave every item one and the same verdict: they agree completely, but there
    is no variation left to tell agreement from chance, so κ is undefined (None) rather
    than 1 or 0, and ``note`` says why.

    The interval is pₒ ± 1.96·√(pₒ(1 − pₒ) / (n(1 − pₑ)²)) carried over to κ (Cohen 1960's
    large-sample standard error): a guide to how much a κ from a few dozen calls can move.
    """
    counts = table.counts
    n = table.total
    if n == 0:
        return Agreement(0, 0, None, None, None, note="nothing to compare")
    agreed = sum(counts[i][i] for i in range(len(counts)))
    rows = [sum(r) for r in counts]
    cols = [sum(r[j] for r in counts) for j in range(len(counts))]
    # Integer sums keep κ exact for the textbook cases (0.4 comes out as 0.4).
    chance = sum(r * c for r, c in zip(rows, cols))
    observed = agreed / n
    expected = chance / (n * n)
    if chance == n * n:
        only = table.labels[rows.index(n)]
        return Agreement(
            n,
            agreed,
            observed,
            expected,
            None,
            note=f"both gave every one of the {n} verdicts as {only!r}: agreement is complete but κ is undefined "
            "(no variation to tell agreement from chance)",
        )
    kappa = (n * agreed - chance) / (n * n - chance)
    se = math.sqrt(observed * (1.0 - observed) / n) / (1.0 - expected)
    low = max(-1.0, kappa - 1.96 * se)
    high = min(1.0, kappa + 1.96 * se)
    return Agreement(n, agreed, observed, expected, kappa, low, high)


def agreement(pairs: Iterable[tuple[str, str]], labels: Sequence[str] = LABELS) -> Agreement:
    """Percent agreement and Cohen's κ of ``(first, second)`` verdict pairs.

    See :func:`agreement_from_confusion`.
    """
    return agreement_from_confusion(confusion(pairs, labels))


def compare_totals(pairs: Sequence[tuple[float, float]]) -> TotalsComparison:
    """How ``(first, second)`` call totals relate.

    Correlations need at least 3 calls and variation on both sides; otherwise they are None.
    The mean difference is first − second.
    """
    n = len(pairs)
    if n == 0:
        return TotalsComparison(0, None, None, None, None, None, None)
    first = [float(a) for a, _ in pairs]
    second = [float(b) for _, b in pairs]
    diffs = [a - b for a, b in zip(first, second)]
    mad = math.fsum(abs(d) for d in diffs) / n
    mean_diff = math.fsum(diffs) / n
    pearson_r = pearson_p = spearman_rho = spearman_p = None
    if n >= MIN_CORRELATION_CALLS and len(set(first)) > 1 and len(set(second)) > 1:
        from scipy import stats

        pr = stats.pearsonr(first, second)
        sr = stats.spearmanr(first, second)
        pearson_r, pearson_p = _finite(pr[0]), _finite(pr[1])
        spearman_rho, spearman_p = _finite(sr[0]), _finite(sr[1])
    return TotalsComparison(n, pearson_r, pearson_p, spearman_rho, spearman_p, mad, mean_diff)


def _finite(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None
