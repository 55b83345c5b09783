"""Diarization of a mono recording: speech regions → voiceprints → speakers → words.

1. **Speech**: Silero voice activity detection cuts the recording into speech regions at
   short pauses, where most turn changes happen.
2. **Voiceprints**: windows of ``window_seconds`` slide over each region (never across a
   pause, so a window rarely mixes two parties); each is embedded by the speaker encoder.
3. **Speakers**: the voiceprints are clustered (:mod:`.cluster`).
4. **Labels over time**: every ``frame_seconds`` frame of speech takes the speaker its
   covering windows resemble most; runs shorter than ``smoothing_seconds`` are absorbed.
   Where windows of two speakers meet inside one region, the stretch they share is marked
   as overlap.
5. **Words**: each recognised word goes to the speaker covering most of its own span (word
   level, so a short reply inside the other party's speech is not swallowed by a segment).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from qa_pipeline.blas import one_blas_thread
from qa_pipeline.diarization.cluster import cluster_speakers
from qa_pipeline.diarization.encoder import FRAME_STEP_SECONDS, SpeakerEncoder
from qa_pipeline.diarization.options import DiarizationOptions
from qa_pipeline.diarization.records import DiarizationResult, SpeakerSegment, SpeakerWord, Span
from qa_pipeline.diarization.vad import speech_regions
from qa_pipeline.log import get_logger
from qa_pipeline.transcript import Word

log = get_logger("diarization")

_SMOOTHING_PASSES = 8


def plan_windows(regions: Sequence[Span], options: DiarizationOptions) -> list[tuple[float, float, float]]:
    """Embedding windows over speech regions.

    Returns:
        ``(start, end, weight)`` per window, where ``weight`` is the seconds of the region the
        window stands for (from its start to the next window's start), so weights add up to
        the speech time.
    """
    out: list[tuple[float, float, float]] = []
    for r in regions:
        length = r.end - r.start
        if length <= 0:
            continue
        if length <= options.window_seconds:
            out.append((r.start, r.end, length))
            continue
        count = int(math.ceil((length - options.window_seconds) / options.hop_seconds)) + 1
        starts = [r.start + i * options.hop_seconds for i in range(count - 1)] + [r.end - options.window_seconds]
        for i, s in enumerate(starts):
            nxt = starts[i + 1] if i + 1 < len(starts) else r.end
            out.append((s, s + options.window_seconds, max(0.0, nxt - s)))
    return out


def diarize(
    samples: np.ndarray,
    sample_rate: int,
    options: DiarizationOptions | None = None,
    encoder: SpeakerEncoder | None = None,
) -> DiarizationResult:
    """Find who spoke when in one mono channel.

    Args:
        samples: Mono float32 samples at 16 kHz.
        sample_rate: Must be 16000.
        options: Thresholds; defaults to :class:`DiarizationOptions`.
        encoder: A loaded encoder to reuse; one is loaded (once per process) when None.

    Returns:
        Speakers, their segments and overlap regions.

    Raises:
        EngineUnavailableError: The diarization extra is not installed.
        ModelError: The bundled encoder cannot be loaded.
    """
    # The mel frames and the clustering's similarities are numpy products: on one BLAS
    # thread they are the same bits in every process (qa_pipeline.blas).
    with one_blas_thread():
        return _diarize(samples, sample_rate, options, encoder)


def _diarize(
    samples: np.ndarray,
    sample_rate: int,
    options: DiarizationOptions | None,
    encoder: SpeakerEncoder | None,
) -> DiarizationResult:
    options = options or DiarizationOptions()
    regions = speech_regions(samples, sample_rate, options)
    if not regions:
        return DiarizationResult(0, (), (), (), (), 1.0, 0)
    encoder = encoder or SpeakerEncoder(options.cpu_threads)
    speech = np.concatenate([samples[int(r.start * sample_rate) : int(r.end * sample_rate)] for r in regions])
    speech_rms = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2))) if speech.size else None
    mels = encoder.mel_frames(samples, speech_rms or None)
    windows = plan_windows(regions, options)
    frames = [_frame_range(s, e, mels.shape[0]) for s, e, _ in windows]
    keep = [i for i, (a, b) in enumerate(frames) if b > a]
    windows = [windows[i] for i in keep]
    frames = [frames[i] for i in keep]
    if not windows:
        return DiarizationResult(0, (), (), tuple(regions), (), 1.0, 0)
    emb = encoder.embed(mels, frames, options.batch_windows)
    weights = np.array([w for _, _, w in windows])
    core = np.array([e - s >= options.min_window_seconds for s, e, _ in windows])
    clustering = cluster_speakers(emb, weights, core, options)
    spans = np.array([e - s for s, e, _ in windows])
    gaps = np.array([0.0] + [windows[i][0] - windows[i - 1][1] for i in range(1, len(windows))])
    window_labels = smooth_window_labels(
        clustering.similarity, spans, options.switch_penalty, gaps, options.turn_pause_seconds
    )
    labels, overlaps = _frame_labels(windows, window_labels, clustering.similarity, regions, samples.size / sample_rate, options)
    segments = _segments(labels, options.frame_seconds, options.bridge_seconds)
    k = clustering.num_speakers
    seconds = [0.0] * k
    for seg in segments:
        seconds[seg.speaker] += seg.duration
    # A speaker left without frames after smoothing is dropped and the rest renumbered.
    present = [j for j in range(k) if seconds[j] > 0]
    if len(present) < k:
        remap = {old: new for new, old in enumerate(present)}
        segments = [SpeakerSegment(remap[s.speaker], s.start, s.end) for s in segments]
        seconds = [seconds[j] for j in present]
    result = DiarizationResult(
        num_speakers=len(present),
        segments=tuple(segments),
        overlaps=tuple(overlaps),
        speech=tuple(regions),
        speaker_seconds=tuple(seconds),
        separation=clustering.separation if len(present) >= 2 else 1.0,
        windows=len(windows),
    )
    log.debug(
        "diarized %.1fs of speech in %d windows: %d speaker(s), separation %.2f, %d overlap region(s)",
        sum(r.duration for r in regions), len(windows), result.num_speakers, result.separation, len(overlaps),
    )
    return result


def smooth_window_labels(
    similarity: np.ndarray,
    durations: np.ndarray,
    switch_penalty: float,
    gaps: np.ndarray | None = None,
    turn_pause_seconds: float = 0.5,
) -> np.ndarray:
    """Speaker per window, by Viterbi over the windows in time order.

    Staying with a speaker costs how much less the window resembles that speaker than its
    best match, times the square root of the window's length: a short, ambiguous window
    ("sure", "okay") then follows its neighbours, while a clear one — even a short reply —
    keeps its own speaker. A change of speaker costs ``switch_penalty`` inside a stretch of
    speech and less across a pause, down to a tenth of it at ``turn_pause_seconds``: parties
    take turns at pauses, so an ambiguous "Hello," after a pause goes with the speech it
    opens rather than with the turn before the pause.

    Args:
        similarity: Cosine similarity of each window to each speaker, shape (windows, speakers).
        durations: Length of each window in seconds.
        switch_penalty: Cost of a change of speaker between overlapping windows.
        gaps: Seconds of silence before each window (0 or less inside a speech region).
        turn_pause_seconds: Pause at which a change of speaker is cheapest.
    """
    n, k = similarity.shape
    if n == 0 or k < 2:
        return np.zeros(n, dtype=int)
    if gaps is None:
        gaps = np.zeros(n)
    factor = np.clip(1.0 - np.maximum(gaps, 0.0) / max(turn_pause_seconds, 1e-6), 0.1, 1.0)
    cost = (similarity.max(axis=1, keepdims=True) - similarity) * np.sqrt(np.maximum(durations, 0.0))[:, None]
    total = cost[0].copy()
    back = np.zeros((n, k), dtype=int)
    for i in range(1, n):
        switch = switch_penalty * factor[i] * (1.0 - np.eye(k))
        paths = total[:, None] + switch  # (from, to)
        back[i] = np.argmin(paths, axis=0)
        total = paths[back[i], np.arange(k)] + cost[i]
    path = np.zeros(n, dtype=int)
    path[-1] = int(np.argmin(total))
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


def _frame_range(start: float, end: float, total: int) -> tuple[int, int]:
    a = max(0, int(round(start / FRAME_STEP_SECONDS)))
    b = min(total, int(round(end / FRAME_STEP_SECONDS)))
    return a, b


def _frame_labels(
    windows: Sequence[tuple[float, float, float]],
    window_labels: np.ndarray,
    similarity: np.ndarray,
    regions: Sequence[Span],
    duration: float,
    options: DiarizationOptions,
) -> tuple[np.ndarray, list[Span]]:
    """Speaker per frame (-1 outside speech) and the overlap regions."""
    step = options.frame_seconds
    n = max(1, int(math.ceil(duration / step)))
    k = similarity.shape[1]
    score = np.zeros((n, k))
    count = np.zeros(n)
    confident = np.zeros((n, k), dtype=bool)
    for (s, e, _), label, sims in zip(windows, window_labels, similarity):
        a, b = int(s / step), min(n, int(math.ceil(e / step)))
        # A window votes for its (smoothed) speaker; similarities only break ties.
        score[a:b, label] += 1.0
        score[a:b] += 1e-3 * sims
        count[a:b] += 1
        others = np.delete(sims, label)
        if others.size == 0 or sims[label] - others.max() >= options.overlap_margin:
            confident[a:b, label] = True
    in_speech = np.zeros(n, dtype=bool)
    region_id = np.full(n, -1)
    for i, r in enumerate(regions):
        a, b = int(round(r.start / step)), min(n, int(round(r.end / step)))
        in_speech[a:b] = True
        region_id[a:b] = i
    labels = np.where(in_speech & (count > 0), np.argmax(score, axis=1), -1)
    labels = _smooth(labels, region_id, score, max(1, int(round(options.smoothing_seconds / step))))
    overlap = in_speech & (confident.sum(axis=1) >= 2)
    spans = [Span(a * step, b * step) for a, b in _runs(overlap)]
    return labels, spans


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(start, end)`` index pairs of the True runs of a boolean array."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _smooth(labels: np.ndarray, region_id: np.ndarray, score: np.ndarray, min_frames: int) -> np.ndarray:
    """Absorb label runs shorter than ``min_frames`` into a neighbour within the same region.

    Shortest runs go first, one pass over the runs at a time, so a long call costs a few
    passes rather than one per run.
    """
    labels = labels.copy()
    for _ in range(_SMOOTHING_PASSES):
        runs = _label_runs(labels)
        short = sorted(
            (b - a, idx) for idx, (a, b, lab) in enumerate(runs) if lab >= 0 and b - a < min_frames
        )
        changed = False
        touched: set[int] = set()
        for _, idx in short:
            a, b, lab = runs[idx]
            if idx in touched:
                continue
            neighbours = []
            for j in (idx - 1, idx + 1):
                if 0 <= j < len(runs) and j not in touched:
                    na, nb, nl = runs[j]
                    if nl >= 0 and nl != lab and region_id[na if j > idx else nb - 1] == region_id[a]:
                        neighbours.append((nb - na, nl, j))
            if not neighbours:
                continue
            # The neighbour the run's own frames resemble most takes it.
            _, best, j = max(neighbours, key=lambda x: (score[a:b, x[1]].sum(), x[0]))
            labels[a:b] = best
            touched.update((idx, j))
            changed = True
        if not changed:
            break
    return labels


def _label_runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    if labels.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [labels.size]])
    return [(int(a), int(b), int(labels[a])) for a, b in zip(starts, ends)]


def _segments(labels: np.ndarray, step: float, bridge_seconds: float) -> list[SpeakerSegment]:
    """Speaker runs; a pause shorter than ``bridge_seconds`` between runs of one speaker is
    part of that speaker's turn (breath, comma), not a break in it."""
    out: list[SpeakerSegment] = []
    for a, b, lab in _label_runs(labels):
        if lab < 0:
            continue
        if out and out[-1].speaker == lab and a * step - out[-1].end < bridge_seconds:
            out[-1] = SpeakerSegment(lab, out[-1].start, b * step)
        else:
            out.append(SpeakerSegment(lab, a * step, b * step))
    return out


def assign_words(words: Sequence[Word], result: DiarizationResult) -> list[SpeakerWord]:
    """Give each word the speaker covering most of its span.

    A word outside every speech segment (recogniser timings drift by a few tenths of a
    second) goes to the nearest segment. A word whose span lies mostly in an overlap region
    is marked ``overlap``.

    Args:
        words: Recognised words in time order.
        result: The diarization of the same recording.

    Returns:
        One :class:`SpeakerWord` per word, in the same order.
    """
    segs = result.segments
    starts = np.array([s.start for s in segs]) if segs else np.zeros(0)
    ends = np.array([s.end for s in segs]) if segs else np.zeros(0)
    out: list[SpeakerWord] = []
    for w in words:
        end = max(w.end, w.start + 1e-3)
        speaker = result.speaker_at(w.start, end)
        if speaker is None:
            if segs:
                gap = np.maximum(starts - end, 0.0) + np.maximum(w.start - ends, 0.0)
                speaker = segs[int(np.argmin(gap))].speaker
            else:
                speaker = 0
        covered = sum(max(0.0, min(o.end, end) - max(o.start, w.start)) for o in result.overlaps)
        out.append(SpeakerWord(w, speaker, covered > 0.5 * (end - w.start)))
    return out
