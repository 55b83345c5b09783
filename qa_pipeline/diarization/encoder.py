"""Voiceprints of short stretches of speech, from resemblyzer's pretrained speaker encoder.

The encoder's weights ship inside the resemblyzer wheel, so it loads offline. resemblyzer
and torch form the optional ``diarization`` extra; everything here imports them lazily and
turns their absence into one actionable message.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Sequence

import numpy as np

from qa_pipeline.errors import EngineUnavailableError, ModelError
from qa_pipeline.log import get_logger

log = get_logger("diarization")

EXTRA_INSTALL = "pip install 'qa-pipeline[diarization]'"
MISSING_EXTRA = f"mono diarization needs the optional extra: {EXTRA_INSTALL}"

# The encoder's mel frames are 10 ms apart at 16 kHz (resemblyzer's hparams).
FRAME_STEP_SECONDS = 0.01
SAMPLE_RATE = 16000
# resemblyzer normalises every training utterance to this level before its mel filterbank,
# whose output is power (not log): the level changes the input, so calls are brought to it.
_TARGET_DBFS = -30.0


def diarization_available() -> bool:
    """True when the diarization extra (resemblyzer with torch) can be imported."""
    try:
        _import_backend()
    except EngineUnavailableError:
        return False
    return True


def require_diarization() -> None:
    """Raise the missing-extra error early, before any expensive work.

    Raises:
        EngineUnavailableError: resemblyzer or one of its dependencies is not importable.
    """
    _import_backend()


def _import_backend() -> tuple[Any, Any]:
    try:
        import torch

        with warnings.catch_warnings():
            # resemblyzer imports a scipy module path that scipy has deprecated; not ours to fix.
            warnings.simplefilter("ignore", DeprecationWarning)
            import resemblyzer
    except ImportError as exc:
        raise EngineUnavailableError(f"{MISSING_EXTRA} ({exc})") from exc
    return resemblyzer, torch


@functools.lru_cache(maxsize=1)
def _load_model() -> Any:
    resemblyzer, _ = _import_backend()
    try:
        return resemblyzer.VoiceEncoder("cpu", verbose=False)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelError(f"cannot load resemblyzer's bundled speaker encoder ({exc})") from exc


class SpeakerEncoder:
    """Embeds stretches of one recording as L2-normalised voiceprints (256 numbers each).

    The mel spectrogram of the whole recording is computed once; windows are slices of it,
    embedded in batches of equal length.

    Args:
        cpu_threads: Torch threads; 0 leaves torch's own setting.

    Raises:
        EngineUnavailableError: The diarization extra is not installed.
        ModelError: The bundled weights cannot be loaded.
    """

    def __init__(self, cpu_threads: int = 0) -> None:
        _, torch = _import_backend()
        self._torch = torch
        self._model = _load_model()
        if cpu_threads > 0:
            torch.set_num_threads(cpu_threads)

    def mel_frames(self, samples: np.ndarray, speech_rms: float | None = None) -> np.ndarray:
        """The encoder's input features for a whole 16 kHz recording.

        Args:
            samples: Mono float32 samples at 16 kHz.
            speech_rms: RMS level of the speech in the recording; used to bring speech to
                the level the encoder was trained on (the whole recording's RMS when None).

        Returns:
            Array of shape (frames, 40); frame ``i`` is centred on ``i × 10 ms``.
        """
        from resemblyzer import wav_to_mel_spectrogram

        wav = np.asarray(samples, dtype=np.float32)
        rms = speech_rms if speech_rms is not None else float(np.sqrt(np.mean(wav.astype(np.float64) ** 2)))
        if rms > 0:
            wav = wav * np.float32(10 ** (_TARGET_DBFS / 20) / rms)
        return wav_to_mel_spectrogram(wav)

    def embed(self, mels: np.ndarray, windows: Sequence[tuple[int, int]], batch: int = 64) -> np.ndarray:
        """Voiceprints of frame ranges of a mel spectrogram.

        Args:
            mels: Output of :meth:`mel_frames`.
            windows: ``(first_frame, end_frame)`` per window; each must hold at least one frame.
            batch: Windows per forward pass.

        Returns:
            Array of shape (len(windows), 256), each row of unit length.
        """
        torch = self._torch
        out = np.zeros((len(windows), 256), dtype=np.float32)
        by_length: dict[int, list[int]] = {}
        for i, (a, b) in enumerate(windows):
            if b <= a:
                raise ValueError(f"empty embedding window {a}..{b}")
            by_length.setdefault(b - a, []).append(i)
        with torch.inference_mode():
            for length, idx in sorted(by_length.items()):
                for k in range(0, len(idx), batch):
                    part = idx[k : k + batch]
                    x = np.stack([mels[windows[i][0] : windows[i][0] + length] for i in part])
                    emb = self._model(torch.from_numpy(np.ascontiguousarray(x))).numpy()
                    out[part] = emb
        # The encoder's last layer is a ReLU; an all-zero output has no direction.
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.where(norms > 0, out / np.maximum(norms, 1e-12), out)
