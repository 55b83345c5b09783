"""What scoring hands the store, and the store hands statistics and reports: one declaration.

The scorer produces a :class:`~qa_pipeline.scoring.CallScore`; the store keeps it in tables and
gives statistics and reports two frames (calls and criteria). This module declares what
crosses those boundaries, so both sides import the same names instead of keeping lists that
drift apart:

* the columns of the frames (what the store loads, what ``qa export`` writes, what
  :mod:`qa_pipeline.stats.frames` validates);
* the kinds of evidence behind a verdict (:class:`EvidenceKind`), checked when stored
  evidence is read back;
* timed events (:class:`CallEvent`): holds, silences, interruptions and overlaps with their
  times and who, which call pages draw on the timeline.

It imports nothing else of the package, so any stage may import it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Iterable, Mapping

from qa_pipeline.errors import ConfigError

# ----------------------------------------------------------------------------- frame columns
# The calls table that statistics validate (stats.frames.prepare_calls): required columns and
# the optional ones they fill in.
CALL_REQUIRED: tuple[str, ...] = ("call_id", "agent_id", "team", "started_at", "duration_s", "call_score")
CALL_COLUMNS: tuple[str, ...] = CALL_REQUIRED[:3] + ("agent_name",) + CALL_REQUIRED[3:] + (
    "critical_failed",
    "roles_inferred",
    "audio_path",
    "transcript_path",
)
# What the store adds about how a call was scored (kept in exports, unused by statistics).
CALL_SCORING_COLUMNS: tuple[str, ...] = ("language", "scorecard_name", "scorecard_hash", "speech_coverage")
# Call characteristics the store measures, for the style profile (missing when not measured).
STYLE_FRAME_COLUMNS: tuple[str, ...] = ("agent_speed_per_min", "agent_talk_share", "interruptions", "non_talk_s")
# Statistics also read the questions asked when an exported table has them; the store does
# not measure them.
STYLE_COLUMNS: tuple[str, ...] = STYLE_FRAME_COLUMNS + ("questions",)
# The calls frame the store loads and ``qa export`` writes, in this order (a documented file
# format: the agent's name comes before the team here, after it in CALL_COLUMNS).
CALL_FRAME_COLUMNS: tuple[str, ...] = (
    "call_id", "agent_id", "agent_name", "team", "started_at", "duration_s", "call_score", "critical_failed",
    "roles_inferred", "audio_path", "transcript_path", *CALL_SCORING_COLUMNS, *STYLE_FRAME_COLUMNS,
)
# A call's holds, silences and interruptions as a JSON list of CallEvent mappings; None where
# the call was scored before events were stored. Not exported: the export's columns are a documented, stable format.
EVENTS_COLUMN = "events"
# What Store.load_frames gives: the exported columns, then the events.
LOADED_CALL_COLUMNS: tuple[str, ...] = CALL_FRAME_COLUMNS + (EVENTS_COLUMN,)

CRITERIA_REQUIRED: tuple[str, ...] = ("call_id", "criterion_id", "verdict")
# Copied onto every criteria row from its call.
CRITERIA_FROM_CALLS: tuple[str, ...] = ("agent_id", "team", "started_at", "call_score", "duration_s")
# The criteria frame the store loads and ``qa export`` writes, in this order.
CRITERIA_FRAME_COLUMNS: tuple[str, ...] = (
    "call_id", "agent_id", "agent_name", "team", "started_at", "criterion_id", "criterion_title", "verdict",
    "points", "max_points", "call_score", "duration_s", "evidence", "missing",
)
# The criteria frame after validation: the agent's name lives on the calls frame only.
CRITERIA_COLUMNS: tuple[str, ...] = tuple(c for c in CRITERIA_FRAME_COLUMNS if c != "agent_name")


# ----------------------------------------------------------------------------- evidence
class EvidenceKind(StrEnum):
    """What a piece of evidence is.

    ``match``: something said; ``missing``: something expected and not found, with the window
    searched; ``event``: a measured event (hold, interruption, silence); ``note``: a remark
    without a moment of its own.
    """

    MATCH = "match"
    MISSING = "missing"
    EVENT = "event"
    NOTE = "note"

    @classmethod
    def parse(cls, value: Any, where: str = "evidence") -> "EvidenceKind":
        """The kind named by ``value``.

        Raises:
            ConfigError: ``value`` names no kind.
        """
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value))
        except ValueError:
            raise ConfigError(
                f"{where}: unknown evidence kind {value!r}; expected one of {', '.join(k.value for k in cls)}"
            ) from None


# ----------------------------------------------------------------------------- events
class EventKind(StrEnum):
    """A timed event of a call."""

    HOLD = "hold"
    SILENCE = "silence"
    INTERRUPTION = "interruption"
    OVERLAP = "overlap"


class EventParty(StrEnum):
    """Who an event is about: the party that acted, or both for shared silence."""

    AGENT = "agent"
    CUSTOMER = "customer"
    BOTH = "both"


# The source of events measured from word times rather than found by a criterion.
CHARACTERISTICS_SOURCE = "characteristics"
# The kinds the calls frame carries (call pages draw them); overlaps that are not
# interruptions are kept in the store and in score files only.
FRAME_EVENT_KINDS: tuple[str, ...] = (EventKind.HOLD.value, EventKind.SILENCE.value, EventKind.INTERRUPTION.value)


def _enum(cls: type[StrEnum], value: Any, field: str, where: str) -> Any:
    if isinstance(value, cls):
        return value
    try:
        return cls(str(value))
    except ValueError:
        raise ConfigError(
            f"{where}: {field} must be one of {', '.join(k.value for k in cls)}, got {value!r}"  # type: ignore[attr-defined]
        ) from None


def _seconds(value: Any, field: str, where: str, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{where}: {field} must be a number of seconds, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {field} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(out) or out < 0:
        raise ConfigError(f"{where}: {field} must be a finite number of seconds at least 0s, got {value!r}")
    return out


@dataclass(frozen=True)
class CallEvent:
    """Something that happened in a call at a known time.

    Attributes:
        kind: hold, silence, interruption or overlap.
        start_s: Seconds from the start of the recording.
        end_s: Seconds; at least ``start_s``.
        who: The party that interrupted or overlapped; ``both`` for holds and silences.
        source: The criterion id that judged it (holds of a ``hold_etiquette`` criterion),
            or ``characteristics`` for events measured from word times.
        text: A short description for people (e.g. why an overlap is not an interruption).
        announced_s: For holds judged by a criterion: when the agent announced the hold.
        thanked_s: For holds judged by a criterion: when the agent thanked the caller after.
    """

    kind: EventKind
    start_s: float
    end_s: float
    who: EventParty
    source: str
    text: str = ""
    announced_s: float | None = None
    thanked_s: float | None = None

    def __post_init__(self) -> None:
        where = "call event"
        object.__setattr__(self, "kind", _enum(EventKind, self.kind, "kind", where))
        object.__setattr__(self, "who", _enum(EventParty, self.who, "who", where))
        start = _seconds(self.start_s, "start_s", where)
        end = _seconds(self.end_s, "end_s", where)
        if end < start:  # type: ignore[operator]
            raise ConfigError(f"{where}: {self.kind.value} ends ({end}s) before it starts ({start}s)")
        object.__setattr__(self, "start_s", start)
        object.__setattr__(self, "end_s", end)
        object.__setattr__(self, "announced_s", _seconds(self.announced_s, "announced_s", where, optional=True))
        object.__setattr__(self, "thanked_s", _seconds(self.thanked_s, "thanked_s", where, optional=True))

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "who": self.who.value,
            "source": self.source,
            "text": self.text,
            "announced_s": None if self.announced_s is None else round(self.announced_s, 3),
            "thanked_s": None if self.thanked_s is None else round(self.thanked_s, 3),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "call event") -> "CallEvent":
        """An event from its mapping.

        Raises:
            ConfigError: A field is missing or has a wrong value; the message names ``where``.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: an event must be a mapping, got {type(data).__name__}")
        missing = [k for k in ("kind", "start_s", "end_s", "who") if data.get(k) is None]
        if missing:
            raise ConfigError(f"{where}: event without {', '.join(missing)}")
        kind = _enum(EventKind, data["kind"], "kind", where)
        start = _seconds(data["start_s"], "start_s", where)
        end = _seconds(data["end_s"], "end_s", where)
        if end < start:  # type: ignore[operator]
            raise ConfigError(f"{where}: {kind.value} ends ({end}s) before it starts ({start}s)")
        return cls(
            kind=kind,
            start_s=start,  # type: ignore[arg-type]
            end_s=end,  # type: ignore[arg-type]
            who=_enum(EventParty, data["who"], "who", where),
            source=str(data.get("source") or CHARACTERISTICS_SOURCE),
            text=str(data.get("text") or ""),
            announced_s=_seconds(data.get("announced_s"), "announced_s", where, optional=True),
            thanked_s=_seconds(data.get("thanked_s"), "thanked_s", where, optional=True),
        )


def sort_events(events: Iterable[CallEvent]) -> tuple[CallEvent, ...]:
    """Events in a fixed order (time, then kind, party and source), so that the same call
    always stores and draws the same bytes."""
    return tuple(sorted(events, key=lambda e: (e.start_s, e.end_s, e.kind.value, e.who.value, e.source, e.text)))


def events_json(events: Iterable[CallEvent]) -> str:
    """Events as the calls frame carries them: a JSON list of mappings."""
    return json.dumps([e.to_dict() for e in events], ensure_ascii=False)


def parse_events(value: Any, where: str = "events") -> tuple[CallEvent, ...] | None:
    """A call's events from the calls frame.

    Args:
        value: A JSON list of event mappings, a list of mappings or events, or None/NaN/''
            for a call scored before events were stored.
        where: Names the call in error messages.

    Returns:
        The events, or None when the call has none recorded (not the same as no events).

    Raises:
        ConfigError: The value is not a list of valid events.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: events are not JSON ({exc})") from exc
    if hasattr(value, "tolist"):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{where}: events must be a list of mappings, got {type(value).__name__}")
    return tuple(
        e if isinstance(e, CallEvent) else CallEvent.from_dict(e, f"{where}, event {n}") for n, e in enumerate(value, 1)
    )
