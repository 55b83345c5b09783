"""Verdicts against the planted ground truth of rendered calls, as the end-to-end tests check
and print them (per-criterion precision and recall of "fail", then every disagreement)."""

from __future__ import annotations

from collections.abc import Sequence

from qa_pipeline.scoring import CallScore
from qa_pipeline.synth import GroundTruth

# The criteria whose planted behaviour the renderer controls exactly.
CHECKED = ("greeting", "active_listening", "empathy", "interruptions", "hold_etiquette", "closing")
# Criteria that, when passed, must quote the words that earned the pass.
MUST_SAY = ("greeting", "self_identification", "active_listening", "empathy", "closing")


def agreement(scored: Sequence[tuple[GroundTruth, CallScore]]) -> tuple[int, int, list[str]]:
    """Count (call, criterion) pairs whose verdict is the planted one.

    Returns:
        Pairs that agree, pairs checked, and printable lines: the per-criterion table, then
        one line per disagreement with the scorer's reason.
    """
    agree = total = 0
    misses: list[str] = []
    lines: list[str] = []
    for c in CHECKED:
        tp = fp = fn = 0
        for truth, score in scored:
            expected, got = truth.expected[c], score.result(c).verdict.value
            total += 1
            agree += expected == got
            if expected != got:
                misses.append(f"  miss: {truth.call_id} {c}: expected {expected}, got {got} ({score.result(c).reason})")
            # "fail" is the positive class (what a QA lead acts on).
            tp += got == "fail" and expected == "fail"
            fp += got == "fail" and expected != "fail"
            fn += got != "fail" and expected == "fail"
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        lines.append(f"  {c:<17} fail precision {precision:.2f}  recall {recall:.2f}  (tp {tp}, fp {fp}, fn {fn})")
    header = f"{len(scored)} calls, {total} (call, criterion) pairs, agreement {agree / max(total, 1):.1%}"
    return agree, total, [header, *lines, *misses]


def unbacked_passes(scored: Sequence[tuple[GroundTruth, CallScore]]) -> list[str]:
    """Passes of a "must say" criterion without a quoted, timed piece of evidence."""
    bad = []
    for _, score in scored:
        for r in score.results:
            if r.verdict.value == "pass" and r.id in MUST_SAY:
                ev = r.evidence[0] if r.evidence else None
                if ev is None or not ev.text or not ev.end >= ev.start >= 0.0:
                    bad.append(f"{score.call_id} {r.id}")
    return bad
