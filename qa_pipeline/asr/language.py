"""The language gate: which language a call is spoken in, before it is transcribed and scored.

The default model, tiny.en, knows English only: given Mandarin it writes English-sounding
nonsense that scores like a poor English call and drags the agent's and team's figures down.
So a call's language is identified from the first speech of each channel (found by the
same voice activity detection the recognisers use), laid end to end in one Whisper window of
:data:`DETECT_SECONDS` (each channel gets an equal share), by the packaged multilingual
Whisper base (the ``multilingual`` extra). A call spoken, with confidence, in a language the
model cannot transcribe fails with the reason and the way out (:class:`LanguageGateError`),
so it is neither scored nor counted in statistics.

That costs one encoder pass of base per call: on two busy cores 1-4 s, as much as
recognising a short call with tiny.en. So by default (``language_check: auto``) the detector
runs only on calls whose English-only transcription looks unlike English
(:func:`looks_foreign`): on the real English recordings tiny.en keeps 0.84-0.88 mean word
probability, 2.6-3.4 words per second of speech and over 95 % speech coverage, while on
Mandarin it keeps no words at all. ``always`` runs it on every call, before transcription.
A multilingual model identifies the language while it transcribes, at no extra cost.

Without the multilingual package nothing can tell the language: the transcript then
records ``verified: false`` with why, and the call goes on as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qa_pipeline.errors import ModelError
from qa_pipeline.log import get_logger
from qa_pipeline.speechchecks import LanguageCheck
from qa_pipeline.transcript import Word

log = get_logger("asr")

SAMPLE_RATE = 16000
# Speech the detector hears per channel: one Whisper window.
DETECT_SECONDS = 30.0
# Audio searched for a channel's first speech.
SEARCH_SECONDS = 60.0
# Silence after each channel's piece in the detection window.
GAP_SECONDS = 0.5
# Below this probability a detection is too unsure to refuse a call on.
MIN_GATE_PROBABILITY = 0.5
# An English-only model's transcript under either figure is checked by the detector.
SCREEN_MIN_WORD_PROBABILITY = 0.7
SCREEN_MIN_WORDS_PER_SECOND = 1.5

LANGUAGE_NAMES = {
    "en": "English", "zh": "Chinese", "yue": "Cantonese", "es": "Spanish", "fr": "French", "de": "German",
    "it": "Italian", "pt": "Portuguese", "nl": "Dutch", "ru": "Russian", "ja": "Japanese", "ko": "Korean",
    "ar": "Arabic", "hi": "Hindi", "tr": "Turkish", "pl": "Polish", "vi": "Vietnamese", "th": "Thai",
    "id": "Indonesian", "uk": "Ukrainian", "sv": "Swedish", "he": "Hebrew", "el": "Greek", "cs": "Czech",
}


class LanguageGateError(ModelError):
    """The call is spoken in a language the configured model cannot transcribe."""


def language_name(code: str) -> str:
    """A readable name for an ISO code (the code itself when unknown)."""
    return LANGUAGE_NAMES.get(code, code)


def first_speech(samples: np.ndarray, sample_rate: int = SAMPLE_RATE, seconds: float = DETECT_SECONDS) -> np.ndarray:
    """Up to ``seconds`` of a channel's first detected speech, silences between removed."""
    from qa_pipeline.asr.vad import SPEECH_PAD_MS, speech_regions

    head = np.ascontiguousarray(samples[: int(SEARCH_SECONDS * sample_rate)], dtype=np.float32)
    if head.size < sample_rate // 10 or not np.any(head):
        return np.zeros(0, dtype=np.float32)
    limit = int(seconds * sample_rate)
    pieces: list[np.ndarray] = []
    taken = 0
    for region in speech_regions(head, sample_rate, 0, speech_pad_ms=SPEECH_PAD_MS):
        piece = head[region.start : min(region.end, region.start + limit - taken)]
        pieces.append(piece)
        taken += piece.size
        if taken >= limit:
            break
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


class WhisperLanguageDetector:
    """Language identification with a multilingual faster-whisper model.

    Args:
        model: A loaded multilingual ``faster_whisper.WhisperModel``.
        name: The model's name, for the record.
    """

    def __init__(self, model: Any, name: str) -> None:
        self.model = model
        self.name = name

    def detect(self, speech: np.ndarray) -> tuple[str, float]:
        """The most probable language of the speech and its probability."""
        from qa_pipeline.blas import one_blas_thread

        # The features are a numpy matrix product, the same on one thread in every process.
        with one_blas_thread():
            language, probability, _ = self.model.detect_language(audio=speech, vad_filter=False)
        return str(language), float(probability)


