"""Packing speech regions of several channels into shared recognition windows.

Whisper's encoder always sees a 30-second window: a channel holding 12 s of speech costs as
much to encode as one holding 30 s. On a stereo call each party speaks for well under half
of the call, so recognising the channels one by one encodes mostly padding. Here the speech
regions that voice activity detection found on every channel of a call are laid end to end
into windows of :data:`SPEECH_SECONDS` of speech between a second of silence in front and a
second of room at the end (:data:`LEAD_SECONDS`, :data:`TAIL_SECONDS`), channel by channel,
each in time order, so a window holds one party's speech with the silences removed (as the
sequential decoder sees it), and only the window where one channel's speech ends and the
next begins holds both.
Interleaving the parties in spoken order instead lets the decoder's language model carry
one party's words into the other's: on rendered calls an agent's greeting turned the
customer's first sentence into a greeting too, and the roles were swapped. Pieces follow one
another without added silence (the VAD's padding is the quiet between them); half a second
of silence between pieces recognised worse.

Each window remembers where its pieces came from, so a time inside a window maps back to a
channel and a time on that channel's own timeline.

Everything here is plain arithmetic on sample indices and is tested without a model.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Whisper's window length: the encoder input is always this long.
WINDOW_SECONDS = 30.0
# Silence before the first piece and room left after the last. Whisper can skip speech that
# starts at a window's very first sample: on a rendered call a phone number read at the start
# of a window was left out entirely, and came back with one second of silence in front of it.
# The room at the end keeps the last words off the other edge in the same way.
LEAD_SECONDS = 1.0
TAIL_SECONDS = 1.0
# Speech one window holds.
SPEECH_SECONDS = WINDOW_SECONDS - LEAD_SECONDS - TAIL_SECONDS


@dataclass(frozen=True, slots=True)
class SpeechRegion:
    """A stretch of one channel that holds speech.

    Attributes:
        stream: Index of the channel in the list the regions were found on.
        start: First sample.
        end: One past the last sample.
    """

    stream: int
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.stream < 0:
            raise ValueError(f"stream must be >= 0, got {self.stream}")
        if not 0 <= self.start < self.end:
            raise ValueError(f"a speech region needs 0 <= start < end, got {self.start}..{self.end}")

    @property
    def length(self) -> int:
        """Samples in the region."""
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {"stream": self.stream, "start": self.start, "end": self.end}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SpeechRegion":
        return cls(int(data["stream"]), int(data["start"]), int(data["end"]))


@dataclass(frozen=True, slots=True)
class WindowTime:
    """Where a moment inside a window came from.

    Attributes:
        region: Index of the piece in :attr:`PackedWindow.regions`.
        stream: The channel.
        seconds: Seconds from the start of that channel.
    """

    region: int
    stream: int
    seconds: float


@dataclass(frozen=True, slots=True)
class PackedWindow:
    """Speech regions laid end to end: one encoder window.

    Attributes:
        regions: The pieces, in the order they sit in the window.
        sample_rate: Rate of the channels, in Hz.
        lead: Samples of silence before the first piece.
    """

    regions: tuple[SpeechRegion, ...]
    sample_rate: int
    lead: int = 0

    def __post_init__(self) -> None:
        if not self.regions:
            raise ValueError("a window needs at least one speech region")
        if self.lead < 0:
            raise ValueError(f"lead must be >= 0, got {self.lead}")

    @property
    def offsets(self) -> tuple[int, ...]:
        """Sample position of each piece inside the window, then the window's length."""
        positions = [self.lead]
        for region in self.regions:
            positions.append(positions[-1] + region.length)
        return tuple(positions)

    @property
    def num_samples(self) -> int:
        return self.lead + sum(r.length for r in self.regions)

    @property
    def duration(self) -> float:
        """Seconds of audio in the window."""
        return self.num_samples / self.sample_rate

    def audio(self, streams: Sequence[np.ndarray]) -> np.ndarray:
        """The window's samples, cut from the channels they came from (a new array)."""
        out = np.zeros(self.num_samples, dtype=np.float32)
        for region, at in zip(self.regions, self.offsets):
            out[at : at + region.length] = streams[region.stream][region.start : region.end]
        return out

    def locate(self, seconds: float) -> WindowTime:
        """Map a time inside the window to its channel and channel time.

        A time on a junction belongs to the piece that starts there; a time before the window
        or after its end is clamped to the first or last piece.
        """
        offsets = self.offsets
        sample = seconds * self.sample_rate
        index = min(max(bisect_right(offsets, sample) - 1, 0), len(self.regions) - 1)
        return self._time_in(index, seconds)

    def to_stream_time(self, index: int, seconds: float) -> float:
        """A window time mapped through piece ``index``, clamped to that piece's span."""
        return self._time_in(index, seconds).seconds

    def _time_in(self, index: int, seconds: float) -> WindowTime:
        region = self.regions[index]
        inside = seconds - self.offsets[index] / self.sample_rate
        inside = min(max(inside, 0.0), region.length / self.sample_rate)
        return WindowTime(index, region.stream, region.start / self.sample_rate + inside)


def pack_windows(
    regions: Iterable[SpeechRegion],
    sample_rate: int,
    speech_seconds: float = SPEECH_SECONDS,
    lead_seconds: float = LEAD_SECONDS,
) -> list[PackedWindow]:
    """Lay speech regions end to end into windows holding at most ``speech_seconds`` of speech
    after ``lead_seconds`` of silence.

    Regions are taken channel by channel, each channel's in time order (see the module
    docstring for why not in spoken order). A region is never split: one that does not fit
    in the current window starts the next.

    Args:
        regions: Speech regions of any number of channels (all at ``sample_rate``).
        sample_rate: Their rate in Hz.
        speech_seconds: Speech per window; every region must fit in one.
        lead_seconds: Silence before the first piece of each window.

    Raises:
        ValueError: A region is longer than a window holds.
    """
    limit = int(round(speech_seconds * sample_rate))
    lead = int(round(lead_seconds * sample_rate))
    windows: list[PackedWindow] = []
    current: list[SpeechRegion] = []
    filled = 0
    for region in sorted(regions, key=lambda r: (r.stream, r.start, r.end)):
        if region.length > limit:
            raise ValueError(
                f"speech region {region.start}..{region.end} of stream {region.stream} is longer "
                f"than the {speech_seconds:g} s of speech a window holds"
            )
        if current and filled + region.length > limit:
            windows.append(PackedWindow(tuple(current), sample_rate, lead))
            current, filled = [], 0
        current.append(region)
        filled += region.length
    if current:
        windows.append(PackedWindow(tuple(current), sample_rate, lead))
    return windows
