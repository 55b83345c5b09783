"""Speech regions of a mono recording, from the Silero voice activity detector.

The detector ships inside the faster-whisper package (an ONNX model run by onnxruntime), so
it works offline and needs nothing beyond the default install.
"""

from __future__ import annotations

import numpy as np

from qa_pipeline.diarization.options import DiarizationOptions
from qa_pipeline.diarization.records import Span
from qa_pipeline.errors import EngineUnavailableError

SAMPLE_RATE = 16000


def speech_regions(samples: np.ndarray, sample_rate: int, options: DiarizationOptions) -> list[Span]:
    """Find the stretches of speech in one channel.

    Args:
        samples: Mono float32 samples.
        sample_rate: Their rate in Hz; must be 16 kHz (what the detector expects).
        options: Detection thresholds.

    Returns:
        Speech regions in time order, separated by pauses of at least
        ``options.min_silence_seconds``.

    Raises:
        EngineUnavailableError: faster-whisper (which carries the detector) is missing.
        ValueError: The rate is not 16 kHz.
    """
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"speech detection expects {SAMPLE_RATE} Hz audio, got {sample_rate} Hz")
    if samples.size == 0:
        return []
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError as exc:
        raise EngineUnavailableError(f"speech detection needs faster-whisper: {exc}") from exc
    vad = VadOptions(
        threshold=options.vad_threshold,
        min_speech_duration_ms=100,
        min_silence_duration_ms=int(round(options.min_silence_seconds * 1000)),
        speech_pad_ms=int(round(options.speech_pad_seconds * 1000)),
    )
    chunks = get_speech_timestamps(np.ascontiguousarray(samples, dtype=np.float32), vad, sampling_rate=sample_rate)
    spans = [Span(c["start"] / sample_rate, c["end"] / sample_rate) for c in chunks]
    # Padding can make neighbours touch; keep regions disjoint and ordered.
    merged: list[Span] = []
    for s in spans:
        if merged and s.start <= merged[-1].end:
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, s.end))
        else:
            merged.append(s)
    return merged
