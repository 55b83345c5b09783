"""Peak memory and speed of one long stereo call through the whole transcription path.

Builds a stereo 8 kHz mu-law WAV of ``--minutes`` (default 60) by repeating a sample call, then
decodes and transcribes it with the default engine in this process, and prints wall seconds,
x real time and peak RSS (the target for a 1-hour call is at most 1.5 GB).

Usage:
    python benchmarks/long_call.py [--minutes 60] [--source samples/recordings/call-001.wav]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_call(source: Path, minutes: float, out: Path) -> float:
    """Write a stereo call of at least ``minutes`` by repeating ``source``; returns seconds."""
    data, rate = sf.read(source, dtype="float32", always_2d=True)
    reps = int(np.ceil(minutes * 60 * rate / len(data)))
    with sf.SoundFile(out, "w", samplerate=rate, channels=data.shape[1], format="WAV", subtype="ULAW") as f:
        for _ in range(reps):
            f.write(data)
    return reps * len(data) / rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--source", type=Path, default=ROOT / "samples" / "recordings" / "call-001.wav")
    args = parser.parse_args()

    from qa_pipeline.asr import create_engine
    from qa_pipeline.options import TranscribeOptions
    from qa_pipeline.pipeline import StageTimings, transcribe_call

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long-call.wav"
        seconds = build_call(args.source, args.minutes, path)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        engine = create_engine(TranscribeOptions())
        timings = StageTimings()
        started = time.perf_counter()
        t = transcribe_call(path, engine, timings=timings)
        wall = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    words = sum(len(turn.words) for turn in t.turns)
    print(f"audio {seconds / 60:.1f} min stereo 8 kHz mu-law, {len(t.turns)} turns, {words} words")
    print(f"wall {wall:.1f}s = {seconds / wall:.1f}x real time "
          f"(hash {timings.hash:.1f}s, decode {timings.decode:.1f}s, asr {timings.asr:.1f}s, merge {timings.merge:.2f}s)")
    print(f"peak RSS {peak:.0f} MB (before loading the model and the call: {before:.0f} MB)")


if __name__ == "__main__":
    main()
