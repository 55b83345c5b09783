"""Who the parties of a call are, before anyone is called agent or customer.

Recognition yields words per party: a stereo channel, or a diarized voice of a mono
recording (turns carry their ``channel``, and mono turns their ``voice``). Which party is the
agent is decided afterwards, by the role step (:func:`qa_pipeline.role_step.assign_roles`),
from the words and this record. Keeping the record in the transcript lets a cached or stored
transcript have its roles decided again with another scorecard's phrases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The two kinds of party; the values match ``RolesSource``.
CHANNEL = "channel"
DIARIZATION = "diarization"


@dataclass(frozen=True, slots=True)
class Parties:
    """What the role step needs besides the words.

    Attributes:
        kind: ``channel`` (a party per stereo channel) or ``diarization`` (a party per
            diarized voice of a mono recording).
        channels: The file channel of each stereo party, in party order (empty for mono).
        onsets: Seconds of each stereo party's first sustained speech energy (None: silent).
        configured: The agent channel fixed by the options, or None for ``auto``.
        voices: How many diarized voices said at least one word (mono).
        notes: Remarks on the diarization, added to the role decision's reason.
        notes_review: The diarization itself is unsure (voices alike): always flag for review.
    """

    kind: str
    channels: tuple[int, ...] = ()
    onsets: tuple[float | None, ...] = ()
    configured: int | None = None
    voices: int = 0
    notes: tuple[str, ...] = ()
    notes_review: bool = False

    def __post_init__(self) -> None:
        if self.kind not in (CHANNEL, DIARIZATION):
            raise ValueError(f"parties kind must be {CHANNEL!r} or {DIARIZATION!r}, not {self.kind!r}")
        if len(self.onsets) != len(self.channels):
            raise ValueError("parties need one onset per channel")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "channels": list(self.channels),
            "onsets": [None if o is None else round(o, 3) for o in self.onsets],
            "configured": self.configured,
            "voices": self.voices,
            "notes": list(self.notes),
            "notes_review": self.notes_review,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Parties":
        configured = data.get("configured")
        return cls(
            kind=str(data["kind"]),
            channels=tuple(int(c) for c in data.get("channels", ())),
            onsets=tuple(None if o is None else float(o) for o in data.get("onsets", ())),
            configured=None if configured is None else int(configured),
            voices=int(data.get("voices", 0)),
            notes=tuple(str(n) for n in data.get("notes", ())),
            notes_review=bool(data.get("notes_review", False)),
        )
