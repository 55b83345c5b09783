"""A synthetic hold-music loop: soft chords with a plucked arpeggio, no randomness."""

from __future__ import annotations

import numpy as np

# I–vi–IV–V in C major; MIDI note numbers of each chord.
_CHORDS = ((60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62))
CHORD_SECONDS = 2.0
_ARPEGGIO_STEP_SECONDS = 0.25
MUSIC_PEAK_DB = -12.0


def _hz(midi: int) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _tone(freq: float, t: np.ndarray) -> np.ndarray:
    # A fundamental plus two weak harmonics sounds less like a test tone and survives the
    # 300 Hz telephone high-pass better than a pure low sine.
    return np.sin(2 * np.pi * freq * t) + 0.35 * np.sin(4 * np.pi * freq * t) + 0.15 * np.sin(
        6 * np.pi * freq * t
    )


def hold_music(duration_seconds: float, sample_rate: int) -> np.ndarray:
    """Render ``duration_seconds`` of hold music.

    Args:
        duration_seconds: Length of the music.
        sample_rate: Sample rate in Hz.

    Returns:
        Mono float32 samples peaking at ``MUSIC_PEAK_DB``, faded in and out.
    """
    total = int(round(duration_seconds * sample_rate))
    out = np.zeros(total, dtype=np.float64)
    chord_len = int(CHORD_SECONDS * sample_rate)
    t_chord = np.arange(chord_len) / sample_rate
    pad_env = np.minimum(1.0, t_chord / 0.15) * np.exp(-t_chord / 3.0)
    step_len = int(_ARPEGGIO_STEP_SECONDS * sample_rate)
    t_step = np.arange(step_len) / sample_rate
    pluck_env = np.minimum(1.0, t_step / 0.01) * np.exp(-t_step / 0.09)

    for index, begin in enumerate(range(0, total, chord_len)):
        notes = _CHORDS[index % len(_CHORDS)]
        n = min(chord_len, total - begin)
        pad = sum(_tone(_hz(note), t_chord[:n]) for note in notes) * pad_env[:n]
        out[begin : begin + n] += 0.25 * pad
        for step, step_begin in enumerate(range(begin, begin + n, step_len)):
            note = notes[step % 3] + 12
            m = min(step_len, begin + n - step_begin)
            out[step_begin : step_begin + m] += 0.5 * _tone(_hz(note), t_step[:m]) * pluck_env[:m]

    fade = min(total // 2, int(0.2 * sample_rate))
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        out[:fade] *= ramp
        out[total - fade :] *= ramp[::-1]
    peak = float(np.max(np.abs(out))) if total else 0.0
    if peak > 0:
        out *= 10 ** (MUSIC_PEAK_DB / 20) / peak
    return out.astype(np.float32)
