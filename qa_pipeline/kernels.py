"""The inner loops of scoring, over plain lists, tuples, sets and dicts.

Phrase matching (:mod:`qa_pipeline.textmatch`) runs the alignment loops here for every anchor
hit of every call, and call characteristics (:mod:`qa_pipeline.characteristics`) the loops
over turns. They touch no class of the project, so this one module can be compiled with
mypyc for speed::

    mypyc qa_pipeline/kernels.py

which puts ``qa_pipeline/kernels.<platform>.so`` (and a ``kernels__mypyc`` library) next to
this file and a ``build/`` folder at the top. Python then imports the compiled module instead
of this one: the results are identical and scoring takes about 17% less time (alignment about
three times less). Without a build, or when this file is newer than the build, the library runs
this file as it is (see :func:`qa_pipeline.textmatch.load_kernels`).
"""

from __future__ import annotations

import bisect
from itertools import compress
from operator import itemgetter
from typing import Callable

# (phrase index, anchor index in the phrase, similarity of the spoken token to the anchor).
AnchorHit = tuple[int, int, float]
# (phrase index, first token, last token, score).
Span = tuple[int, int, int, float]
# A phrase as the aligner reads it: (tokens, length, edit budget, free insertions).
Shape = tuple[tuple[str, ...], int, int, int]
# The anchor hits of one token, by phrase set: ((set id, (AnchorHit, ...)), ...).
TokenHits = tuple[tuple[int, tuple[AnchorHit, ...]], ...]


def group_hits(found: list[TokenHits]) -> dict[int, tuple[list[int], list[tuple[AnchorHit, ...]]]]:
    """Regroup per-token anchor hits by phrase set: set id → (token positions, hits at each).

    Args:
        found: For each token of a track, its anchor hits (empty where none).
    """
    out: dict[int, tuple[list[int], list[tuple[AnchorHit, ...]]]] = {}
    for pos in compress(range(len(found)), found):
        for sid, hits in found[pos]:
            entry = out.get(sid)
            if entry is None:
                out[sid] = ([pos], [hits])
            else:
                entry[0].append(pos)
                entry[1].append(hits)
    return out


def align_range(
    aligned: list[list[Span] | None],
    positions: list[int],
    groups: list[tuple[AnchorHit, ...]],
    k_lo: int,
    k_hi: int,
    tokens: list[str],
    breaks: frozenset[int],
    shapes: tuple[Shape, ...],
    threshold: float,
    sim_cache: dict[tuple[str, str], float],
    similarity: Callable[[str, str], float],
    protected: frozenset[str],
    negations: frozenset[str],
) -> list[Span]:
    """The matched spans of the hit positions ``k_lo`` … ``k_hi - 1`` of one phrase set, in order.

    Each position is aligned once (:func:`align_hits`) and kept in ``aligned`` (None = not
    aligned yet), however many windows ask about it.
    """
    spans: list[Span] = []
    for k in range(k_lo, k_hi):
        found = aligned[k]
        if found is None:
            found = align_hits(
                tokens, breaks, shapes, threshold, positions[k], groups[k], sim_cache, similarity, protected,
                negations,
            )
            aligned[k] = found
        if found:
            spans.extend(found)
    return spans


def align_hits(
    tokens: list[str],
    breaks: frozenset[int],
    shapes: tuple[Shape, ...],
    threshold: float,
    pos: int,
    hits: tuple[AnchorHit, ...],
    sim_cache: dict[tuple[str, str], float],
    similarity: Callable[[str, str], float],
    protected: frozenset[str],
    negations: frozenset[str],
) -> list[Span]:
    """Align phrases around their anchor hits at token ``pos``; the matched spans, in hit order.

    Greedy, from the anchor outwards: forward over the words after it, then backward over
    the words before it. At each step the phrase word is matched, or (within the budget) an
    extra spoken word is skipped, or the phrase word is taken as missing or misheard.

    Args:
        tokens: The speaker's tokens.
        breaks: Token indices preceded by a pause longer than the policy allows.
        shapes: Each phrase of the set as (tokens, length, edit budget, free insertions).
        threshold: The policy's token similarity.
        pos: The token the hits are at.
        hits: The anchor hits there.
        sim_cache: Known similarities of (spoken token, phrase token) pairs.
        similarity: Computes (and caches) a similarity missing from ``sim_cache``.
        protected: Phrase words that may never be missing or misheard.
        negations: Spoken words that may never be skipped as extra: one flips the meaning.
    """
    out: list[Span] = []
    n_tokens = len(tokens)
    for pi, j, total in hits:
        if total < threshold:
            continue
        shape = shapes[pi]
        ptoks = shape[0]
        n = shape[1]
        edits = shape[2]
        free = shape[3]
        used = 0
        matched = True

        # Forward: phrase words j+1 … n-1 against tokens pos+1 …
        last = pos
        i = j + 1
        t = pos + 1
        while i < n:
            if t >= n_tokens or t in breaks:  # the call ends, or a long pause before token t
                matched = False
                break
            want = ptoks[i]
            tok = tokens[t]
            if tok == want:
                sim = 1.0
            else:
                cached = sim_cache.get((tok, want))
                sim = similarity(tok, want) if cached is None else cached
            if sim >= threshold:
                total += sim
                last = t
                i += 1
                t += 1
                continue
            if (free or edits) and t + 1 < n_tokens and (t + 1) not in breaks and tok not in negations:
                tok = tokens[t + 1]
                if tok == want:
                    sim = 1.0
                else:
                    cached = sim_cache.get((tok, want))
                    sim = similarity(tok, want) if cached is None else cached
                if sim >= threshold:
                    if free:
                        free -= 1
                    else:
                        edits -= 1
                    used += 1
                    t += 1  # an extra word was said
                    continue
            if edits and i != n - 1 and want not in protected:
                edits -= 1
                used += 1
                # The phrase word was misheard as this token, unless the token is the next
                # phrase word (then it was not said at all).
                misheard = True
                if i + 1 < n:
                    tok = tokens[t]
                    want = ptoks[i + 1]
                    if tok == want:
                        misheard = False
                    else:
                        cached = sim_cache.get((tok, want))
                        misheard = not (similarity(tok, want) if cached is None else cached) >= threshold
                if misheard:
                    t += 1
                i += 1
                continue
            matched = False
            break
        if not matched:
            continue

        # Backward: phrase words j-1 … 0 against tokens pos-1 …
        first = pos
        i = j - 1
        t = pos - 1
        while i >= 0:
            if t < 0 or (t + 1) in breaks:  # the call starts, or a long pause after token t
                matched = False
                break
            want = ptoks[i]
            tok = tokens[t]
            if tok == want:
                sim = 1.0
            else:
                cached = sim_cache.get((tok, want))
                sim = similarity(tok, want) if cached is None else cached
            if sim >= threshold:
                total += sim
                first = t
                i -= 1
                t -= 1
                continue
            if (free or edits) and t >= 1 and t not in breaks and tok not in negations:
                tok = tokens[t - 1]
                if tok == want:
                    sim = 1.0
                else:
                    cached = sim_cache.get((tok, want))
                    sim = similarity(tok, want) if cached is None else cached
                if sim >= threshold:
                    if free:
                        free -= 1
                    else:
                        edits -= 1
                    used += 1
                    t -= 1
                    continue
            if edits and i != 0 and want not in protected:
                edits -= 1
                used += 1
                misheard = True
                if i >= 1:
                    tok = tokens[t]
                    want = ptoks[i - 1]
                    if tok == want:
                        misheard = False
                    else:
                        cached = sim_cache.get((tok, want))
                        misheard = not (similarity(tok, want) if cached is None else cached) >= threshold
                if misheard:
                    t -= 1
                i -= 1
                continue
            matched = False
            break
        if matched:
            out.append((pi, first, last, total / (n + used)))
    return out


