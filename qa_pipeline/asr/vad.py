"""Speech regions of one channel, for the batched recognisers.

Silero VAD (shipped inside faster-whisper, run by onnxruntime) finds where a party speaks,
with the speech threshold and minimum silence the sequential path hands to faster-whisper
but more sound kept around each region (:data:`PACKED_SPEECH_PAD_MS`), and regions are
capped at a window's length so each fits one recognition window. Without VAD the whole
channel is cut into window-sized pieces at its quietest moments instead, so no word is split.

Long channels are searched in pieces of about :data:`VAD_PIECE_SECONDS`, cut at a quiet
moment: the detector copies its input several times over, which for a four-hour channel
would take gigabytes.
"""

from __future__ import annotations

import numpy as np

from qa_pipeline.asr.packing import SPEECH_SECONDS, SpeechRegion
from qa_pipeline.audio_channels import FRAME_SECONDS, frame_levels_db
from qa_pipeline.errors import EngineUnavailableError

# What the sequential path (and faster-whisper's batched pipeline) passes to faster-whisper's
# VAD: short pauses stay inside a region and each region keeps a little sound on either side,
# so first and last syllables survive.
MIN_SILENCE_MS = 500
SPEECH_PAD_MS = 200
# The packed path keeps more sound around each region: the quiet it leaves between neighbours
# in a window is how the decoder tells one stretch of speech from the next. On 37 rendered
# calls (30 min) the party word error rate went 0.0375 -> 0.0352 -> 0.0316 for 200, 300 and
# 400 ms (faster-whisper's own default), at the same processor time; longer pads (600,
# 800 ms) and longer minimum silences (1 s, 2 s) were no better.
PACKED_SPEECH_PAD_MS = 400

VAD_PIECE_SECONDS = 600.0
# A piece boundary (of VAD or of a no-VAD cut) moves to the quietest frame this far before it.
_CUT_SEARCH_SECONDS = 5.0


def vad_parameters() -> dict[str, int]:
    """The Silero VAD settings every faster-whisper path uses (a new dict each call)."""
    return {"min_silence_duration_ms": MIN_SILENCE_MS, "speech_pad_ms": SPEECH_PAD_MS}


def quiet_cuts(samples: np.ndarray, sample_rate: int, piece_seconds: float) -> list[int]:
    """Sample indices cutting a channel into pieces of at most ``piece_seconds``.

    Each inner cut sits at the quietest 20 ms frame in the last :data:`_CUT_SEARCH_SECONDS`
    before the limit. Starts with 0 and ends with ``len(samples)``.
    """
    total = len(samples)
    limit = int(piece_seconds * sample_rate)
    frame = int(round(FRAME_SECONDS * sample_rate))
    search = min(int(_CUT_SEARCH_SECONDS * sample_rate), limit // 2)
    cuts = [0]
    while total - cuts[-1] > limit:
        hi = cuts[-1] + limit
        lo = hi - search
        levels = frame_levels_db(samples[lo:hi], sample_rate, FRAME_SECONDS)
        cut = lo + int(np.argmin(levels)) * frame + frame // 2 if levels.size else hi
        cuts.append(min(max(cut, cuts[-1] + 1), hi))
    cuts.append(total)
    return cuts


def fixed_regions(samples: np.ndarray, sample_rate: int, stream: int) -> list[SpeechRegion]:
    """The whole channel as window-sized regions (recognition without VAD)."""
    cuts = quiet_cuts(samples, sample_rate, SPEECH_SECONDS)
    return [SpeechRegion(stream, a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def speech_regions(
    samples: np.ndarray, sample_rate: int, stream: int, speech_pad_ms: int = PACKED_SPEECH_PAD_MS
) -> list[SpeechRegion]:
    """Where one channel holds speech, as regions no longer than a recognition window.

    Args:
        samples: The channel, 16 kHz float32.
        sample_rate: Its rate (Silero VAD expects 16000).
        stream: The channel's index, recorded in each region.
        speech_pad_ms: Sound kept on either side of each region.

    Raises:
        EngineUnavailableError: faster-whisper (which carries the detector) is missing.
        ValueError: The rate is not 16 kHz.
    """
    if sample_rate != 16000:
        raise ValueError(f"speech detection expects 16000 Hz audio, got {sample_rate} Hz")
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError as exc:
        raise EngineUnavailableError(f"speech detection needs faster-whisper: {exc}") from exc
    # The detector pads each region after splitting at the maximum, so leave room for it.
    max_speech_seconds = SPEECH_SECONDS - 2 * speech_pad_ms / 1000
    options = VadOptions(
        max_speech_duration_s=max_speech_seconds, min_silence_duration_ms=MIN_SILENCE_MS, speech_pad_ms=speech_pad_ms
    )
    limit = int(SPEECH_SECONDS * sample_rate)
    regions: list[SpeechRegion] = []
    cuts = quiet_cuts(samples, sample_rate, VAD_PIECE_SECONDS)
    for a, b in zip(cuts, cuts[1:]):
        piece = np.ascontiguousarray(samples[a:b], dtype=np.float32)
        if not piece.size or not np.any(piece):
            continue
        for found in get_speech_timestamps(piece, options, sampling_rate=sample_rate):
            start, end = a + int(found["start"]), min(a + int(found["end"]), b)
            if regions and regions[-1].end > start:
                # Padding can make neighbours overlap; the earlier region gives way.
                start = regions[-1].end
            # Whole windows only: the detector's own cap leaves a margin, this is a backstop.
            while end - start > limit:
                regions.append(SpeechRegion(stream, start, start + limit))
                start += limit
            if end > start:
                regions.append(SpeechRegion(stream, start, end))
    return regions



def region_spans(regions: list[SpeechRegion], stream: int, sample_rate: int) -> tuple[tuple[float, float], ...]:
    """One channel's regions as sorted ``(start, end)`` seconds."""
    return tuple(sorted((r.start / sample_rate, r.end / sample_rate) for r in regions if r.stream == stream))


def speech_cores(spans: tuple[tuple[float, float], ...] | list[tuple[float, float]], pad_ms: int = PACKED_SPEECH_PAD_MS) -> list[tuple[float, float]]:
    """Detected speech without the sound the detector kept around it.

    A region shorter than twice the pad keeps its middle tenth of a second, so a short
    word the detector heard still counts as speech.
    """
    pad = pad_ms / 1000
    out = []
    for start, end in spans:
        if end - start > 2 * pad:
            out.append((start + pad, end - pad))
        else:
            middle = (start + end) / 2
            out.append((middle - 0.05, middle + 0.05))
    return out
