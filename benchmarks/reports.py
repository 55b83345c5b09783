"""Benchmark: statistics + full report site + team PDF on a large synthetic dataset.

Default: 500 agents × 50 days × 4 calls/day ≈ 100,000 calls (900,000 criterion rows), with
transcripts for each agent's worst and best calls. Every call gets a page (a verdict summary
without a transcript). Prints wall and CPU seconds per stage; the target is statistics + site +
team PDF within 60 s of CPU time, which bounds the wall time on an idle machine even without
parallelism. CPU time counts this process and its page workers (the team PDF's process when
it is waited for); on a shared machine it is the figure to compare, as wall time follows the
load. Then renders again into the same folder, as a nightly run with no new
calls would: unchanged call pages are kept.

    python benchmarks/reports.py [--agents 500] [--days 50] [--calls-per-day 4] [--workers 0] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa_pipeline.report import ReportOptions, render_site  # noqa: E402
from qa_pipeline.stats import StatsOptions, analyse  # noqa: E402
from qa_pipeline.synthetic_results import SynthStoreOptions, pick_calls, synth_frames, write_transcripts  # noqa: E402

TARGET_SECONDS = 60.0


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (page workers, team PDF)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--days", type=int, default=50)
    parser.add_argument("--calls-per-day", type=float, default=4.0)
    parser.add_argument("--teams", type=int, default=8)
    parser.add_argument("--workers", type=int, default=0, help="Page-rendering processes (0 = one per core).")
    parser.add_argument("--out", type=Path, default=None, help="Keep the output here (default: a temporary folder).")
    args = parser.parse_args()

    work = args.out or Path(tempfile.mkdtemp(prefix="qa-bench-"))
    try:
        t = time.perf_counter()
        synth = synth_frames(SynthStoreOptions(agents=args.agents, days=args.days, calls_per_day=args.calls_per_day, teams=args.teams))
        ro = ReportOptions(workers=args.workers)
        chosen = pick_calls(synth.frames, worst=ro.worst_calls, best=ro.best_calls)
        frames = write_transcripts(synth.frames, work / "data", chosen)
        setup = time.perf_counter() - t
        print(f"setup (not timed): {len(frames.calls):,} calls, {len(frames.criteria):,} criterion rows, "
              f"{args.agents} agents, {len(chosen):,} transcripts in {setup:.1f} s")

        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        cpu0 = _cpu()
        t0 = time.perf_counter()
        period = frames.calls["started_at"]
        analysis = analyse(frames, StatsOptions(period_from=period.min().date(), period_to=period.max().date()))
        t_stats, cpu_stats = time.perf_counter() - t0, _cpu() - cpu0
        result = render_site(analysis, work / "reports", ro)
        total = time.perf_counter() - t0
        cpu = _cpu() - cpu0
        cpu_of = dict(result.cpu_timings)
        print(f"{'stage':<18}{'wall s':>8}{'CPU s':>8}")
        print(f"{'statistics':<18}{t_stats:8.2f}{cpu_stats:8.2f}")
        for name, seconds in result.timings:
            print(f"{name:<18}{seconds:8.2f}{cpu_of.get(name, float('nan')):8.2f}")
        # CPU time bounds the wall time on an idle machine even without parallelism.
        print(f"{'total':<18}{total:8.2f}{cpu:8.2f}  (target {TARGET_SECONDS:.0f} s of CPU: {'met' if cpu <= TARGET_SECONDS else 'MISSED'})")
        load_end = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"CPU time {cpu:.1f} s (this process and its page workers); load average {load:.1f} at start, "
              f"{load_end:.1f} at end, on {os.cpu_count()} cores")
        print(f"pages: 1 index, {len(result.agent_pages)} agents, {len(result.call_pages)} calls; "
              f"pdf {result.pdfs[0].stat().st_size / 1e6:.1f} MB" if result.pdfs else "")
        t1, cpu1 = time.perf_counter(), _cpu()
        again = render_site(analysis, work / "reports", ro)
        print(f"second render (nothing changed): {time.perf_counter() - t1:.2f} s wall, {_cpu() - cpu1:.1f} s CPU, "
              f"{len(again.call_pages)} call pages written, {again.calls_unchanged:,} kept")
        return 0 if cpu <= TARGET_SECONDS else 1
    finally:
        if args.out is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
