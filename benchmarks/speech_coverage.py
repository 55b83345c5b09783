"""Speech coverage on the real recordings: detected speech that got words, per call and channel.

For each recording (default: the three in ``../shared/realcalls`` beside the clone) the call
is transcribed twice with the same engine, without and with the second decode of uncovered
speech, and the figures of each are printed: detected speech seconds, covered seconds,
coverage, and the words the second decode recovered. Also prints the language the gate
identified.

    python benchmarks/speech_coverage.py [FILES...] [--batching call|channel|off] [--model NAME]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this folder comes first on the path and this file would stand in for the
# `coverage` package that numba (under librosa, for diarization) imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from qa_pipeline.asr import create_engine  # noqa: E402
from qa_pipeline.options import TranscribeOptions  # noqa: E402
from qa_pipeline.pipeline import StageTimings, transcribe_call  # noqa: E402

REAL_CALLS = ROOT.parent / "shared" / "realcalls"
DEFAULT_FILES = ("ar40.flac", "pca_auto0.wav", "pyannote_sample.wav")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--batching", default="call", choices=("call", "channel", "off"))
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    files = args.files or [REAL_CALLS / name for name in DEFAULT_FILES]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        print(f"missing recording(s): {', '.join(missing)}", file=sys.stderr)
        return 1
    options = TranscribeOptions(batching=args.batching, model=args.model)
    engine = create_engine(options)
    plain_engine = create_engine(replace(options, redecode_uncovered=False))
    print(f"engine {engine.name} {engine.model_name}, batching {args.batching}")
    print(f"{'call':<18} {'ch':>2} {'redecode':>8} {'speech s':>9} {'covered s':>9} {'coverage':>8} {'recovered':>9} {'asr s':>6}")
    worst = 1.0
    for path in files:
        for label, eng, opts in (("off", plain_engine, replace(options, redecode_uncovered=False)), ("on", engine, options)):
            timings = StageTimings()
            started = time.perf_counter()
            transcript = transcribe_call(path, eng, options=opts, timings=timings)
            seconds = time.perf_counter() - started
            coverage = transcript.coverage
            assert coverage is not None  # transcribe_call always measures it
            for ch in coverage.channels:
                print(
                    f"{path.stem:<18} {ch.channel:>2} {label:>8} {ch.speech_seconds:>9.1f} {ch.covered_seconds:>9.1f} "
                    f"{ch.ratio:>8.1%} {ch.recovered_words:>9} {seconds:>6.1f}"
                )
            if label == "on":
                worst = min(worst, coverage.lowest)
                check = transcript.language_check
                if check is not None:
                    found = f"{check.language} p={check.probability:.2f} ({check.detector})" if check.verified else check.note
                    print(f"{path.stem:<18} language: {found}")
    print(f"lowest channel coverage with the second decode: {worst:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
