"""Transcription benchmark: engines and settings side by side on rendered stereo calls.

Renders (or reuses) a set of synthetic stereo calls from ``samples/drift.yaml`` totalling at
least ``--minutes`` of audio, then runs each configuration in its own process — so peak memory
is that configuration's alone — one after another in the same run, and prints a table:

    audio s, wall s, x real time, peak RSS, WER (whole call, words in time order) and
    speaker-attributed WER (stereo configurations)

Configurations:
    openai-whisper mono    reference baseline: openai-whisper (CPU fp32) on the mixed-down call
    faster-whisper mono    faster-whisper int8, VAD, greedy, on the mixed-down call
    fw stereo greedy       the pipeline's default: each channel separately, VAD, greedy
    fw stereo beam5        the same with beam size 5
    fw stereo no-VAD       each channel, greedy, without VAD

Usage:
    python benchmarks/transcribe.py [--minutes 10] [--data DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Sequential decoding throughout: this compares engines, mono against stereo, beam and VAD on
# equal terms; `qa bench` compares the decoding modes (packed, batched, sequential).
SEQUENTIAL = {"batching": "off"}
CONFIGS = {
    "openai-whisper mono": {"engine": "openai-whisper", "mode": "mono", "options": {}},
    "faster-whisper mono": {"engine": "faster-whisper", "mode": "mono", "options": SEQUENTIAL},
    "fw stereo greedy": {"engine": "faster-whisper", "mode": "stereo", "options": SEQUENTIAL},
    "fw stereo beam5": {"engine": "faster-whisper", "mode": "stereo", "options": {**SEQUENTIAL, "beam_size": 5}},
    "fw stereo no-VAD": {"engine": "faster-whisper", "mode": "stereo", "options": {**SEQUENTIAL, "vad": False}},
}


def render_set(data: Path, minutes: float) -> list[Path]:
    """Render calls from the drift scenario until the set holds ``minutes`` of audio."""
    from qa_pipeline.synth import GroundTruth, RenderOptions, load_scenario, render_call

    data.mkdir(parents=True, exist_ok=True)
    truths = sorted(data.glob("*.truth.json"))
    total = sum(GroundTruth.read(p).duration for p in truths)
    if total >= minutes * 60:
        return truths
    scripts = load_scenario(ROOT / "samples" / "drift.yaml").scripts()
    done = {GroundTruth.read(p).call_id for p in truths}
    for script in scripts:
        if total >= minutes * 60:
            break
        if script.call_id in done:
            continue
        truth = render_call(script, data, RenderOptions())
        total += truth.duration
    return sorted(data.glob("*.truth.json"))


def run_config(name: str, truth_paths: list[str]) -> dict:
    """Run one configuration over the calls (called in a child process)."""
    from qa_pipeline.asr import create_engine
    from qa_pipeline.audio import load_audio
    from qa_pipeline.wer import corpus_word_error_rate
    from qa_pipeline.options import TranscribeOptions
    from qa_pipeline.pipeline import transcribe_audio
    from qa_pipeline.synth import GroundTruth
    from qa_pipeline.transcript import Speaker, join_words

    cfg = CONFIGS[name]
    options = TranscribeOptions(engine=cfg["engine"], **cfg["options"])
    started = time.perf_counter()
    engine = create_engine(options)
    load_seconds = time.perf_counter() - started
    audio_seconds = 0.0
    call_pairs, speaker_pairs = [], []
    decode = asr = 0.0
    started = time.perf_counter()
    for p in truth_paths:
        truth = GroundTruth.read(Path(p))
        t0 = time.perf_counter()
        audio = load_audio(Path(p).parent / truth.audio_file)
        decode += time.perf_counter() - t0
        audio_seconds += audio.duration
        t0 = time.perf_counter()
        if cfg["mode"] == "mono":
            words = sorted(engine.transcribe(audio.mixdown()).words, key=lambda w: w.start)
        else:
            t = transcribe_audio(audio, engine, options=options, call_id=truth.call_id)
            words = sorted((w for _, w in t.iter_words()), key=lambda w: w.start)
            for speaker in Speaker:
                ref = " ".join(u.text for u in truth.utterances if u.speaker == speaker)
                speaker_pairs.append((ref, join_words(w.text for w in t.words_of(speaker))))
        asr += time.perf_counter() - t0
        ref = " ".join(u.text for u in sorted(truth.utterances, key=lambda u: u.start))
        call_pairs.append((ref, join_words(w.text for w in words)))
    wall = time.perf_counter() - started
    return {
        "name": name,
        "audio_s": audio_seconds,
        "load_s": load_seconds,
        "wall_s": wall,
        "decode_s": decode,
        "asr_s": asr,
        "xrt": audio_seconds / wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "wer": corpus_word_error_rate(call_pairs),
        "speaker_wer": corpus_word_error_rate(speaker_pairs) if speaker_pairs else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="audio to benchmark on (default 10)")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "qa_pipeline" / "bench-calls")
    parser.add_argument("--only", nargs="*", choices=list(CONFIGS), help="run only these configurations")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--calls", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_config(args.child, args.calls)))
        return

    truths = render_set(args.data, args.minutes)
    print(f"{len(truths)} stereo calls in {args.data}; cpu cores: {os.cpu_count()}", flush=True)
    rows = []
    for name in args.only or list(CONFIGS):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", name, "--calls", *map(str, truths)],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            print(f"{name}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"  done {name}: {r['xrt']:.1f}x real time", flush=True)

    header = f"| {'configuration':<22} | audio s | wall s | × real time | peak RSS MB | WER | speaker WER |"
    print()
    print(header)
    print("|" + "---|" * 7)
    for r in rows:
        swer = f"{r['speaker_wer']:.3f}" if r["speaker_wer"] is not None else "–"
        print(
            f"| {r['name']:<22} | {r['audio_s']:7.0f} | {r['wall_s']:6.1f} | {r['xrt']:11.1f} | "
            f"{r['peak_rss_mb']:10.0f} | {r['wer']:.3f} | {swer} |"
        )
    base = next((r for r in rows if r["name"] == "openai-whisper mono"), None)
    if base:
        print()
        for r in rows:
            if r is not base:
                print(f"{r['name']}: {base['wall_s'] / r['wall_s']:.2f}x faster than openai-whisper mono")


if __name__ == "__main__":
    main()
