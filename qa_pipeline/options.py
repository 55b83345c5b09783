"""Options objects, one per stage, shared by the CLI, the batch runner and notebooks.

Each is a frozen dataclass with documented defaults; ``from_dict`` accepts the same names as
the CLI flags so a config file and a command line mean the same thing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from qa_pipeline.errors import ConfigError

T = TypeVar("T")

HOUR = 3600.0

# How faster-whisper decodes (see TranscribeOptions.batching).
BATCHING_MODES = ("call", "channel", "off")
# When the spoken language is identified (see TranscribeOptions.language_check).
LANGUAGE_CHECKS = ("auto", "always", "off")


def _from_dict(cls: type[T], data: dict[str, Any] | T | None) -> T:
    if data is None:
        return cls()
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__}: expected a mapping, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{cls.__name__}: unknown option(s) {', '.join(unknown)}")
    try:
        return cls(**data)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{cls.__name__}: {exc}") from exc


@dataclass(frozen=True)
class AudioOptions:
    """How recordings are decoded and which channel belongs to whom.

    Attributes:
        agent_channel: ``"auto"`` (decide from who greets / speaks first), ``0`` or ``1``.
        customer_channel: Needed only for files with more than two channels, together with an
            explicit ``agent_channel``; otherwise the channel that is not the agent's.
        max_duration_seconds: Longer recordings are refused (default 4 hours).
        sample_rate: Target rate in Hz for the recogniser; Whisper expects 16 kHz.
        roles_review_below: Calls whose agent/customer decision has a lower confidence
            (0..1) are scored but flagged ``roles_review``.
    """

    agent_channel: Literal["auto", 0, 1] | int = "auto"
    customer_channel: int | None = None
    max_duration_seconds: float = 4 * HOUR
    sample_rate: int = 16000
    roles_review_below: float = 0.7

    def __post_init__(self) -> None:
        ac = self.agent_channel
        if isinstance(ac, str) and ac != "auto":
            if not ac.isdigit():
                raise ValueError(f"agent_channel must be 'auto' or a channel number, got {ac!r}")
            object.__setattr__(self, "agent_channel", int(ac))
        if isinstance(self.agent_channel, int) and self.agent_channel < 0:
            raise ValueError(f"agent_channel must be >= 0, got {self.agent_channel}")
        if self.customer_channel is not None and self.customer_channel < 0:
            raise ValueError(f"customer_channel must be >= 0, got {self.customer_channel}")
        if self.customer_channel is not None and self.customer_channel == self.agent_channel:
            raise ValueError("agent_channel and customer_channel must differ")
        if self.max_duration_seconds <= 0:
            raise ValueError("max_duration_seconds must be positive")
        if not 0.0 <= self.roles_review_below <= 1.0:
            raise ValueError(f"roles_review_below must be within 0..1, got {self.roles_review_below}")

    @classmethod
    def from_dict(cls, data: "dict[str, Any] | AudioOptions | None") -> "AudioOptions":
        return _from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TranscribeOptions:
    """How speech is recognised.

    Attributes:
        engine: ``faster-whisper`` (default) or ``openai-whisper``.
        model: Model name (``tiny.en``, ``base``, ``small``…) or a local path; None = the
            bundled tiny.en model, which works offline.
        language: ISO code (``en``, ``zh``…) or None to detect.
        device: ``auto``, ``cpu`` or ``cuda``.
        compute_type: CTranslate2 compute type; ``default`` = int8 on CPU, float16 on CUDA.
        beam_size: 1 = greedy decoding.
        vad: Skip non-speech with Silero VAD before decoding (and drop words outside speech).
        cpu_threads: Threads for inference; 0 = one per core.
        no_speech_threshold: Segments the model thinks are silence above this probability are
            dropped when they also decode with low confidence (hallucination guard).
        log_prob_threshold: Average log-probability under which such a segment is dropped.
        min_word_probability: Words the recogniser is less sure of than this are dropped.
        turn_gap_seconds: A pause longer than this splits a party's speech into two turns.
        batching: How faster-whisper decodes: ``call`` (default) packs the speech regions of
            all of a call's channels into shared 30-second windows and decodes them in
            batches (``qa bench`` on two cores: 42× real time and WER 0.035, against 37× and
            0.044 for sequential decoding); ``off`` decodes each channel sequentially;
            ``channel`` runs faster-whisper's batched pipeline on each channel. The
            openai-whisper engine ignores it.
        batch_size: Windows decoded together when batching.
        redecode_uncovered: Decode again, each on its own, the stretches of detected speech
            that got no words (see :mod:`qa_pipeline.asr.coverage`).
        language_check: How the spoken language is checked (the language gate, see
            :mod:`qa_pipeline.asr.language`): ``auto`` (default) identifies it with the
            multilingual detector only when an English-only model's output looks unlike
            English (few or unsure words, speech without words); ``always`` identifies every
            call before transcription (one multilingual encoder pass per call); ``off``.
        coverage_review_below: A call where a party's speech coverage (seconds of detected
            speech with recognised words / seconds of detected speech, 0..1) stays under this
            is flagged for review.
    """

    engine: str = "faster-whisper"
    model: str | None = None
    language: str | None = None
    device: str = "auto"
    compute_type: str = "default"
    beam_size: int = 1
    vad: bool = True
    cpu_threads: int = 0
    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    min_word_probability: float = 0.05
    turn_gap_seconds: float = 1.0
    batching: str = "call"
    batch_size: int = 8
    redecode_uncovered: bool = True
    coverage_review_below: float = 0.9
    language_check: str = "auto"

    def __post_init__(self) -> None:
        if self.engine not in ("faster-whisper", "openai-whisper"):
            raise ValueError(f"engine must be faster-whisper or openai-whisper, got {self.engine!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if self.beam_size < 1:
            raise ValueError("beam_size must be >= 1")
        if self.turn_gap_seconds <= 0:
            raise ValueError("turn_gap_seconds must be positive")
        if self.batching not in BATCHING_MODES:
            raise ValueError(f"batching must be one of {', '.join(BATCHING_MODES)}, got {self.batching!r}")
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if self.language_check not in LANGUAGE_CHECKS:
            raise ValueError(f"language_check must be one of {', '.join(LANGUAGE_CHECKS)}, got {self.language_check!r}")
        if not 0.0 <= self.coverage_review_below <= 1.0:
            raise ValueError(f"coverage_review_below must be within 0..1, got {self.coverage_review_below}")

    @classmethod
    def from_dict(cls, data: "dict[str, Any] | TranscribeOptions | None") -> "TranscribeOptions":
        return _from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def cache_key(self) -> str:
        """A short hash of every option that changes the transcript."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