def select_spans(spans: list[Span]) -> list[Span]:
    """Keep one phrase per overlapping stretch of speech: the longest, then best-scoring.

    Where phrases overlap ("thank you for calling" and "thank you"), counts and evidence name
    one phrase per utterance. Returned in time order.
    """
    if len(spans) <= 1:
        return list(spans)
    ordered = sorted(spans, key=_by_position)
    out: list[Span] = []
    best = ordered[0]
    stretch_end = best[2]
    for span in ordered[1:]:
        if span[1] <= stretch_end:
            if span[2] - span[1] > best[2] - best[1] or (
                span[2] - span[1] == best[2] - best[1] and span[3] > best[3]
            ):
                best = span
            if span[2] > stretch_end:
                stretch_end = span[2]
        else:
            out.append(best)
            best = span
            stretch_end = span[2]
    out.append(best)
    return out


_by_position = itemgetter(1, 2)


def single_tokens(texts: list[str], single: dict[str, str]) -> list[str]:
    """Each text's token from ``single`` (texts known to be exactly one token), "" for the rest."""
    get = single.get
    return [get(text, "") for text in texts]


def turn_gaps(starts: list[float], ends: list[float]) -> list[float]:
    """The pause before each turn but the first: its start minus the previous turn's end."""
    return [starts[i] - ends[i - 1] for i in range(1, len(starts))]


def longer_than(gaps: list[float], seconds: float) -> list[int]:
    """Indices (counted from 1, as turns after the first) of the gaps longer than ``seconds``."""
    return [i + 1 for i in range(len(gaps)) if gaps[i] > seconds]


def turn_runs(starts: list[float], ends: list[float], breaks: list[int]) -> list[tuple[float, float]]:
    """Stretches of whole turns, split before each turn in ``breaks`` (increasing indices)."""
    runs: list[tuple[float, float]] = []
    first = 0
    for b in breaks:
        runs.append((starts[first], ends[b - 1]))
        first = b
    runs.append((starts[first], ends[len(ends) - 1]))
    return runs


def turn_overlaps(
    starts: list[float],
    ends: list[float],
    other_starts: list[float],
    other_ends: list[float],
    min_overlap: float,
) -> list[tuple[int, int, float]]:
    """Turns of one party that start while the other party's turn is in progress.

    Same-party turns never overlap, so only the other party's last turn that started before a
    turn can still be in progress.

    Returns:
        (turn index, the other party's turn index, seconds both talked) for each turn that
        overlaps the other party's by at least ``min_overlap``, in turn order.
    """
    found: list[tuple[int, int, float]] = []
    for i in range(len(starts)):
        start = starts[i]
        k = bisect.bisect_left(other_starts, start) - 1
        if k < 0 or other_ends[k] <= start:
            continue
        end = ends[i]
        other_end = other_ends[k]
        overlap = (other_end if other_end < end else end) - start  # min(end, other_end)
        if overlap < min_overlap:
            continue
        found.append((i, k, overlap))
    return found


def silences(
    runs: list[tuple[float, float]], min_seconds: float
) -> tuple[list[tuple[float, float]], float]:
    """Gaps of at least ``min_seconds`` between runs of speech (sorted by start).

    Returns:
        The gaps as (start, end), in order, and where the speech ends.
    """
    gaps: list[tuple[float, float]] = []
    covered_to = runs[0][1]
    for n in range(1, len(runs)):
        start, end = runs[n]
        if start - covered_to >= min_seconds:
            gaps.append((covered_to, start))
        if end > covered_to:
            covered_to = end
    return gaps, covered_to
