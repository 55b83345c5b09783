"""Result records of diarization: who spoke when, and which speaker said each word.

Speakers are numbered 0, 1, … in order of their first speech; times are seconds from the
start of the recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qa_pipeline.transcript import Word


def _r(x: float) -> float:
    return round(float(x), 3)


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of time.

    Attributes:
        start: Start in seconds.
        end: End in seconds.
    """

    start: float
    end: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _r(self.start))
        object.__setattr__(self, "end", _r(self.end))
        if self.end < self.start:
            raise ValueError(f"span ends before it starts: {self.start}..{self.end}")

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Span":
        return cls(float(data["start"]), float(data["end"]))


@dataclass(frozen=True, slots=True)
class SpeakerSegment:
    """A stretch of speech by one speaker.

    Attributes:
        speaker: Speaker number.
        start: Start in seconds.
        end: End in seconds.
    """

    speaker: int
    start: float
    end: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _r(self.start))
        object.__setattr__(self, "end", _r(self.end))

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {"speaker": self.speaker, "start": self.start, "end": self.end}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SpeakerSegment":
        return cls(int(data["speaker"]), float(data["start"]), float(data["end"]))


@dataclass(frozen=True, slots=True)
class DiarizationResult:
    """Who spoke when in one mono recording.

    Attributes:
        num_speakers: Speakers found (0 when there was no speech).
        segments: Speaker runs in time order; they do not overlap each other.
        overlaps: Stretches where two speakers meet inside one unbroken stretch of speech
            (talk-over, or a hand-over without a pause); words in them are marked.
        speech: Speech regions found by voice activity detection.
        speaker_seconds: Speech seconds per speaker, indexed by speaker number.
        separation: Cosine similarity of the two largest speakers' voiceprints (lower is
            better separated); 1.0 with fewer than two speakers.
        windows: Embedding windows computed.
    """

    num_speakers: int
    segments: tuple[SpeakerSegment, ...]
    overlaps: tuple[Span, ...]
    speech: tuple[Span, ...]
    speaker_seconds: tuple[float, ...]
    separation: float
    windows: int

    @property
    def overlap_seconds(self) -> float:
        return sum(o.duration for o in self.overlaps)

    def speaker_at(self, start: float, end: float) -> int | None:
        """The speaker covering most of a span; None when no segment touches it."""
        cover: dict[int, float] = {}
        for seg in self.segments:
            if seg.end <= start or seg.start >= end:
                continue
            cover[seg.speaker] = cover.get(seg.speaker, 0.0) + min(seg.end, end) - max(seg.start, start)
        if not cover:
            return None
        return max(sorted(cover), key=lambda k: cover[k])

    def to_dict(self) -> dict[str, Any]:
        return {
            "num_speakers": self.num_speakers,
            "segments": [s.to_dict() for s in self.segments],
            "overlaps": [o.to_dict() for o in self.overlaps],
            "speech": [s.to_dict() for s in self.speech],
            "speaker_seconds": [_r(x) for x in self.speaker_seconds],
            "separation": _r(self.separation),
            "windows": self.windows,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DiarizationResult":
        return cls(
            num_speakers=int(data["num_speakers"]),
            segments=tuple(SpeakerSegment.from_dict(s) for s in data["segments"]),
            overlaps=tuple(Span.from_dict(o) for o in data.get("overlaps", ())),
            speech=tuple(Span.from_dict(s) for s in data.get("speech", ())),
            speaker_seconds=tuple(float(x) for x in data.get("speaker_seconds", ())),
            separation=float(data.get("separation", 1.0)),
            windows=int(data.get("windows", 0)),
        )


@dataclass(frozen=True, slots=True)
class SpeakerWord:
    """A recognised word with the speaker it was assigned to.

    Attributes:
        word: The word.
        speaker: Speaker number.
        overlap: The word lies (mostly) in an overlap region, so its speaker is less certain.
    """

    word: Word
    speaker: int
    overlap: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"word": self.word.to_dict(), "speaker": self.speaker, "overlap": self.overlap}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SpeakerWord":
        return cls(Word.from_dict(data["word"]), int(data["speaker"]), bool(data.get("overlap", False)))