def packaged_detector(cpu_threads: int = 0) -> WhisperLanguageDetector | None:
    """The packaged multilingual base as a detector, or None when the extra is not installed.

    Raises:
        ModelError: The packages are installed but the joined model is damaged.
    """
    from qa_pipeline.asr.models import MULTILINGUAL_MODEL_NAME, multilingual_installed, multilingual_model_dir

    if not multilingual_installed():
        return None
    from faster_whisper import WhisperModel

    from qa_pipeline.asr.device import available_cores

    path = multilingual_model_dir()
    model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=cpu_threads or available_cores())
    return WhisperLanguageDetector(model, MULTILINGUAL_MODEL_NAME)


def identify_language(
    detector: WhisperLanguageDetector | None,
    channels: Sequence[np.ndarray],
    channel_ids: Sequence[int],
    unavailable: str = "",
) -> LanguageCheck:
    """Identify a call's language from the first speech of each channel.

    The channels' first speech shares one window, so the check costs one encoder pass per
    call (the encoder's cost is the same for 10 s as for 30 s of audio); the file channels
    that contributed are recorded with the call's result.

    Args:
        detector: The detector, or None when there is none (the check is then unverified).
        channels: The party channels, 16 kHz float32.
        channel_ids: The file channel of each.
        unavailable: Why there is no detector (recorded when ``detector`` is None).
    """
    if detector is None:
        return LanguageCheck(language=None, probability=0.0, verified=False, detector="", note=unavailable)
    share = DETECT_SECONDS / max(1, len(channels)) - GAP_SECONDS
    gap = np.zeros(int(GAP_SECONDS * SAMPLE_RATE), dtype=np.float32)
    pieces: list[np.ndarray] = []
    heard: list[int] = []
    for ch, samples in zip(channel_ids, channels):
        speech = first_speech(samples, SAMPLE_RATE, share)
        if speech.size < SAMPLE_RATE // 2:  # half a second of speech says nothing
            continue
        pieces.extend((speech, gap))
        heard.append(ch)
    if not pieces:
        return LanguageCheck(language=None, probability=0.0, verified=False, detector=detector.name, note="no speech to identify")
    language, probability = detector.detect(np.concatenate(pieces))
    return LanguageCheck(
        language=language,
        probability=probability,
        verified=True,
        detector=detector.name,
        channels=tuple((ch, language, probability) for ch in heard),
    )


def looks_foreign(words: Sequence[Word], speech_seconds: float, coverage_review: bool) -> str | None:
    """Why an English-only model's transcript may not be English, or None when it looks English.

    Args:
        words: Every recognised word of the call.
        speech_seconds: Detected speech, all channels together.
        coverage_review: The call's speech coverage is under the review threshold.
    """
    if speech_seconds <= 0:
        return None
    mean = sum(w.probability for w in words) / len(words) if words else 0.0
    rate = len(words) / speech_seconds
    if coverage_review or mean < SCREEN_MIN_WORD_PROBABILITY or rate < SCREEN_MIN_WORDS_PER_SECOND:
        return f"mean word probability {mean:.2f}, {rate:.1f} words per second of speech"
    return None


def screened_english(words: Sequence[Word], speech_seconds: float) -> LanguageCheck:
    """The record of a call the screen let through as English without running the detector."""
    mean = sum(w.probability for w in words) / len(words) if words else 0.0
    rate = len(words) / speech_seconds if speech_seconds > 0 else 0.0
    return LanguageCheck(
        language="en",
        probability=0.0,
        verified=False,
        note=f"not run through the detector: English words recognised with confidence (mean word probability "
        f"{mean:.2f}, {rate:.1f} words per second of speech)",
    )


def enforce_gate(check: LanguageCheck, model_name: str, english_only: bool, call_id: str) -> None:
    """Refuse a call spoken in a language the model cannot transcribe.

    Raises:
        LanguageGateError: The check is verified and confident, the language is not English,
            and the model knows English only.
    """
    if not check.verified or check.language is None or check.probability < MIN_GATE_PROBABILITY:
        return
    if english_only and check.language != "en":
        raise LanguageGateError(
            f"call {call_id}: spoken language is {language_name(check.language)} ({check.language}, "
            f"p={check.probability:.2f}); model {model_name} transcribes English only; configure a "
            f"multilingual model (--model base, or model = \"base\" under [transcribe] in qa.toml, with the "
            f"multilingual extra installed) and a scorecard whose languages include {check.language}"
        )


def detected_language(check: LanguageCheck, requested: str | None) -> str | None:
    """The language to decode in: the requested one, else a confident detection, else None."""
    if requested:
        return requested
    if check.verified and check.language is not None and check.probability >= MIN_GATE_PROBABILITY:
        return check.language
    return None

