"""What a transcript records about its own reliability: speech coverage and the language check.

Plain records with a JSON form, kept in :class:`qa_pipeline.transcript.Transcript`; they are
measured by :mod:`qa_pipeline.asr.coverage` and :mod:`qa_pipeline.asr.language`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ChannelCoverage:
    """Speech coverage of one channel (one party, or the one channel of a mono call).

    Attributes:
        channel: The file channel.
        speech_seconds: Seconds of detected speech.
        covered_seconds: Of those, seconds within the margin of a recognised word.
        recovered_words: Words that only the second decode of uncovered stretches found.
    """

    channel: int
    speech_seconds: float
    covered_seconds: float
    recovered_words: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "speech_seconds", round(float(self.speech_seconds), 3))
        object.__setattr__(self, "covered_seconds", round(min(float(self.covered_seconds), self.speech_seconds), 3))

    @property
    def ratio(self) -> float:
        """Covered / detected (1.0 for a channel without detected speech)."""
        return self.covered_seconds / self.speech_seconds if self.speech_seconds > 0 else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "speech_seconds": self.speech_seconds,
            "covered_seconds": self.covered_seconds,
            "coverage": round(self.ratio, 4),
            "recovered_words": self.recovered_words,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ChannelCoverage":
        return cls(
            channel=int(data["channel"]),
            speech_seconds=float(data["speech_seconds"]),
            covered_seconds=float(data["covered_seconds"]),
            recovered_words=int(data.get("recovered_words", 0)),
        )


@dataclass(frozen=True, slots=True)
class SpeechCoverage:
    """Speech coverage of a call.

    Attributes:
        channels: One entry per party channel, in channel order.
        review_below: The threshold the call was judged against (0..1).
    """

    channels: tuple[ChannelCoverage, ...]
    review_below: float = 0.9

    @property
    def speech_seconds(self) -> float:
        return sum(c.speech_seconds for c in self.channels)

    @property
    def covered_seconds(self) -> float:
        return sum(c.covered_seconds for c in self.channels)

    @property
    def ratio(self) -> float:
        """Covered / detected over all channels (1.0 when nothing was detected)."""
        speech = self.speech_seconds
        return self.covered_seconds / speech if speech > 0 else 1.0

    @property
    def lowest(self) -> float:
        """The worst channel's coverage: one silent party is enough to distort a call."""
        return min((c.ratio for c in self.channels), default=1.0)

    @property
    def review(self) -> bool:
        """Flag the call when any party's coverage is under the threshold."""
        return round(self.lowest, 4) < self.review_below

    @property
    def recovered_words(self) -> int:
        return sum(c.recovered_words for c in self.channels)

    def reason(self) -> str:
        """One sentence for a reviewer."""
        worst = min(self.channels, key=lambda c: (c.ratio, c.channel))
        return (
            f"{worst.speech_seconds - worst.covered_seconds:.1f}s of the {worst.speech_seconds:.1f}s of speech "
            f"detected on channel {worst.channel} has no recognised words (coverage {worst.ratio:.0%}, "
            f"review below {self.review_below:.0%})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "coverage": round(self.ratio, 4),
            "lowest": round(self.lowest, 4),
            "review_below": self.review_below,
            "review": self.review,
            "channels": [c.to_dict() for c in self.channels],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SpeechCoverage":
        return cls(
            channels=tuple(ChannelCoverage.from_dict(c) for c in data.get("channels", [])),
            review_below=float(data.get("review_below", 0.9)),
        )


@dataclass(frozen=True, slots=True)
class LanguageCheck:
    """Which language the call's first speech is in, as identified before transcription.

    Attributes:
        language: The identified ISO code, or None when it could not be identified.
        probability: The detector's probability for it (0..1).
        verified: A detector ran and heard speech; False means the language is unknown.
        detector: The model that identified it (``base``), or empty.
        note: Why the language is not verified, when it is not.
        channels: Each channel's own result: (file channel, code, probability).
    """

    language: str | None
    probability: float
    verified: bool
    detector: str = ""
    note: str = ""
    channels: tuple[tuple[int, str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "probability": round(self.probability, 4),
            "verified": self.verified,
            "detector": self.detector,
            "note": self.note,
            "channels": [{"channel": c, "language": lang, "probability": round(p, 4)} for c, lang, p in self.channels],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LanguageCheck":
        return cls(
            language=None if data.get("language") is None else str(data["language"]),
            probability=float(data.get("probability", 0.0)),
            verified=bool(data.get("verified", False)),
            detector=str(data.get("detector", "")),
            note=str(data.get("note", "")),
            channels=tuple(
                (int(c["channel"]), str(c["language"]), float(c["probability"])) for c in data.get("channels", [])
            ),
        )
