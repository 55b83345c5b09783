"""Options objects, one per stage, shared by the CLI, the batch runner and notebooks.

Each is a frozen dataclass whose fields declare their flag, ``qa.toml`` key, default and help
(:func:`qa_pipeline.optionspec.option`): the commands' flags and the ``[transcribe]`` table
of ``qa.toml`` are derived from them, and :func:`qa_pipeline.optionspec.resolve` merges the
two. ``from_dict`` reads a record back from its ``to_dict``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from qa_pipeline.errors import ConfigError
from qa_pipeline.optionspec import from_dict, internal, option

HOUR = 3600.0

# How faster-whisper decodes (see TranscribeOptions.batching).
BATCHING_MODES = ("call", "channel", "off")
# When the spoken language is identified (see TranscribeOptions.language_check).
LANGUAGE_CHECKS = ("auto", "always", "off")


def _duration(value: Any) -> float:
    from qa_pipeline.units import parse_duration

    return parse_duration(value)


def _percentage(value: Any) -> float:
    from qa_pipeline.units import parse_percentage

    return parse_percentage(value)


# The sections of ``qa run --help`` (qa_pipeline.cli.run) the stage options are listed in.
INPUT, TRANSCRIPTION, SCORING, EXECUTION, PERSONAL = "Input", "Transcription", "Scoring", "Execution", "Personal data"


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

    agent_channel: Literal["auto", 0, 1] | int = option(
        "auto", value_type=str, toml_types=(str, int), panel=INPUT, help="auto, 0 or 1: which stereo channel is the agent.")
    customer_channel: int | None = option(
        None, panel=INPUT, help="Customer channel, for files with more than two channels.")
    max_duration_seconds: float = option(
        4 * HOUR, key="max_duration", value_type=str, parse=_duration, shown="4h", panel=INPUT,
        help="Refuse longer recordings (e.g. 4h, 90m, 600s).")
    sample_rate: int = internal(16000, "the rate Whisper models are trained on; other rates do not decode")
    roles_review_below: float = option(
        0.7, minimum=0.0, maximum=1.0, panel=SCORING,
        help="Flag calls for review when the agent/customer decision is less confident than this (0-1).")

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
        return from_dict(cls, data)

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

    engine: str = option(
        "faster-whisper", choices=("faster-whisper", "openai-whisper"), panel=TRANSCRIPTION, help="ASR engine.")
    model: str | None = option(
        None, panel=TRANSCRIPTION,
        help="Model name (tiny.en, base, small…) or local path. Default: the bundled tiny.en.")
    language: str | None = option(None, panel=TRANSCRIPTION, help="Language code (en, zh…); default: detect.")
    device: str = option("auto", choices=("auto", "cpu", "cuda"), panel=TRANSCRIPTION, help="Where to run the model.")
    compute_type: str = option(
        "default", panel=TRANSCRIPTION, help="CTranslate2 compute type; default int8 on CPU, float16 on CUDA.")
    beam_size: int = option(1, minimum=1, panel=TRANSCRIPTION, help="Beam size; 1 = greedy.")
    vad: bool = option(True, panel=TRANSCRIPTION, help="Skip non-speech before decoding.")
    cpu_threads: int = option(
        0, key="threads", minimum=0, panel=EXECUTION, help="Inference threads; 0 = one per core.")
    no_speech_threshold: float = option(
        0.6, minimum=0.0, maximum=1.0, panel=TRANSCRIPTION,
        help="Drop a segment the model thinks is silence with more than this probability when it also "
             "decodes with low confidence (0-1).")
    log_prob_threshold: float = option(
        -1.0, panel=TRANSCRIPTION, help="Average log-probability under which such a segment is dropped.")
    min_word_probability: float = option(
        0.05, minimum=0.0, maximum=1.0, panel=TRANSCRIPTION,
        help="Drop words the recogniser is less sure of than this (0-1).")
    turn_gap_seconds: float = option(
        1.0, key="turn_gap", value_type=str, parse=_duration, shown="1s", panel=TRANSCRIPTION,
        help="A longer pause splits a party's speech into two turns (e.g. 1s, 800ms).")
    batching: str = option(
        "call", choices=BATCHING_MODES, panel=TRANSCRIPTION,
        help="faster-whisper decoding: call = the speech of both channels packed into shared windows decoded "
             "in batches (default); off = each channel sequentially; channel = faster-whisper's batched "
             "pipeline per channel.")
    batch_size: int = option(
        8, minimum=1, panel=TRANSCRIPTION, help="Windows decoded together when batching (default 8; larger on a GPU).")
    redecode_uncovered: bool = option(
        True, panel=TRANSCRIPTION, help="Decode again, each on its own, stretches of detected speech that got no words.")
    coverage_review_below: float = option(
        0.9, value_type=str, parse=_percentage, shown="90%", panel=TRANSCRIPTION,
        help="Flag calls for review when less of a party's detected speech than this got recognised words (e.g. 90%).")
    language_check: str = option(
        "auto", choices=LANGUAGE_CHECKS, panel=TRANSCRIPTION,
        help="Identify the spoken language: auto (when an English-only transcription looks unsure), always "
             "(every call, before transcription), off.")

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
        return from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def cache_key(self) -> str:
        """A short hash of every option that changes the transcript."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class CacheOptions:
    """Where transcripts are cached between runs (see :mod:`qa_pipeline.cache`).

    Attributes:
        cache_dir: The cache folder; None = ``~/.cache/qa_pipeline``.
        no_cache: Always transcribe; neither read nor write the cache.
    """

    cache_dir: str | None = option(
        None, value_type=Path, panel=TRANSCRIPTION, help="Transcript cache folder (default ~/.cache/qa_pipeline).")
    no_cache: bool = option(False, panel=TRANSCRIPTION, help="Always transcribe; neither read nor write the cache.")

    @classmethod
    def from_dict(cls, data: "dict[str, Any] | CacheOptions | None") -> "CacheOptions":
        return from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def path(self) -> Path | None:
        """The cache folder as a path, None for the default."""
        return None if self.cache_dir is None else Path(self.cache_dir)


# The records whose options the [transcribe] table of qa.toml holds, and the flags of the
# commands that transcribe (qa run, qa transcribe).
TRANSCRIBE_RECORDS: tuple[type, ...] = (TranscribeOptions, AudioOptions, CacheOptions)


@dataclass(frozen=True)
class ScoringOptions:
    """How results are reported (``[scoring]`` in ``qa.toml``).

    Attributes:
        max_evidence: Most evidence records kept per criterion (the rest are counted in the
            reason, never silently dropped from the verdict).
    """

    max_evidence: int = option(8, minimum=1, panel=SCORING, help="Evidence records kept per criterion.")

    def __post_init__(self) -> None:
        if self.max_evidence < 1:
            raise ConfigError("max_evidence must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        return {"max_evidence": self.max_evidence}

    @classmethod
    def from_dict(cls, data: "dict[str, Any] | ScoringOptions | None") -> "ScoringOptions":
        return from_dict(cls, data)
