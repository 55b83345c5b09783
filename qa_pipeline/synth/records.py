"""Records of a synthetic call: the script that is rendered and the ground truth it produces.

A :class:`CallScript` is a list of steps — spoken :class:`Line` s and silent or musical
:class:`Pause` s — with who is calling and when. Rendering places the steps on a timeline and
writes a :class:`GroundTruth`: every utterance and planted :class:`Event` with exact times in
seconds from the start of the recording, plus the verdict a correct scorer must reach for each
criterion of the default scorecard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from qa_pipeline.errors import ScenarioError
from qa_pipeline.transcript import Speaker

TRUTH_SUFFIX = ".truth.json"
# Containers a call can be written in.
FORMATS: tuple[str, ...] = ("wav", "flac", "ogg", "mp3", "m4a")
TRUTH_SCHEMA_VERSION = 1

# The criterion ids of the default scorecard, in scorecard order.
CRITERIA: tuple[str, ...] = (
    "greeting",
    "self_identification",
    "active_listening",
    "empathy",
    "interruptions",
    "hold_etiquette",
    "positive_language",
    "closing",
    "dead_air",
)

Verdict = Literal["pass", "fail", "na"]


class EventType(str, Enum):
    """A behaviour planted in a call, or a timeline feature a scorer must find."""

    GREETING = "greeting"
    SELF_IDENTIFICATION = "self_identification"
    PARAPHRASE = "paraphrase"
    FRUSTRATION = "frustration"
    EMPATHY = "empathy"
    HOLD = "hold"
    HOLD_ANNOUNCEMENT = "hold_announcement"
    HOLD_THANKS = "hold_thanks"
    INTERRUPTION = "interruption"
    CLOSING = "closing"
    PROHIBITED = "prohibited"
    POSITIVE = "positive"
    DEAD_AIR = "dead_air"


# Marks a script line may carry: the events that are utterances rather than timeline features.
LINE_MARKS: frozenset[EventType] = frozenset(EventType) - {
    EventType.HOLD,
    EventType.INTERRUPTION,
    EventType.DEAD_AIR,
}


def _round(value: float) -> float:
    return round(float(value), 3)


@dataclass(frozen=True)
class VoiceSpec:
    """How the single synthetic voice is altered to sound like one particular person.

    Attributes:
        pitch: Pitch factor (1.0 = the voice as shipped; 0.88 lower, 1.15 higher). Duration
            does not change with pitch.
        speed: Speaking-time factor (piper's ``length_scale``): above 1 is slower.
        gain_db: Level relative to the standard speech level.
    """

    pitch: float = 1.0
    speed: float = 1.0
    gain_db: float = 0.0

    def __post_init__(self) -> None:
        if not 0.7 <= self.pitch <= 1.4:
            raise ValueError(f"pitch must be within 0.7..1.4, got {self.pitch}")
        if not 0.6 <= self.speed <= 1.6:
            raise ValueError(f"speed must be within 0.6..1.6, got {self.speed}")
        if not -12.0 <= self.gain_db <= 6.0:
            raise ValueError(f"gain_db must be within -12..6, got {self.gain_db}")

    def to_dict(self) -> dict[str, Any]:
        return {"pitch": _round(self.pitch), "speed": _round(self.speed), "gain_db": _round(self.gain_db)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VoiceSpec:
        return cls(
            pitch=float(data.get("pitch", 1.0)),
            speed=float(data.get("speed", 1.0)),
            gain_db=float(data.get("gain_db", 0.0)),
        )


@dataclass(frozen=True)
class Line:
    """One thing one party says.

    Attributes:
        speaker: Who says it.
        text: The words, as the synthesiser should speak them.
        marks: The behaviours this line plants (greeting, empathy…); each becomes an event
            spanning the line.
        gap_seconds: Silence before the line starts, after everything before it has ended;
            None = a natural gap chosen by the renderer.
        overlap_seconds: Start this long before the previous line (the other party's) ends,
            i.e. talk over it; recorded as an interruption by this line's speaker.
    """

    speaker: Speaker
    text: str
    marks: tuple[EventType, ...] = ()
    gap_seconds: float | None = None
    overlap_seconds: float | None = None

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("a line needs text")
        bad = [m.value for m in self.marks if m not in LINE_MARKS]
        if bad:
            raise ValueError(f"marks {', '.join(bad)} are timeline events, not line marks")
        if self.gap_seconds is not None and self.gap_seconds < 0:
            raise ValueError("gap_seconds must be >= 0")
        if self.overlap_seconds is not None and self.overlap_seconds <= 0:
            raise ValueError("overlap_seconds must be positive")
        if self.gap_seconds is not None and self.overlap_seconds is not None:
            raise ValueError("a line has either gap_seconds or overlap_seconds, not both")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"speaker": self.speaker.value, "text": self.text}
        if self.marks:
            out["marks"] = [m.value for m in self.marks]
        if self.gap_seconds is not None:
            out["gap_seconds"] = self.gap_seconds
        if self.overlap_seconds is not None:
            out["overlap_seconds"] = self.overlap_seconds
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Line:
        return cls(
            speaker=Speaker(data["speaker"]),
            text=str(data["text"]),
            marks=tuple(EventType(m) for m in data.get("marks", ())),
            gap_seconds=None if data.get("gap_seconds") is None else float(data["gap_seconds"]),
            overlap_seconds=(
                None if data.get("overlap_seconds") is None else float(data["overlap_seconds"])
            ),
        )


PauseKind = Literal["hold", "dead_air"]


@dataclass(frozen=True)
class Pause:
    """A stretch where nobody speaks.

    A hold is surrounded by natural gaps and may carry music on the agent's channel; dead air
    is exactly ``duration_seconds`` of silence on both channels between the lines around it.

    Attributes:
        kind: ``hold`` or ``dead_air``.
        duration_seconds: How long it lasts.
        music: Hold music instead of silence (holds only).
    """

    kind: PauseKind
    duration_seconds: float
    music: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("hold", "dead_air"):
            raise ValueError(f"pause kind must be hold or dead_air, got {self.kind!r}")
        if self.duration_seconds <= 0:
            raise ValueError("duration_seconds must be positive")
        if self.music and self.kind != "hold":
            raise ValueError("only a hold can have music")

    def to_dict(self) -> dict[str, Any]:
        return {"pause": self.kind, "duration_seconds": self.duration_seconds, "music": self.music}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pause:
        return cls(
            kind=data["pause"],
            duration_seconds=float(data["duration_seconds"]),
            music=bool(data.get("music", False)),
        )


Step = Line | Pause


def step_from_dict(data: dict[str, Any]) -> Step:
    """Read a :class:`Line` or :class:`Pause` from its ``to_dict`` form."""
    return Pause.from_dict(data) if "pause" in data else Line.from_dict(data)


@dataclass(frozen=True)
class CallScript:
    """Everything needed to render one call.

    Attributes:
        call_id: Unique id; also the audio and truth file stem.
        agent_id: The agent's id.
        agent_name: The agent's first name.
        team: The agent's team.
        started_at: When the call started.
        steps: Lines and pauses in order.
        agent_voice: How the agent sounds.
        customer_voice: How the customer sounds.
        problem: The customer's reason for calling (billing, card…), for reference.
        quality: The agent's behaviour-quality level the call was drawn from (generated calls).
        format: Container to write this call in, overriding the render options.
        subtype: Encoding, overriding the render options (with ``format``).
        stereo: Two channels (True) or a mono mixdown (False), overriding the render options.
        swap_channels: Put the agent on channel 1, overriding the render options.
    """

    call_id: str
    agent_id: str
    agent_name: str
    team: str
    started_at: datetime
    steps: tuple[Step, ...]
    agent_voice: VoiceSpec = field(default_factory=VoiceSpec)
    customer_voice: VoiceSpec = field(default_factory=lambda: VoiceSpec(pitch=1.1))
    problem: str | None = None
    quality: float | None = None
    format: str | None = None
    subtype: str | None = None
    stereo: bool | None = None
    swap_channels: bool | None = None

    def __post_init__(self) -> None:
        if not self.call_id or any(c in self.call_id for c in '/\\:*?"<>|') or self.call_id.startswith("."):
            raise ValueError(f"call_id {self.call_id!r} is not usable as a file name")
        if not any(isinstance(s, Line) for s in self.steps):
            raise ValueError("a call needs at least one line")
        first = self.steps[0]
        if isinstance(first, Line) and first.overlap_seconds is not None:
            raise ValueError("the first line cannot overlap anything")
        for before, step in zip(self.steps, self.steps[1:]):
            talks_over = isinstance(step, Line) and step.overlap_seconds is not None
            if talks_over and (not isinstance(before, Line) or before.speaker == step.speaker):
                raise ValueError("a line with overlap_seconds must follow a line by the other party")

    @property
    def lines(self) -> tuple[Line, ...]:
        return tuple(s for s in self.steps if isinstance(s, Line))

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "agent_id": self.agent_id,
            "agent_name": self.agent_name,
            "team": self.team,
            "started_at": self.started_at.isoformat(),
            "steps": [s.to_dict() for s in self.steps],
            "agent_voice": self.agent_voice.to_dict(),
            "customer_voice": self.customer_voice.to_dict(),
            "problem": self.problem,
            "quality": self.quality,
            "format": self.format,
            "subtype": self.subtype,
            "stereo": self.stereo,
            "swap_channels": self.swap_channels,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallScript:
        return cls(
            call_id=str(data["call_id"]),
            agent_id=str(data["agent_id"]),
            agent_name=str(data["agent_name"]),
            team=str(data["team"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            steps=tuple(step_from_dict(s) for s in data["steps"]),
            agent_voice=VoiceSpec.from_dict(data.get("agent_voice", {})),
            customer_voice=VoiceSpec.from_dict(data.get("customer_voice", {"pitch": 1.1})),
            problem=data.get("problem"),
            quality=data.get("quality"),
            format=data.get("format"),
            subtype=data.get("subtype"),
            stereo=data.get("stereo"),
            swap_channels=data.get("swap_channels"),
        )


@dataclass(frozen=True)
class Utterance:
    """One rendered line with its exact place in the recording.

    ``start`` and ``end`` are the first and last audible sample of the speech, in seconds.
    """

    speaker: Speaker
    text: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {
            "speaker": self.speaker.value,
            "text": self.text,
            "start": _round(self.start),
            "end": _round(self.end),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Utterance:
        return cls(
            speaker=Speaker(data["speaker"]),
            text=str(data["text"]),
            start=float(data["start"]),
            end=float(data["end"]),
        )


@dataclass(frozen=True)
class Event:
    """A planted behaviour or timeline feature with exact times.

    Attributes:
        type: What it is.
        start: Start in seconds. For an interruption, when the interrupter starts talking.
        end: End in seconds. For an interruption, when the talk-over ends.
        speaker: Who did it (the interrupter, for interruptions); None for holds and dead air.
        text: The words, for events that are utterances.
        music: Holds only: music rather than silence.
        announced: Holds only: the agent asked before putting the customer on hold.
        thanked: Holds only: the agent thanked the customer for holding afterwards.
    """

    type: EventType
    start: float
    end: float
    speaker: Speaker | None = None
    text: str | None = None
    music: bool | None = None
    announced: bool | None = None
    thanked: bool | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type.value,
            "start": _round(self.start),
            "end": _round(self.end),
            # From the rounded ends, so a truth file read back writes the same numbers.
            "duration": _round(_round(self.end) - _round(self.start)),
        }
        if self.speaker is not None:
            out["speaker"] = self.speaker.value
        for name in ("text", "music", "announced", "thanked"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        return cls(
            type=EventType(data["type"]),
            start=float(data["start"]),
            end=float(data["end"]),
            speaker=None if data.get("speaker") is None else Speaker(data["speaker"]),
            text=data.get("text"),
            music=data.get("music"),
            announced=data.get("announced"),
            thanked=data.get("thanked"),
        )


@dataclass(frozen=True)
class GroundTruth:
    """What a rendered call contains, exactly; written beside the audio as ``<call_id>.truth.json``.

    Attributes:
        call_id: The call's id.
        agent_id: The agent's id.
        agent_name: The agent's first name.
        team: The agent's team.
        started_at: When the call started.
        audio_file: The audio file's name (in the same folder as the truth file).
        sample_rate: Sample rate of the audio file in Hz.
        format: Container (``wav``, ``flac``, ``mp3``…).
        subtype: Encoding inside the container (``ULAW``, ``PCM_16``…) where it has one.
        channels: 2 for stereo, 1 for a mono mixdown.
        channel_map: Channel index of each party; both 0 in a mono file.
        duration: Length of the recording in seconds.
        utterances: Every rendered line in time order of its start.
        events: Every planted behaviour and timeline feature in time order.
        expected: The verdict per default-scorecard criterion id.
        problem: The customer's reason for calling.
        quality: The agent's quality level the call was drawn from, for generated calls.
    """

    call_id: str
    agent_id: str
    agent_name: str
    team: str
    started_at: datetime
    audio_file: str
    sample_rate: int
    format: str
    subtype: str | None
    channels: int
    channel_map: dict[str, int]
    duration: float
    utterances: tuple[Utterance, ...]
    events: tuple[Event, ...]
    expected: dict[str, Verdict]
    problem: str | None = None
    quality: float | None = None

    @property
    def mono(self) -> bool:
        return self.channels == 1

    def events_of(self, kind: EventType | str) -> tuple[Event, ...]:
        """The events of one type, in time order."""
        kind = EventType(kind)
        return tuple(e for e in self.events if e.type is kind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": TRUTH_SCHEMA_VERSION,
            "call_id": self.call_id,
            "agent_id": self.agent_id,
            "agent_name": self.agent_name,
            "team": self.team,
            "started_at": self.started_at.isoformat(),
            "audio_file": self.audio_file,
            "sample_rate": self.sample_rate,
            "format": self.format,
            "subtype": self.subtype,
            "channels": self.channels,
            "mono": self.mono,
            "channel_map": dict(self.channel_map),
            "duration": _round(self.duration),
            "problem": self.problem,
            "quality": None if self.quality is None else _round(self.quality),
            "utterances": [u.to_dict() for u in self.utterances],
            "events": [e.to_dict() for e in self.events],
            "expected": dict(self.expected),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GroundTruth:
        return cls(
            call_id=str(data["call_id"]),
            agent_id=str(data["agent_id"]),
            agent_name=str(data["agent_name"]),
            team=str(data["team"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            audio_file=str(data["audio_file"]),
            sample_rate=int(data["sample_rate"]),
            format=str(data["format"]),
            subtype=data.get("subtype"),
            channels=int(data["channels"]),
            channel_map={str(k): int(v) for k, v in data["channel_map"].items()},
            duration=float(data["duration"]),
            utterances=tuple(Utterance.from_dict(u) for u in data["utterances"]),
            events=tuple(Event.from_dict(e) for e in data["events"]),
            expected={str(k): v for k, v in data["expected"].items()},
            problem=data.get("problem"),
            quality=data.get("quality"),
        )

    def write(self, path: Path) -> None:
        """Write the truth as JSON (stable key order, so re-rendering gives identical bytes)."""
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> GroundTruth:
        """Read a truth file.

        Raises:
            ScenarioError: The file is missing or is not a ground-truth file.
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls.from_dict(data)
        except FileNotFoundError as exc:
            raise ScenarioError(f"{path}: ground-truth file not found") from exc
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ScenarioError(f"{path}: not a valid ground-truth file ({exc})") from exc
