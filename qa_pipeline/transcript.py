"""Transcript records: words, speaker turns and the whole call.

A :class:`Transcript` is the hand-off between transcription and everything downstream
(scoring, storage, reports). It is plain data with a stable JSON form (``schema_version``);
times are always seconds from the start of the recording.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Iterable, Iterator

from qa_pipeline.errors import TranscriptError
from qa_pipeline.parties import Parties
from qa_pipeline.speechchecks import LanguageCheck, SpeechCoverage

SCHEMA_VERSION = 1


class Speaker(str, Enum):
    """Who spoke a turn."""

    AGENT = "agent"
    CUSTOMER = "customer"

    def other(self) -> "Speaker":
        """The other party of a two-party call."""
        return Speaker.CUSTOMER if self is Speaker.AGENT else Speaker.AGENT


class RolesSource(str, Enum):
    """Where the agent/customer labels came from."""

    CHANNEL = "channel"  # separate channels per party (stereo)
    INFERRED = "inferred"  # mono, heuristic split of one channel
    DIARIZATION = "diarization"  # mono, speaker diarization


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word with its timing.

    Attributes:
        text: The word as the recogniser wrote it, punctuation attached, no leading space.
        start: Start in seconds from the start of the recording.
        end: End in seconds.
        probability: The recogniser's confidence, 0..1.
    """

    text: str
    start: float
    end: float
    probability: float = 1.0

    def __post_init__(self) -> None:
        # Millisecond times, so a transcript equals its own JSON round trip (cache, determinism).
        object.__setattr__(self, "start", round(float(self.start), 3))
        object.__setattr__(self, "end", round(float(self.end), 3))
        object.__setattr__(self, "probability", round(float(self.probability), 4))

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "probability": round(self.probability, 4),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Word":
        return cls(
            text=str(data["text"]),
            start=float(data["start"]),
            end=float(data["end"]),
            probability=float(data.get("probability", 1.0)),
        )


