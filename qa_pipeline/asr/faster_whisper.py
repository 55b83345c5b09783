"""The default engine: faster-whisper on CTranslate2 (int8 on CPU, float16 on CUDA).

Three ways to decode (``TranscribeOptions.batching``): ``call`` recognises all of a call's
channels together, their speech packed into shared windows decoded in batches
(:mod:`qa_pipeline.asr.batched`); ``channel`` runs faster-whisper's batched pipeline on each
channel; ``off`` decodes each channel sequentially with faster-whisper's long-form decoder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from qa_pipeline.asr.base import ChannelResult
from qa_pipeline.asr.device import CUDA_HINT, available_cores, resolve_compute_type, resolve_device
from qa_pipeline.asr.models import check_language, resolve_ct2_model
from qa_pipeline.asr.vad import region_spans, speech_cores, speech_regions, vad_parameters
from qa_pipeline.blas import one_blas_thread
from qa_pipeline.errors import EngineUnavailableError, ModelError
from qa_pipeline.log import get_logger
from qa_pipeline.options import TranscribeOptions
from qa_pipeline.transcript import Word

log = get_logger("asr")

SAMPLE_RATE = 16000


class FasterWhisperEngine:
    """Whisper through faster-whisper, loaded once and reused for every channel and call.

    Args:
        options: Transcription options; ``model`` None means the bundled tiny.en.

    Raises:
        ModelError: The model cannot be found or loaded.
        EngineUnavailableError: faster-whisper is not installed.
        ConfigError: CUDA was requested but is not available, or the compute type cannot
            run on the device.
    """

    name = "faster-whisper"

    def __init__(self, options: TranscribeOptions) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise EngineUnavailableError("faster-whisper is not installed: pip install faster-whisper") from exc
        self.options = options
        self._detector: Any = None  # the language gate's detector, loaded on first use
        self.resolved = resolve_ct2_model(options.model)
        check_language(self.resolved, options.language)
        self.model_name = self.resolved.name
        self.device = resolve_device(options.device)
        compute_type = resolve_compute_type(options.compute_type, self.device, fallback=options.device == "auto")
        self.compute_type = compute_type
        # Channels of a call are recognised together (see transcribe_channels).
        self.packs_channels = options.batching == "call"
        threads = options.cpu_threads or available_cores()
        source = str(self.resolved.path) if self.resolved.path else self.resolved.name
        started = time.perf_counter()
        try:
            self._model = WhisperModel(
                source,
                device=self.device,
                compute_type=compute_type,
                cpu_threads=threads,
                # A hub name must not trigger a download on an offline machine unnoticed.
                local_files_only=self.resolved.path is None and os.environ.get("HF_HUB_OFFLINE") == "1",
            )
        except (OSError, ValueError, RuntimeError) as exc:
            if self.device == "cuda" and self.resolved.path is not None:
                # A local model that fails only on the GPU: the CUDA libraries, not the files.
                raise ModelError(f"cannot load model {self.model_name!r} on CUDA ({exc}): {CUDA_HINT}") from exc
            raise ModelError(
                f"cannot load model {self.model_name!r} for faster-whisper ({exc}); models other "
                "than the bundled tiny.en are downloaded on first use, which needs network access: "
                "on an offline machine pass --model /path/to/a/ctranslate2/model"
            ) from exc
        log.info(
            "loaded %s on %s (%s, %d threads) in %.2fs",
            self.model_name, self.device, compute_type, threads, time.perf_counter() - started,
        )

    @property
    def multilingual(self) -> bool:
        return bool(self._model.model.is_multilingual)

    @property
    def english_only(self) -> bool:
        return not self.multilingual

    def language_detector(self) -> tuple[Any, str]:
        """The detector of the language gate, or None and why there is none.

        A multilingual model identifies languages itself; for an English-only one the
        packaged multilingual base is loaded once, when installed.
        """
        from qa_pipeline.asr.language import WhisperLanguageDetector, packaged_detector

        if self.multilingual:
            return WhisperLanguageDetector(self._model, self.model_name), ""
        if self._detector is None:
            self._detector = packaged_detector(self.options.cpu_threads) or False
        if self._detector is False:
            return None, "language not verified: no multilingual model installed (pip install 'qa_pipeline[multilingual]')"
        return self._detector, ""

    def _language(self, language: str | None) -> str | None:
        language = language or self.options.language
        return "en" if not self.multilingual else language

    def transcribe_channels(self, channels: Sequence[np.ndarray], language: str | None = None) -> list[ChannelResult]:
        """Recognise the channels of one call together (``batching: call``).

        The speech regions of all channels share recognition windows, decoded in batches;
        each word comes back on its own channel's timeline.

        Args:
            channels: 16 kHz mono float32 channels, in [-1, 1].
            language: ISO code, or None to detect once for the call.

        Returns:
            One result per channel, in order.
        """
        from qa_pipeline.asr.batched import transcribe_packed

        with one_blas_thread():
            results, _ = transcribe_packed(self._model, channels, self.options, self._language(language))
        return results

    def transcribe(self, samples: np.ndarray, language: str | None = None) -> ChannelResult:
        """Recognise one 16 kHz mono channel.

        Args:
            samples: float32 samples in [-1, 1].
            language: ISO code, or None to detect (always ``en`` for English-only models).
        """
        # faster-whisper's log-mel features are a numpy matrix product (qa_pipeline.blas).
        with one_blas_thread():
            return self._transcribe(samples, language)

    def _transcribe(self, samples: np.ndarray, language: str | None) -> ChannelResult:
        opts = self.options
        language = self._language(language)
        if samples.size < SAMPLE_RATE // 10 or not np.any(samples):
            return ChannelResult(words=(), language=language or "en", language_probability=0.0)
        if opts.batching == "call":
            return self.transcribe_channels([samples], language)[0]
        spans: tuple[tuple[float, float], ...] | None = None
        vad_seconds = 0.0
        if opts.vad:
            # The same detection the packed path runs: coverage and guard rule 3 judge by it.
            started = time.perf_counter()
            spans = region_spans(speech_regions(samples, SAMPLE_RATE, 0), 0, SAMPLE_RATE)
            vad_seconds = time.perf_counter() - started
        cores = speech_cores(spans) if spans else []
        if opts.batching == "channel":
            from qa_pipeline.asr.batched import transcribe_batched_channel

            result = transcribe_batched_channel(self._model, samples, opts, language, cores)
        else:
            result = self._transcribe_sequential(samples, language, cores)
        return replace(result, speech_spans=spans, vad_seconds=vad_seconds)

    def redecode(
        self,
        channels: Sequence[np.ndarray],
        stretches: Sequence[Sequence[tuple[float, float]]],
        language: str | None = None,
    ) -> list[tuple[Word, ...]]:
        """Decode stretches of detected speech that got no words again, each on its own.

        Args:
            channels: 16 kHz mono float32 channels of one call.
            stretches: Per channel, sorted ``(start, end)`` seconds.
            language: The call's language.

        Returns:
            Per channel, the words found inside its stretches.
        """
        from qa_pipeline.asr.batched import redecode_stretches

        with one_blas_thread():
            return redecode_stretches(self._model, channels, stretches, self.options, self._language(language))

    def _transcribe_sequential(
        self, samples: np.ndarray, language: str | None, detected: Sequence[tuple[float, float]] = ()
    ) -> ChannelResult:
        from qa_pipeline.asr import guards

        opts = self.options
        segments, info = self._model.transcribe(
            np.ascontiguousarray(samples, dtype=np.float32),
            language=language,
            beam_size=opts.beam_size,
            best_of=opts.beam_size,
            # No sampling fallback: the same audio must give the same transcript (and score)
            # on every run; degenerate loops are dropped by the repetition guard instead.
            temperature=0.0,
            word_timestamps=True,
            vad_filter=opts.vad,
            vad_parameters=vad_parameters(),
            # Each segment stands alone: conditioning on earlier text is how Whisper
            # carries a hallucination across hold music and silences.
            condition_on_previous_text=False,
            no_speech_threshold=opts.no_speech_threshold,
            log_prob_threshold=opts.log_prob_threshold,
            compression_ratio_threshold=2.4,
            hallucination_silence_threshold=2.0,
        )
        words: list[Word] = []
        dropped: list[str] = []
        for seg in segments:
            stats = guards.SegmentStats(
                text=seg.text,
                start=seg.start,
                end=seg.end,
                avg_logprob=seg.avg_logprob,
                no_speech_prob=seg.no_speech_prob,
                compression_ratio=seg.compression_ratio,
            )
            raw = [guards.RawWord(w.word, w.start, w.end, w.probability) for w in (seg.words or [])]
            reason = guards.segment_drop_reason(stats, opts, detected, raw)
            if reason:
                dropped.append(f"{seg.start:.2f}-{seg.end:.2f}s {reason}: {seg.text.strip()!r}")
                continue
            words.extend(guards.clean_words(raw, opts))
        for d in dropped:
            log.debug("dropped segment %s", d)
        speech = float(info.duration_after_vad if opts.vad else info.duration)
        return ChannelResult(
            words=tuple(words),
            language=info.language,
            language_probability=float(info.language_probability),
            dropped_segments=tuple(dropped),
            speech_seconds=speech,
        )
