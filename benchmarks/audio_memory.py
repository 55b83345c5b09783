"""Peak memory and time of loading a long stereo call.

Renders a stereo WAV (default: one hour, 8 kHz μ-law, like a telephony recorder's output) into
a temporary folder in small blocks, so rendering itself stays small, then loads it with
``load_audio`` and prints the wall time and the process's peak resident memory.

    python benchmarks/audio_memory.py [--minutes 60] [--rate 8000] [--subtype ULAW]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa_pipeline.audio import load_audio  # noqa: E402

BLOCK_SECONDS = 10


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def render(path: Path, minutes: float, rate: int, subtype: str) -> None:
    """Tones with noise on each channel, alternating on and off like two people talking."""
    rng = np.random.default_rng(0)
    block = BLOCK_SECONDS * rate
    t = np.arange(block) / rate
    with sf.SoundFile(path, "w", samplerate=rate, channels=2, subtype=subtype, format="WAV") as f:
        for i in range(int(minutes * 60 / BLOCK_SECONDS)):
            on = i % 2
            left = on * 0.3 * np.sin(2 * np.pi * 300 * t) + 0.01 * rng.standard_normal(block)
            right = (1 - on) * 0.3 * np.sin(2 * np.pi * 500 * t) + 0.01 * rng.standard_normal(block)
            f.write(np.stack([left, right], axis=1).astype(np.float32))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=8000)
    parser.add_argument("--subtype", default="ULAW", help="soundfile WAV subtype")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long_call.wav"
        started = time.perf_counter()
        render(path, args.minutes, args.rate, args.subtype)
        render_seconds = time.perf_counter() - started
        baseline_mb = peak_rss_mb()

        started = time.perf_counter()
        audio = load_audio(path)
        load_seconds = time.perf_counter() - started
        peak_mb = peak_rss_mb()

        samples_mb = sum(ch.nbytes for ch in audio.channels) / 2**20
        print(
            f"file: {args.minutes:g} min stereo {args.rate} Hz {args.subtype}, "
            f"{path.stat().st_size / 2**20:.0f} MiB (rendered in {render_seconds:.1f} s)"
        )
        print(
            f"loaded: {audio.duration / 60:.1f} min, {audio.num_channels} ch "
            f"at {audio.sample_rate} Hz, {samples_mb:.0f} MiB of samples"
        )
        print(f"load wall time: {load_seconds:.2f} s")
        print(f"peak RSS: {peak_mb:.0f} MiB (before loading: {baseline_mb:.0f} MiB)")


if __name__ == "__main__":
    main()
