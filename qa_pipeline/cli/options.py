"""Option declarations shared by commands that transcribe (``transcribe``, later ``run``)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from qa_pipeline.errors import ConfigError
from qa_pipeline.options import AudioOptions, TranscribeOptions

if TYPE_CHECKING:
    from qa_pipeline.pii import RedactionOptions


class EngineName(str, Enum):
    faster_whisper = "faster-whisper"
    openai_whisper = "openai-whisper"


class DeviceName(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class BatchingName(str, Enum):
    call = "call"
    channel = "channel"
    off = "off"


EngineOpt = Annotated[EngineName, typer.Option("--engine", help="ASR engine.")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", help="Model name (tiny.en, base, small…) or local path. Default: the bundled tiny.en.")]
LanguageOpt = Annotated[Optional[str], typer.Option("--language", help="Language code (en, zh…); default: detect.")]
DeviceOpt = Annotated[DeviceName, typer.Option("--device", help="Where to run the model.")]
ComputeOpt = Annotated[str, typer.Option("--compute-type", help="CTranslate2 compute type; default int8 on CPU, float16 on CUDA.")]
BeamOpt = Annotated[int, typer.Option("--beam-size", min=1, help="Beam size; 1 = greedy.")]
VadOpt = Annotated[bool, typer.Option("--vad/--no-vad", help="Skip non-speech before decoding.")]
ThreadsOpt = Annotated[int, typer.Option("--threads", min=0, help="Inference threads; 0 = one per core.")]
BatchingOpt = Annotated[BatchingName, typer.Option("--batching", help="faster-whisper decoding: call = the speech of both channels packed into shared windows decoded in batches (default); off = each channel sequentially; channel = faster-whisper's batched pipeline per channel.")]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Windows decoded together when batching (default 8; larger on a GPU).")]
AgentChannelOpt = Annotated[str, typer.Option("--agent-channel", help="auto, 0 or 1: which stereo channel is the agent.")]
CustomerChannelOpt = Annotated[Optional[int], typer.Option("--customer-channel", help="Customer channel, for files with more than two channels.")]
RolesReviewOpt = Annotated[float, typer.Option("--roles-review-below", min=0.0, max=1.0, help="Flag calls for review when the agent/customer decision is less confident than this (0-1).")]
LanguageCheckOpt = Annotated[str, typer.Option("--language-check", help="Identify the spoken language: auto (when an English-only transcription looks unsure), always (every call, before transcription), off.")]
CoverageReviewOpt = Annotated[str, typer.Option("--coverage-review-below", help="Flag calls for review when less of a party's detected speech than this got recognised words (e.g. 90%).")]
MaxDurationOpt = Annotated[str, typer.Option("--max-duration", help="Refuse longer recordings (e.g. 4h, 90m, 600s).")]
CacheDirOpt = Annotated[Optional[Path], typer.Option("--cache-dir", help="Transcript cache folder (default ~/.cache/qa_pipeline).")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Always transcribe; neither read nor write the cache.")]
RedactOpt = Annotated[Optional[bool], typer.Option("--redact/--no-redact", help="Replace personal data (card, bank and phone numbers, e-mails, SSNs, ID numbers, dates of birth, CVVs) by [CARD], [PHONE]… before anything is stored (default: on, or redaction.enabled in qa.toml).")]
RedactEntitiesOpt = Annotated[Optional[str], typer.Option("--redact-entities", help="Which personal data to redact, comma-separated: card, iban, bank_account, phone, email, ssn, cn_id, dob, cvv, or all (default all).")]
RedactAudioOpt = Annotated[Optional[Path], typer.Option("--redact-audio", help="Also write a copy of each recording to this folder with the redacted words replaced by a tone.")]


def build_redaction(
    redact: bool | None,
    entities: str | None,
    audio_dir: Path | None,
    base: "RedactionOptions | None" = None,
) -> "RedactionOptions":
    """Redaction options from the flags, over ``base`` (qa.toml's, or the defaults).

    Raises:
        ConfigError: An unknown entity, or a redacted audio copy asked for with redaction off.
    """
    from dataclasses import replace

    from qa_pipeline.pii import RedactionOptions, parse_entities

    options = base or RedactionOptions()
    changes: dict[str, object] = {}
    if redact is not None:
        changes["enabled"] = redact
    if entities is not None:
        try:
            changes["entities"] = parse_entities(entities)
        except ConfigError as exc:
            raise ConfigError(f"--redact-entities: {exc}") from exc
    if audio_dir is not None:
        changes.update(redact_audio=True, audio_dir=str(audio_dir))
    if changes:
        try:
            options = replace(options, **changes)
        except ValueError as exc:
            raise ConfigError(f"redaction: {exc}") from exc
    if options.redact_audio and not options.enabled:
        raise ConfigError("--redact-audio needs redaction on (it was turned off with --no-redact or in qa.toml)")
    return options


def build_options(
    engine: EngineName,
    model: str | None,
    language: str | None,
    device: DeviceName,
    compute_type: str,
    beam_size: int,
    vad: bool,
    threads: int,
    agent_channel: str,
    customer_channel: int | None,
    max_duration: str,
    batching: BatchingName | str = BatchingName.call,
    batch_size: int = 8,
    roles_review_below: float = 0.7,
    coverage_review_below: str = "90%",
    language_check: str = "auto",
) -> tuple[AudioOptions, TranscribeOptions]:
    """Turn command-line values into the stage options objects.

    Raises:
        ConfigError: A value is out of range or malformed.
    """
    from qa_pipeline.units import parse_duration, parse_percentage

    try:
        seconds = parse_duration(max_duration)
    except (ConfigError, ValueError) as exc:
        raise ConfigError(f"--max-duration: {exc}") from exc
    try:
        coverage = parse_percentage(coverage_review_below)
    except (ConfigError, ValueError) as exc:
        raise ConfigError(f"--coverage-review-below: {exc}") from exc
    audio = AudioOptions.from_dict(
        {
            "agent_channel": agent_channel,
            "customer_channel": customer_channel,
            "max_duration_seconds": seconds,
            "roles_review_below": roles_review_below,
        }
    )
    transcribe = TranscribeOptions.from_dict(
        {
            "engine": engine.value,
            "model": model,
            "language": language,
            "device": device.value,
            "compute_type": compute_type,
            "beam_size": beam_size,
            "vad": vad,
            "cpu_threads": threads,
            "batching": BatchingName(batching).value,
            "batch_size": batch_size,
            "coverage_review_below": coverage,
            "language_check": language_check,
        }
    )
    return audio, transcribe
