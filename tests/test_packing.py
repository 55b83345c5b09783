"""Packing speech regions of several channels into shared windows, and the way back."""

from __future__ import annotations

import numpy as np
import pytest

from qa_pipeline.asr.batched import compression_ratio
from qa_pipeline.asr.packing import (
    LEAD_SECONDS,
    SPEECH_SECONDS,
    TAIL_SECONDS,
    WINDOW_SECONDS,
    PackedWindow,
    SpeechRegion,
    pack_windows,
)
from qa_pipeline.asr.vad import fixed_regions, quiet_cuts

RATE = 1000  # samples per second: keeps the arithmetic readable


def region(stream: int, start_s: float, end_s: float) -> SpeechRegion:
    return SpeechRegion(stream, int(start_s * RATE), int(end_s * RATE))


def test_windows_take_each_channel_in_time_order_and_never_exceed_their_speech():
    regions = [
        region(1, 2, 12), region(0, 0, 8), region(0, 20, 35), region(1, 40, 55), region(0, 60, 70),
    ]
    windows = pack_windows(regions, RATE, speech_seconds=30, lead_seconds=0)
    order = [(r.stream, r.start) for w in windows for r in w.regions]
    assert order == [(0, 0), (0, 20 * RATE), (0, 60 * RATE), (1, 2 * RATE), (1, 40 * RATE)]
    assert all(w.duration <= 30 for w in windows)
    # 8 + 15 s fill the first window; 10 s of channel 0 and 10 s of channel 1 share the second.
    assert [[(r.stream, r.length // RATE) for r in w.regions] for w in windows] == [
        [(0, 8), (0, 15)], [(0, 10), (1, 10)], [(1, 15)],
    ]
    assert sum(w.num_samples for w in windows) == sum(r.length for r in regions)


def test_packing_refuses_a_region_longer_than_a_window_holds():
    with pytest.raises(ValueError, match="longer than the 28 s of speech a window holds"):
        pack_windows([region(0, 0, 29)], RATE)
    assert pack_windows([], RATE) == []


def test_every_window_starts_with_silence_and_leaves_room_at_its_end():
    assert LEAD_SECONDS + SPEECH_SECONDS + TAIL_SECONDS == WINDOW_SECONDS and LEAD_SECONDS >= 1.0
    windows = pack_windows([region(0, 0, 20), region(0, 30, 38), region(1, 0, 1)], RATE)
    # 20 + 8 s fill the speech a window holds; the next second starts a new window.
    assert [len(w.regions) for w in windows] == [2, 1]
    first = windows[0]
    lead = int(LEAD_SECONDS * RATE)
    assert first.lead == lead and first.offsets == (lead, lead + 20 * RATE, lead + 28 * RATE)
    assert first.duration == pytest.approx(LEAD_SECONDS + 28) and first.duration <= WINDOW_SECONDS - TAIL_SECONDS
    audio = first.audio([np.ones(40 * RATE, dtype=np.float32), np.ones(40 * RATE, dtype=np.float32)])
    assert not audio[:lead].any() and audio[lead:].all()
    # A time in the lead-in belongs to the first piece, at its start.
    assert first.locate(0.2).seconds == pytest.approx(0.0)
    assert first.locate(LEAD_SECONDS + 21.0).seconds == pytest.approx(31.0)
    with pytest.raises(ValueError, match="lead"):
        PackedWindow((region(0, 0, 1),), RATE, lead=-1)


def test_speech_region_validates_its_span():
    with pytest.raises(ValueError, match="start < end"):
        SpeechRegion(0, 5, 5)
    with pytest.raises(ValueError, match="stream"):
        SpeechRegion(-1, 0, 5)
    r = SpeechRegion(1, 10, 20)
    assert SpeechRegion.from_dict(r.to_dict()) == r


def test_window_times_map_back_to_their_channel_and_channel_time():
    # Windows without a lead-in, so window times read as offsets.
    window = PackedWindow((region(0, 10, 14), region(1, 3, 5), region(0, 50, 56)), RATE)
    assert window.offsets == (0, 4 * RATE, 6 * RATE, 12 * RATE)
    inside_first = window.locate(1.5)
    assert (inside_first.region, inside_first.stream, inside_first.seconds) == (0, 0, 11.5)
    second = window.locate(5.0)
    assert (second.region, second.stream) == (1, 1) and second.seconds == pytest.approx(4.0)
    # A junction belongs to the piece that starts there.
    assert window.locate(4.0).region == 1
    assert window.locate(6.0).seconds == pytest.approx(50.0)
    # Outside the window: clamped to the first and last pieces.
    assert window.locate(-1.0).seconds == pytest.approx(10.0)
    assert window.locate(99.0).seconds == pytest.approx(56.0)
    # A word mapped through its own piece never leaves it, even if its end runs over.
    assert window.to_stream_time(1, 6.5) == pytest.approx(5.0)


def test_window_audio_is_cut_from_the_right_channels():
    left = np.arange(100, dtype=np.float32)
    right = -np.arange(100, dtype=np.float32)
    window = PackedWindow((SpeechRegion(0, 10, 13), SpeechRegion(1, 50, 52)), RATE)
    assert window.audio([left, right]).tolist() == [10, 11, 12, -50, -51]


def test_quiet_cuts_land_in_the_quiet_moment_before_each_limit():
    rate = 16000
    rng = np.random.default_rng(1)
    samples = (0.3 * rng.standard_normal(rate * 70)).astype(np.float32)
    quiet = slice(int(27.5 * rate), int(27.7 * rate))
    samples[quiet] = 0.0
    cuts = quiet_cuts(samples, rate, 30.0)
    assert cuts[0] == 0 and cuts[-1] == len(samples)
    assert 27.5 * rate <= cuts[1] <= 27.7 * rate
    assert all(b - a <= 30 * rate for a, b in zip(cuts, cuts[1:]))
    regions = fixed_regions(samples, rate, stream=1)
    pieces = quiet_cuts(samples, rate, SPEECH_SECONDS)
    assert [(r.start, r.end) for r in regions] == list(zip(pieces, pieces[1:]))
    assert all(r.length <= SPEECH_SECONDS * rate for r in regions)
    assert {r.stream for r in regions} == {1}


def test_compression_ratio_flags_a_loop_not_a_sentence():
    assert compression_ratio("") == 0.0
    assert compression_ratio("I can see the second payment and I have refunded it.") < 1.5
    assert compression_ratio("thank you " * 30) > 2.4

