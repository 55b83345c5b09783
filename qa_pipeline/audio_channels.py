"""Channel handling: the channel mapping checked against a file, and per-channel levels.

Levels are RMS per 20 ms frame; they tell who speaks first (the onset) and a silent or
dead channel (the activity), and voice activity detection and word-start alignment build
on the same frames.
"""

from __future__ import annotations

import math

import numpy as np

from qa_pipeline.errors import AudioError
from qa_pipeline.log import get_logger
from qa_pipeline.options import AudioOptions

log = get_logger("audio")

FRAME_SECONDS = 0.02

def _check_mapping(name: str, num_channels: int, opts: AudioOptions) -> None:
    agent, customer = opts.agent_channel, opts.customer_channel
    if num_channels == 1:
        if isinstance(agent, int) or customer is not None:
            log.debug("%s: mono recording; the channel mapping does not apply", name)
        return
    if num_channels > 2 and not (isinstance(agent, int) and customer is not None):
        raise AudioError(
            f"{name}: {num_channels} channels and no channel mapping; set agent_channel and "
            f"customer_channel to the channel numbers (0-{num_channels - 1}) of each party"
        )
    for role, channel in (("agent_channel", agent), ("customer_channel", customer)):
        if isinstance(channel, int) and channel >= num_channels:
            raise AudioError(
                f"{name}: {role}={channel} but the file has only {num_channels} channels "
                f"(0-{num_channels - 1})"
            )


def frame_levels_db(samples: np.ndarray, sample_rate: int, frame_seconds: float) -> np.ndarray:
    """RMS level in dBFS of consecutive frames; a trailing partial frame is dropped."""
    frame_len = max(1, round(sample_rate * frame_seconds))
    num_frames = len(samples) // frame_len
    if num_frames == 0:
        return np.empty(0, dtype=np.float32)
    frames = np.asarray(samples, dtype=np.float32)[: num_frames * frame_len].reshape(
        num_frames, frame_len
    )
    mean_square = np.einsum("ij,ij->i", frames, frames) / np.float32(frame_len)
    return 10.0 * np.log10(np.maximum(mean_square, np.float32(1e-12)))


def speech_onset(
    samples: np.ndarray,
    sample_rate: int,
    threshold_db: float = -40.0,
    min_speech_seconds: float = 0.2,
) -> float | None:
    """When a channel first carries sustained sound: used to tell who speaks first.

    The channel is cut into 20 ms frames; a frame is active when its RMS level exceeds
    ``threshold_db`` relative to full scale. The onset is the start of the first run of active
    frames lasting at least ``min_speech_seconds``, so clicks and line noise don't count.

    Args:
        samples: One channel, float in [-1, 1].
        sample_rate: Its rate in Hz.
        threshold_db: Activity threshold in dBFS.
        min_speech_seconds: Shortest stretch of activity that counts.

    Returns:
        Seconds from the start, or None if the channel never rises above the threshold for long
        enough.
    """
    active = frame_levels_db(samples, sample_rate, FRAME_SECONDS) > threshold_db
    min_frames = max(1, math.ceil(min_speech_seconds / FRAME_SECONDS - 1e-9))
    if active.size < min_frames:
        return None
    edges = np.diff(np.concatenate(([0], active.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    long_runs = np.flatnonzero(ends - starts >= min_frames)
    if long_runs.size == 0:
        return None
    return float(starts[long_runs[0]] * round(sample_rate * FRAME_SECONDS) / sample_rate)


# Frames quieter than this count as silence when telling a silent recording from one with
# sound but no words.
SILENCE_DB = -40.0


def channel_activity(samples: np.ndarray, sample_rate: int, threshold_db: float = SILENCE_DB) -> float:
    """Fraction of 20 ms frames whose RMS level exceeds ``threshold_db`` dBFS (0.0 if none).

    A near-zero value marks a silent or dead channel.
    """
    levels = frame_levels_db(samples, sample_rate, FRAME_SECONDS)
    if levels.size == 0:
        return 0.0
    return float(np.count_nonzero(levels > threshold_db) / levels.size)
