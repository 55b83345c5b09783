"""Refining word start times against the signal.

Whisper's word timestamps come from cross-attention and tend to start a word that follows a
pause late — by a quarter to over half a second on short openers like "Okay" or "Of course".
For QA that matters: who started speaking first decides an interruption, and evidence links
seek the audio player to the start of a phrase. Each party has its own channel, so the true
onset of speech after a pause is visible in that channel's energy; the start of a word that
follows a pause is moved back to the onset of the sound it sits in.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from qa_pipeline.audio_channels import FRAME_SECONDS, frame_levels_db
from qa_pipeline.transcript import Word

# How far a start may move back; beyond this the sound before the word is something else.
MAX_SHIFT_SECONDS = 1.0
# A word starts "after a pause" when the previous word ended at least this long before it.
MIN_PAUSE_SECONDS = 0.25
# Speech has short silences inside it (stops, commas); the onset search steps over these.
MAX_INNER_GAP_SECONDS = 0.35
# Active = this many dB above the channel's noise floor (its 10th-percentile frame level).
ACTIVITY_MARGIN_DB = 12.0


def refine_word_starts(words: Sequence[Word], samples: np.ndarray, sample_rate: int) -> list[Word]:
    """Move the start of each word that follows a pause back to its sound's onset.

    Only words after a pause (or the first word) are touched, only earlier, by at most
    ``MAX_SHIFT_SECONDS`` and never before the previous word's end. The onset is found by
    walking back from the recognised start through active frames, stepping over silences of
    up to ``MAX_INNER_GAP_SECONDS`` that have more sound right before them.

    Args:
        words: One channel's words in time order.
        samples: That channel's samples.
        sample_rate: Their rate in Hz.
    """
    if not words:
        return []
    levels = frame_levels_db(samples, sample_rate, FRAME_SECONDS)
    if levels.size == 0:
        return list(words)
    floor = float(np.percentile(levels, 10))
    active = levels > max(floor + ACTIVITY_MARGIN_DB, -60.0)
    out: list[Word] = []
    prev_end = 0.0
    for i, w in enumerate(words):
        if i == 0 or w.start - prev_end >= MIN_PAUSE_SECONDS:
            onset = _onset_before(active, w.start, max(prev_end, w.start - MAX_SHIFT_SECONDS))
            if onset is not None and onset < w.start:
                w = replace(w, start=round(onset, 3))
        out.append(w)
        prev_end = max(prev_end, w.end)
    return out


def _onset_before(active: np.ndarray, start: float, limit: float) -> float | None:
    frame = min(int(start / FRAME_SECONDS), active.size - 1)
    # The recognised start must sit in (or right at the edge of) sound.
    if not (active[frame] or (frame + 1 < active.size and active[frame + 1])):
        return None
    first = max(0, int(np.ceil(limit / FRAME_SECONDS)))
    max_gap = int(MAX_INNER_GAP_SECONDS / FRAME_SECONDS)
    f = frame if active[frame] else frame + 1
    while True:
        while f - 1 >= first and active[f - 1]:
            f -= 1
        gap = 0
        while f - gap - 1 >= first and not active[f - gap - 1] and gap <= max_gap:
            gap += 1
        # Continue across a short silence only when more sound lies right before it.
        if 0 < gap <= max_gap and f - gap - 1 >= first and active[f - gap - 1]:
            f -= gap
            continue
        return f * FRAME_SECONDS
