"""Option declarations shared by commands that transcribe (``transcribe``, later ``run``)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from qa_pipeline.errors import ConfigError
from qa_pipeline.options import AudioOptions, TranscribeOptions


class EngineName(str, Enum):
    faster_whisper = "faster-whisper"
    openai_whisper = "openai-whisper"


class DeviceName(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


EngineOpt = Annotated[EngineName, typer.Option("--engine", help="ASR engine.")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", help="Model name (tiny.en, base, small…) or local path. Default: the bundled tiny.en.")]
LanguageOpt = Annotated[Optional[str], typer.Option("--language", help="Language code (en, zh…); default: detect.")]
DeviceOpt = Annotated[DeviceName, typer.Option("--device", help="Where to run the model.")]
ComputeOpt = Annotated[str, typer.Option("--compute-type", help="CTranslate2 compute type; default int8 on CPU, float16 on CUDA.")]
BeamOpt = Annotated[int, typer.Option("--beam-size", min=1, help="Beam size; 1 = greedy.")]
VadOpt = Annotated[bool, typer.Option("--vad/--no-vad", help="Skip non-speech before decoding.")]
ThreadsOpt = Annotated[int, typer.Option("--threads", min=0, help="Inference threads; 0 = one per core.")]
AgentChannelOpt = Annotated[str, typer.Option("--agent-channel", help="auto, 0 or 1: which stereo channel is the agent.")]
CustomerChannelOpt = Annotated[Optional[int], typer.Option("--customer-channel", help="Customer channel, for files with more than two channels.")]
MaxDurationOpt = Annotated[str, typer.Option("--max-duration", help="Refuse longer recordings (e.g. 4h, 90m, 600s).")]
CacheDirOpt = Annotated[Optional[Path], typer.Option("--cache-dir", help="Transcript cache folder (default ~/.cache/qa_pipeline).")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Always transcribe; neither read nor write the cache.")]


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
) -> tuple[AudioOptions, TranscribeOptions]:
    """Turn command-line values into the stage options objects.

    Raises:
        ConfigError: A value is out of range or malformed.
    """
    from qa_pipeline.units import parse_duration

    try:
        seconds = parse_duration(max_duration)
    except (ConfigError, ValueError) as exc:
        raise ConfigError(f"--max-duration: {exc}") from exc
    audio = AudioOptions.from_dict(
        {"agent_channel": agent_channel, "customer_channel": customer_channel, "max_duration_seconds": seconds}
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
        }
    )
    return audio, transcribe
