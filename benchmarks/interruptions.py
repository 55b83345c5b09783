"""Interruptions benchmark: every overlap on real and rendered calls, and how it was classified.

Real calls (``../shared/realcalls``: ``ar40.flac``, stereo, agent on channel 0, and
``pca_auto0.wav``, mono, diarized) are transcribed with the default options and scored with
``scorecards/default.en.yaml``; for each call it prints every overlap found (who started, when,
how long the other party's words were talked over, the kind given and the words), and the
interruption count per party. A QA lead expects no interruption on either call. They are
also transcribed with VAD off, where the recogniser stretches sentence-final words over the
following silence and so makes many more overlaps (``--default-only`` skips that).

Rendered calls are the ones ``tests/test_e2e_scoring.py`` scores: the stereo recordings in
``samples/recordings`` (from ``samples/scenario.yaml``) and the first 12 calls of
``samples/drift.yaml``; their ground truth plants agent interruptions. It prints the
agreement of the ``interruptions`` verdict with the planted truth, the caught and missed
planted interruptions and the false alarms.

Transcripts are cached in a temporary folder (or ``--cache-dir``), so a second run only scores.

Usage:
    python benchmarks/interruptions.py [--cache-dir DIR] [--realcalls DIR] [--skip-rendered] [--default-only]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REALCALLS = ROOT.parent / "shared" / "realcalls"
REAL = ("ar40.flac", "pca_auto0.wav")


def _words(track, start: float, end: float) -> str:
    return " ".join(w.text for w in track.words if w.end > start and w.start < end)


def show_overlaps(transcript, score) -> None:
    """Print every overlap of a scored call with its classification and words."""
    from qa_pipeline.textmatch import TokenTrack
    from qa_pipeline.transcript import Speaker

    ch = score.characteristics
    tracks = {sp: TokenTrack(sp, [t for t in transcript.turns if t.speaker is sp]) for sp in Speaker}
    rows = [(i.start, i.interrupter, "INTERRUPTION", i.duration_seconds) for i in ch.interruptions]
    rows += [(o.turn_start, o.speaker, o.kind.value, o.duration_seconds) for o in getattr(ch, "overlaps_not_counted", ())]
    rows.sort(key=lambda r: (r[0], r[1].value))
    if not rows:
        print("    no overlapping speech")
    for start, who, kind, seconds in rows:
        end = start + max(seconds, 0.3)
        print(
            f"    {start:7.2f}s {who.value:<8} {kind:<18} {seconds:4.2f}s  "
            f"{who.value}: \"{_words(tracks[who], start, end + 1.0)}\"  |  "
            f"{who.other().value}: \"{_words(tracks[who.other()], start - 1.0, end)}\""
        )
    counts = {sp.value: len(ch.interruptions_by(sp)) for sp in Speaker}
    print(f"    interruptions: agent {counts['agent']}, customer {counts['customer']}; verdict "
          f"{score.result('interruptions').verdict.value}: {score.result('interruptions').reason}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-dir", type=Path, help="transcript cache (default: a temporary folder)")
    parser.add_argument("--skip-rendered", action="store_true", help="only the real calls")
    parser.add_argument("--default-only", action="store_true", help="real calls with the default options only")
    parser.add_argument("--realcalls", type=Path, default=REALCALLS, help=f"real calls folder (default {REALCALLS})")
    args = parser.parse_args()

    from qa_pipeline.asr import create_engine
    from qa_pipeline.cache import TranscriptCache
    from qa_pipeline.options import TranscribeOptions
    from qa_pipeline.pipeline import transcribe_call
    from qa_pipeline.scorecard import load_scorecard
    from qa_pipeline.scoring import score_transcript
    from qa_pipeline.synth import GroundTruth, RenderOptions, load_scenario, render_scripts

    work = Path(tempfile.mkdtemp(prefix="qa-interruptions-"))
    cache = TranscriptCache(args.cache_dir or work / "cache")
    engine = create_engine(TranscribeOptions())
    card = load_scorecard(ROOT / "scorecards" / "default.en.yaml")
    opts = card.characteristics
    print(
        f"thresholds: min overlap {opts.interruption_min_overlap_seconds:g}s, latch "
        f"{opts.latch_tolerance_seconds:g}s, simultaneous start {opts.simultaneous_start_seconds:g}s, "
        f"acknowledgements up to {opts.backchannel_max_words} words"
    )

    if args.realcalls.is_dir():
        # Without VAD the recogniser stretches sentence-final words over the silence after
        # them, which makes many more (false) overlaps: a harder test of the rules.
        variants = [("default options", TranscribeOptions(), engine)]
        if not args.default_only:
            variants.append(("VAD off", TranscribeOptions(vad=False), create_engine(TranscribeOptions(vad=False))))
        for label, options, eng in variants:
            for name in REAL:
                t0 = time.perf_counter()
                t = transcribe_call(args.realcalls / name, eng, options=options, call_id=name.split(".")[0], cache=cache)
                score = score_transcript(t, card)
                print(f"\n{name}, {label} ({t.audio.channels} channel(s), {t.audio.duration:.0f} s, "
                      f"transcribed/scored in {time.perf_counter() - t0:.1f} s)")
                show_overlaps(t, score)
    else:
        print(f"\n{args.realcalls} not found: real calls skipped")

    if args.skip_rendered:
        return 0
    rendered = work / "rendered"
    rendered.mkdir()
    truths = render_scripts(load_scenario(ROOT / "samples" / "drift.yaml").scripts()[:12], rendered, RenderOptions())
    recordings = ROOT / "samples" / "recordings"
    calls = [(recordings, GroundTruth.read(p)) for p in sorted(recordings.glob("*.truth.json"))]
    calls += [(rendered, tr) for tr in truths]
    agree = total = caught = planted = false_alarms = 0
    print("\nrendered calls (stereo, as tests/test_e2e_scoring.py):")
    for folder, truth in calls:
        if truth.mono:
            continue
        t = transcribe_call(folder / truth.audio_file, engine, call_id=truth.call_id, cache=cache)
        score = score_transcript(t, card)
        expected = truth.expected["interruptions"]
        got = score.result("interruptions").verdict.value
        total += 1
        agree += expected == got
        planted += expected == "fail"
        caught += expected == "fail" and got == "fail"
        false_alarms += expected != "fail" and got == "fail"
        mark = "ok  " if expected == got else "MISS"
        print(f"  {mark} {truth.call_id:<12} planted {expected:<4} got {got:<4}")
        ch = score.characteristics
        if expected != got or ch.interruptions or getattr(ch, "overlaps_not_counted", ()):
            show_overlaps(t, score)
    print(
        f"\ninterruptions verdict agreement {agree}/{total} ({agree / max(total, 1):.1%}); planted "
        f"interruptions caught {caught}/{planted}; false alarms {false_alarms}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