@dataclass(frozen=True, slots=True)
class Turn:
    """A stretch of speech by one party: consecutive words with no long pause between them.

    Turns of the two parties may overlap in time; each keeps its true start and end.

    Attributes:
        speaker: Agent or customer.
        words: The words, in time order.
        channel: Audio channel the words came from (0 for mono).
        voice: The diarized voice of a mono recording that said the words; None for stereo.
    """

    speaker: Speaker
    words: tuple[Word, ...]
    channel: int = 0
    voice: int | None = None

    def __post_init__(self) -> None:
        if not self.words:
            raise ValueError("a turn needs at least one word")

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def text(self) -> str:
        return join_words(w.text for w in self.words)

    def to_dict(self) -> dict[str, Any]:
        return {
            "speaker": self.speaker.value,
            "channel": self.channel,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "text": self.text,
            "words": [w.to_dict() for w in self.words],
        } | ({"voice": self.voice} if self.voice is not None else {})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Turn":
        voice = data.get("voice")
        return cls(
            speaker=Speaker(data["speaker"]),
            words=tuple(Word.from_dict(w) for w in data["words"]),
            channel=int(data.get("channel", 0)),
            voice=None if voice is None else int(voice),
        )


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What was decoded, and from where.

    Attributes:
        path: The recording's path as given.
        sha256: Content hash of the file's bytes (cache and idempotency key).
        duration: Length in seconds.
        sample_rate: The file's own sample rate in Hz (before resampling to 16 kHz).
        channels: The file's channel count.
        codec: Codec name as the decoder reports it (e.g. ``pcm_mulaw``).
        container: Container format (e.g. ``wav``).
    """

    path: str
    sha256: str
    duration: float
    sample_rate: int
    channels: int
    codec: str = ""
    container: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "duration", round(float(self.duration), 3))

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "duration": round(self.duration, 3),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "codec": self.codec,
            "container": self.container,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AudioInfo":
        return cls(
            path=str(data["path"]),
            sha256=str(data["sha256"]),
            duration=float(data["duration"]),
            sample_rate=int(data["sample_rate"]),
            channels=int(data["channels"]),
            codec=str(data.get("codec", "")),
            container=str(data.get("container", "")),
        )


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    """How agent and customer were told apart, so a reviewer can check the decision.

    Attributes:
        source: ``channel`` for stereo, ``inferred``/``diarization`` for mono.
        method: The evidence that decided: ``configured``, ``greeting``, ``first_speaker``,
            ``verification``, ``single_speaker``… (:data:`qa_pipeline.roles.METHODS`;
            ``mono_alternation`` in transcripts written before diarization).
        agent_channel: The agent's channel for stereo; None for mono.
        confidence: 0..1; 1.0 when configured by the user.
        reason: One human-readable sentence.
        review: The evidence was too weak (confidence below the configured threshold, or one
            voice only): the call is scored, but role-dependent verdicts are flagged.
    """

    source: RolesSource
    method: str
    agent_channel: int | None
    confidence: float
    reason: str
    review: bool = False

    @property
    def inferred(self) -> bool:
        """True when roles were guessed from one mixed channel rather than separate channels."""
        return self.source is not RolesSource.CHANNEL

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "method": self.method,
            "agent_channel": self.agent_channel,
            "confidence": round(self.confidence, 3),
            "reason": self.reason,
            "roles_inferred": self.inferred,
            "review": self.review,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RoleAssignment":
        ch = data.get("agent_channel")
        return cls(
            source=RolesSource(data["source"]),
            method=str(data["method"]),
            agent_channel=None if ch is None else int(ch),
            confidence=float(data.get("confidence", 0.0)),
            reason=str(data.get("reason", "")),
            review=bool(data.get("review", False)),
        )


@dataclass(frozen=True, slots=True)
class Transcript:
    """A speaker-attributed, word-timed transcript of one call.

    Attributes:
        call_id: Identifier of the call (defaults to the file's stem).
        audio: What was decoded.
        roles: How agent and customer were assigned.
        language: ISO 639-1 code the model used (e.g. ``en``, ``zh``).
        engine: ASR engine name.
        model: Model name or path, as resolved.
        options: The transcription options that shaped this transcript (for cache keys and
            audit), as a plain mapping.
        turns: Speaker turns ordered by start time; parties' turns may overlap.
        schema_version: Version of the JSON layout.
        coverage: How much of the detected speech got words, per channel; None in
            transcripts written before it was measured (the key is optional in the JSON).
        language_check: The language identified before transcription (the language gate);
            None in transcripts written before it existed.
        parties: What the role step needs to decide the roles again (onsets, channels,
            diarization notes); None in transcripts written before roles were a separate step,
            whose roles stay as written.
    """

    call_id: str
    audio: AudioInfo
    roles: RoleAssignment
    language: str
    engine: str
    model: str
    turns: tuple[Turn, ...]
    options: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    coverage: SpeechCoverage | None = None
    language_check: LanguageCheck | None = None
    parties: Parties | None = None

    @property
    def duration(self) -> float:
        return self.audio.duration

    @property
    def text(self) -> str:
        return "\n".join(f"{t.speaker.value}: {t.text}" for t in self.turns)

    def turns_of(self, speaker: Speaker) -> list[Turn]:
        """The turns of one party, in time order."""
        return [t for t in self.turns if t.speaker is speaker]

    def words_of(self, speaker: Speaker) -> list[Word]:
        """All words of one party, in time order."""
        return [w for t in self.turns if t.speaker is speaker for w in t.words]

    def iter_words(self) -> Iterator[tuple[Speaker, Word]]:
        """Every word with its speaker, in time order of the turns."""
        for t in self.turns:
            for w in t.words:
                yield t.speaker, w

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "call_id": self.call_id,
            "audio": self.audio.to_dict(),
            "roles": self.roles.to_dict(),
            "language": self.language,
            "engine": self.engine,
            "model": self.model,
            "options": dict(self.options),
            "turns": [t.to_dict() for t in self.turns],
        } | ({"coverage": self.coverage.to_dict()} if self.coverage is not None else {}) | (
            {"language_check": self.language_check.to_dict()} if self.language_check is not None else {}
        ) | ({"parties": self.parties.to_dict()} if self.parties is not None else {})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Transcript":
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise TranscriptError(
                f"unsupported transcript schema_version {version!r} (this version reads {SCHEMA_VERSION})"
            )
        try:
            return cls(
                call_id=str(data["call_id"]),
                audio=AudioInfo.from_dict(data["audio"]),
                roles=RoleAssignment.from_dict(data["roles"]),
                language=str(data["language"]),
                engine=str(data["engine"]),
                model=str(data["model"]),
                options=dict(data.get("options", {})),
                turns=tuple(Turn.from_dict(t) for t in data["turns"]),
                schema_version=int(version),
                coverage=SpeechCoverage.from_dict(data["coverage"]) if data.get("coverage") else None,
                language_check=LanguageCheck.from_dict(data["language_check"]) if data.get("language_check") else None,
                parties=Parties.from_dict(data["parties"]) if data.get("parties") else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TranscriptError(f"malformed transcript: {exc!r}") from exc

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    def save(self, path: str | Path) -> Path:
        """Write the transcript as JSON (atomically: a crash never leaves half a file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Transcript":
        """Read a transcript JSON file.

        Raises:
            TranscriptError: The file is missing, not JSON, or not a transcript.
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise TranscriptError(f"{path}: no such transcript file") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TranscriptError(f"{path}: not a readable transcript JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise TranscriptError(f"{path}: not a transcript (expected a JSON object)")
        try:
            return cls.from_dict(data)
        except TranscriptError as exc:
            raise TranscriptError(f"{path}: {exc}") from exc


_NO_SPACE_BEFORE = set(",.!?;:%)]}'\"，。！？；：、）")


def _is_cjk(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" or "\uac00" <= ch <= "\ud7af"


def join_words(words: Iterable[str]) -> str:
    """Join recogniser words into readable text.

    Whisper words carry their own leading spaces for English and none for Chinese; recorded
    words are stripped, so spacing is rebuilt here: a space between words except before
    closing punctuation and between two CJK characters.
    """
    out: list[str] = []
    for raw in words:
        w = raw.strip()
        if not w:
            continue
        if out:
            prev = out[-1][-1]
            if not (w[0] in _NO_SPACE_BEFORE or (_is_cjk(prev) and _is_cjk(w[0]))):
                out.append(" ")
        out.append(w)
    return "".join(out)


def words_to_turns(
    words: Iterable[Word], speaker: Speaker, channel: int, max_gap: float
) -> list[Turn]:
    """Group one party's time-ordered words into turns, splitting at pauses.

    Args:
        words: Words of one party, time ordered.
        speaker: The party.
        channel: Source channel.
        max_gap: A pause longer than this many seconds starts a new turn.
    """
    turns: list[Turn] = []
    current: list[Word] = []
    for w in words:
        if current and w.start - current[-1].end > max_gap:
            turns.append(Turn(speaker, tuple(current), channel))
            current = []
        current.append(w)
    if current:
        turns.append(Turn(speaker, tuple(current), channel))
    return turns


def merge_turns(*parties: Iterable[Turn]) -> tuple[Turn, ...]:
    """Merge the parties' turns into one time-ordered sequence.

    Turns are never cut or re-timed, so overlapping speech keeps both parties' true times;
    ties on start time are broken by end time and then speaker, for a deterministic order.
    """
    all_turns = [t for party in parties for t in party]
    return tuple(sorted(all_turns, key=lambda t: (t.start, t.end, t.speaker.value)))
