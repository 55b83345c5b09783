"""What personal data is redacted, and how the redacted audio copy sounds."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from qa_pipeline.errors import ConfigError
from qa_pipeline.optionspec import from_dict, internal, option

# The section of ``qa run --help`` the redaction flags are listed in.
PERSONAL = "Personal data"


class Entity(str, Enum):
    """A kind of personal data the redactor finds."""

    CARD = "card"  # payment card number (Luhn-valid, or said right after a card prompt)
    IBAN = "iban"
    BANK_ACCOUNT = "bank_account"  # account or routing number said after an account prompt
    PHONE = "phone"
    EMAIL = "email"
    SSN = "ssn"  # US social security number
    CN_ID = "cn_id"  # Chinese resident identity card number
    DOB = "dob"  # a date near "born", "date of birth", 出生…
    CVV = "cvv"  # card security code after a prompt

    @property
    def token(self) -> str:
        """The text that replaces the entity in transcripts, e.g. ``[CARD]``."""
        return TOKENS[self]


TOKENS: dict[Entity, str] = {
    Entity.CARD: "[CARD]",
    Entity.IBAN: "[IBAN]",
    Entity.BANK_ACCOUNT: "[ACCOUNT]",
    Entity.PHONE: "[PHONE]",
    Entity.EMAIL: "[EMAIL]",
    Entity.SSN: "[SSN]",
    Entity.CN_ID: "[ID_NUMBER]",
    Entity.DOB: "[DOB]",
    Entity.CVV: "[CVV]",
}

ALL_ENTITIES: tuple[str, ...] = tuple(e.value for e in Entity)

# Bumped when detection changes what gets redacted, so cached transcripts are redone.
DETECTOR_VERSION = 2


def parse_entities(value: Any) -> tuple[str, ...]:
    """Entity names from a comma-separated string or a list, validated, in canonical order.

    ``all`` stands for every entity.

    Raises:
        ConfigError: An unknown name, or nothing given.
    """
    if isinstance(value, str):
        names = [v.strip().lower() for v in value.split(",") if v.strip()]
    elif isinstance(value, (list, tuple)):
        names = [str(v).strip().lower() for v in value if str(v).strip()]
    else:
        raise ConfigError(f"redaction entities: expected a list or comma-separated text, got {value!r}")
    if "all" in names:
        return ALL_ENTITIES
    unknown = sorted(set(names) - set(ALL_ENTITIES))
    if unknown:
        raise ConfigError(
            f"redaction entities: unknown {', '.join(unknown)}; choose from {', '.join(ALL_ENTITIES)} or all"
        )
    if not names:
        raise ConfigError("redaction entities: none given (use enabled = false to turn redaction off)")
    return tuple(e for e in ALL_ENTITIES if e in names)


@dataclass(frozen=True)
class RedactionOptions:
    """Personal-data redaction of transcripts (and optionally of the audio).

    Attributes:
        enabled: Redact at all (on by default).
        entities: Which entities to redact (names of :class:`Entity`); default all.
        default_region: Region phone numbers without a country code are read in (ISO 3166
            code, e.g. ``US``, ``GB``, ``CN``).
        card_context: Also redact 12–19 digit numbers that fail the Luhn check when they are
            said right after a card prompt ("card number", "Visa"…): recognisers drop or
            mishear single digits, and a card number with one digit wrong is still a leak.
        context_seconds: How far back (seconds, either party) a prompt such as "security
            code" or "date of birth" still applies to a number or date.
        max_gap_seconds: Digit groups this close together are read as one number, even
            across turns.
        redact_audio: Write a copy of each recording with the redacted words replaced by a
            tone (needs ``audio_dir``).
        audio_dir: Folder of the redacted audio copies.
        tone_hz: Frequency of the replacing tone.
        tone_db: Level of the tone in dBFS.
        audio_pad_seconds: Margin added before and after each span in the audio, since
            recognisers' word times are approximate.
    """

    enabled: bool = option(
        True, flag="--redact/--no-redact", panel=PERSONAL,
        help="Replace personal data (card, bank and phone numbers, e-mails, SSNs, ID numbers, dates of birth, CVVs) by "
             "[CARD], [PHONE]… before anything is stored (default: on, or redaction.enabled in qa.toml).")
    entities: tuple[str, ...] = option(
        ALL_ENTITIES, flag="--redact-entities", value_type=str, parse=lambda v: parse_entities(v), shown=None, toml_types=(str, list),
        panel=PERSONAL,
        help="Which personal data to redact, comma-separated: card, iban, bank_account, phone, email, ssn, cn_id, "
             "dob, cvv, or all (default all).")
    default_region: str = option(
        "US", flag="--redact-default-region", panel=PERSONAL,
        help="Region phone numbers without a country code are read in (two letters: US, GB, CN…).")
    card_context: bool = option(
        True, flag="--redact-card-context/--no-redact-card-context", panel=PERSONAL,
        help="Also redact card-length numbers failing the Luhn check when said right after a card prompt.")
    context_seconds: float = option(
        15.0, flag="--redact-context-seconds", minimum=0.0, panel=PERSONAL,
        help="Seconds a prompt (\"security code\", \"date of birth\") still applies to a number or date.")
    max_gap_seconds: float = option(
        4.0, flag="--redact-max-gap-seconds", minimum=0.0, panel=PERSONAL,
        help="Digit groups this many seconds apart or closer are read as one number.")
    redact_audio: bool = internal(False, "turned on by --redact-audio / audio_dir, the folder of the copies")
    audio_dir: str | None = option(
        None, flag="--redact-audio", value_type=Path, implies={"redact_audio": True}, panel=PERSONAL,
        help="Also write a copy of each recording to this folder with the redacted words replaced by a tone.")
    tone_hz: float = option(
        1000.0, flag="--redact-tone-hz", minimum=20.0, maximum=8000.0, panel=PERSONAL,
        help="Frequency of the tone in the redacted audio copies, in Hz.")
    tone_db: float = option(
        -18.0, flag="--redact-tone-db", minimum=-60.0, maximum=0.0, panel=PERSONAL,
        help="Level of that tone in dBFS.")
    audio_pad_seconds: float = option(
        0.5, flag="--redact-audio-pad-seconds", minimum=0.0, panel=PERSONAL,
        help="Margin in seconds around each redacted span in the audio copies.")

    def __post_init__(self) -> None:
        object.__setattr__(self, "entities", parse_entities(self.entities))
        if not isinstance(self.default_region, str) or len(self.default_region) != 2 or not self.default_region.isalpha():
            raise ValueError(f"default_region must be a two-letter region code, got {self.default_region!r}")
        object.__setattr__(self, "default_region", self.default_region.upper())
        if self.context_seconds < 0 or self.max_gap_seconds < 0 or self.audio_pad_seconds < 0:
            raise ValueError("context_seconds, max_gap_seconds and audio_pad_seconds must not be negative")
        if not 20.0 <= self.tone_hz <= 8000.0:
            raise ValueError(f"tone_hz must be within 20..8000 Hz, got {self.tone_hz}")
        if not -60.0 <= self.tone_db <= 0.0:
            raise ValueError(f"tone_db must be within -60..0 dBFS, got {self.tone_db}")
        if self.audio_dir is not None:
            object.__setattr__(self, "audio_dir", str(self.audio_dir))
        if self.redact_audio and not self.audio_dir:
            raise ValueError("redact_audio needs audio_dir, the folder for the redacted copies")

    @property
    def active(self) -> frozenset[Entity]:
        """The entities redacted, empty when disabled."""
        return frozenset(Entity(e) for e in self.entities) if self.enabled else frozenset()

    @classmethod
    def from_dict(cls, data: "dict[str, Any] | RedactionOptions | None") -> "RedactionOptions":
        return from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["entities"] = list(self.entities)
        return out

    def cache_key(self) -> str:
        """A short hash of everything that changes a redacted transcript ("off" when disabled)."""
        if not self.enabled:
            return "off"
        recipe = {
            "entities": list(self.entities),
            "default_region": self.default_region,
            "card_context": self.card_context,
            "context_seconds": self.context_seconds,
            "max_gap_seconds": self.max_gap_seconds,
            "version": DETECTOR_VERSION,
        }
        return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
