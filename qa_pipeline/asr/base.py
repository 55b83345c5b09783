"""The engine interface and the factory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from qa_pipeline.errors import ConfigError
from qa_pipeline.options import TranscribeOptions
from qa_pipeline.transcript import Word


@dataclass(frozen=True)
class ChannelResult:
    """What an engine recognised on one channel.

    Attributes:
        words: Recognised words in time order, times in seconds from the channel start.
        language: Language code the model decoded in.
        language_probability: Detection confidence (1.0 when the language was given).
        dropped_segments: Segments removed by hallucination guards, with the reason, for
            the log and for audit.
        speech_seconds: Seconds of audio the engine actually decoded (after VAD).
        vad_seconds: Wall seconds the engine spent finding speech on this channel, when it
            runs voice activity detection as a step of its own (0 when it cannot tell).
        speech_spans: Where voice activity detection found speech on the channel, as sorted
            ``(start, end)`` seconds, when the engine ran it; None when it did not (the
            pipeline then finds them itself to measure coverage).
        recovered_words: Of ``words``, how many only a second decode of detected speech
            without words found.
    """

    words: tuple[Word, ...]
    language: str
    language_probability: float = 1.0
    dropped_segments: tuple[str, ...] = field(default_factory=tuple)
    speech_seconds: float = 0.0
    vad_seconds: float = 0.0
    speech_spans: tuple[tuple[float, float], ...] | None = None
    recovered_words: int = 0


class Engine(Protocol):
    """A loaded speech-recognition model."""

    name: str
    model_name: str

    def transcribe(self, samples: np.ndarray, language: str | None = None) -> ChannelResult:
        """Recognise one channel.

        Args:
            samples: 16 kHz mono float32 samples in [-1, 1].
            language: ISO code, or None to detect.
        """
        ...


def create_engine(options: TranscribeOptions) -> Engine:
    """Load the engine and model the options name (once; reuse it for every call).

    Raises:
        ModelError: The model cannot be found or loaded, or cannot do the requested language.
        EngineUnavailableError: The engine's optional package is not installed.
    """
    if options.engine == "faster-whisper":
        from qa_pipeline.asr.faster_whisper import FasterWhisperEngine

        return FasterWhisperEngine(options)
    if options.engine == "openai-whisper":
        from qa_pipeline.asr.openai_whisper import OpenAIWhisperEngine

        return OpenAIWhisperEngine(options)
    raise ConfigError(f"unknown engine {options.engine!r}")
