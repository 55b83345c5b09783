"""Verdicts on real recorded calls against what a QA lead expects, and what they cost.

Transcribes ``ar40.flac`` and ``pca_auto0.wav`` with the default engine (tiny.en), scores them
with the default English scorecard, and prints each criterion's verdict beside the lead's
label from ``labels.json`` (``either`` labels are not counted), the agreement over decidable
verdicts, and scoring time against transcription time per call, wall and CPU seconds (scoring
is timed once the sentence-embedding model is loaded and the scorecard examples embedded; both
are printed apart; the share is of wall times).
Transcription time is measured without a cache; with ``--cache-dir`` a second run reuses the
transcripts, so compare against the first run's transcription time. Then the word error
rate and the share of words given to the right party on ``pyannote_sample.wav`` against its
``.stm`` words and ``.rttm`` speaker turns.

Run: ``python benchmarks/realcalls.py [FOLDER] [--cache-dir DIR] [--model NAME] [--beam-size N]``
(FOLDER defaults to ``../shared/realcalls`` beside the repository; ``--model base --beam-size 5``
measures the packaged multilingual base of the ``multilingual`` extra instead of tiny.en).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa_pipeline.asr import create_engine  # noqa: E402
from qa_pipeline.cache import TranscriptCache  # noqa: E402
from qa_pipeline.wer import word_errors  # noqa: E402
from qa_pipeline.options import TranscribeOptions  # noqa: E402
from qa_pipeline.pipeline import transcribe_call  # noqa: E402
from qa_pipeline.scorecard import load_scorecard  # noqa: E402
from qa_pipeline.scoring import score_transcript  # noqa: E402
from qa_pipeline.semantic import embed  # noqa: E402
from qa_pipeline.transcript import Transcript  # noqa: E402

CALLS = ("ar40.flac", "pca_auto0.wav")


def attribution_share(transcript: Transcript, rttm: Path) -> float:
    """Share of recognised words whose party maps to the reference speaker at their midpoint.

    The hypothesis parties (agent, customer) are mapped to reference speakers by the mapping
    that agrees on the most words; words outside every reference turn are not counted.
    """
    turns = []
    for line in rttm.read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "SPEAKER":
            start, dur = float(parts[3]), float(parts[4])
            turns.append((start, start + dur, parts[7]))
    pairs = []
    for turn in transcript.turns:
        for w in turn.words:
            mid = (w.start + w.end) / 2
            who = [spk for s, e, spk in turns if s <= mid <= e]
            if len(who) == 1:
                pairs.append((turn.speaker.value, who[0]))
    refs = sorted({r for _, r in pairs})
    hyps = sorted({h for h, _ in pairs})
    if not pairs or len(refs) < 2:
        return 0.0
    best = 0
    for flip in (False, True):
        mapping = {h: refs[(i + flip) % len(refs)] for i, h in enumerate(hyps)}
        best = max(best, sum(mapping[h] == r for h, r in pairs))
    return best / len(pairs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", type=Path, default=ROOT.parent / "shared" / "realcalls")
    ap.add_argument("--cache-dir", type=Path, default=None, help="reuse transcripts across runs")
    ap.add_argument("--model", default=None, help="recognition model (default: the bundled tiny.en)")
    ap.add_argument("--beam-size", type=int, default=1, help="beam size (1: greedy, the default)")
    args = ap.parse_args()
    folder: Path = args.folder
    labels = json.loads((folder / "labels.json").read_text())
    card = load_scorecard(ROOT / "scorecards" / "default.en.yaml")
    options = TranscribeOptions(model=args.model, beam_size=args.beam_size)
    engine = create_engine(options)
    print(f"model {args.model or 'tiny.en (bundled)'}, beam size {args.beam_size}")
    cache = TranscriptCache(args.cache_dir) if args.cache_dir else None
    t0, c0 = time.perf_counter(), time.process_time()
    embed(["warm up"])
    print(
        f"sentence-embedding model load: {time.perf_counter() - t0:.2f}s, "
        f"{time.process_time() - c0:.2f}s of CPU (once per process)"
    )
    right = decided = 0
    for name in CALLS:
        t0, c0 = time.perf_counter(), time.process_time()
        transcript = transcribe_call(folder / name, engine, options=options, cache=cache)
        asr_s, asr_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        score = score_transcript(transcript, card)
        first_s = time.perf_counter() - t0
        # Scored again: the scorecard examples are embedded by now (once per process), so
        # this is what each further call of a batch costs.
        # CPU seconds as well as wall: on a busy machine the CPU time of the scoring call (one
        # thread) is the steadier figure.
        t0, c0 = time.perf_counter(), time.process_time()
        again = score_transcript(transcript, card)
        score_s, score_cpu = time.perf_counter() - t0, time.process_time() - c0
        if again.to_json() != score.to_json():
            print("  NOT DETERMINISTIC: scoring the same transcript twice gave different results")
        want = labels[Path(name).stem]["verdicts"]
        print(f"\n{name}: {transcript.audio.duration:.0f}s of audio, roles {transcript.roles.source.value}")
        for result in score.results:
            label = want.get(result.id, "?")
            mark = "" if label in ("either", "?") else ("ok" if label == result.verdict.value else "WRONG")
            if mark:
                decided += 1
                right += mark == "ok"
            print(f"  {result.id:20s} {result.verdict.value:4s} lead: {label:6s} {mark:5s} {result.reason}")
            for e in result.evidence[:2]:
                print(f"      {e.rule}")
        share = score_s / asr_s if asr_s > 0 else float("nan")
        cached = " (cached transcript)" if cache is not None and asr_s < 1.0 else ""
        print(
            f"  transcription {asr_s:.2f}s{cached} ({asr_cpu:.2f}s of CPU), scoring {score_s:.3f}s "
            f"({score_cpu:.3f}s of CPU; {share:.1%} of transcription; "
            f"first call of the process {first_s:.3f}s, embedding the scorecard examples)"
        )
    print(f"\nagreement on decidable verdicts: {right}/{decided} ({right / max(decided, 1):.0%})")

    sample = folder / "pyannote_sample.wav"
    transcript = transcribe_call(sample, engine, options=options, cache=cache)
    ref = " ".join(" ".join(line.split()[5:]) for line in (folder / "pyannote_sample.stm").read_text().splitlines())
    hyp = " ".join(t.text for t in sorted(transcript.turns, key=lambda t: t.start))
    errors = word_errors(ref, hyp)
    print(f"\npyannote_sample: word error rate {errors.rate:.3f}, words given to the right party "
          f"{attribution_share(transcript, folder / 'pyannote_sample.rttm'):.1%}")


if __name__ == "__main__":
    main()
