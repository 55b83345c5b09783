"""Benchmark: which coaching flags a synthetic team with planted trends gets (not a timed test).

A team of 24 agents over 180 days (synthetic_results, about 13,000 calls) with planted agents: three
who slide from about 88 to 45 (−1.7 points per week; below the median by the last month), one
who slides while still above the median (latent skill above 100: scores saturate near the top), improvers below and above the median, steady strong
and weak agents and an erratic one; the rest are drawn at random. Prints each planted agent's
expected and actual flag, the trend and the change from the previous period, and the counts.

    python benchmarks/flags.py [--days 180] [--agents 24] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa_pipeline import synthetic_results  # noqa: E402
from qa_pipeline.stats import StatsOptions, analyse  # noqa: E402
from qa_pipeline.stats import display as d  # noqa: E402

# (profile, base, drift over the whole span, noise, problems), then what the method expects.
PLANTED = (
    (("declining", 88.0, -43.0, 4.0, ()), "declining"),
    (("declining", 89.0, -44.0, 4.0, ("closing",)), "declining"),
    (("declining", 87.0, -42.0, 4.0, ()), "declining"),
    (("declining", 112.0, -36.0, 4.0, ()), "early_warning"),
    (("improving", 40.0, 30.0, 4.0, ("self_identification",)), "encourage"),
    (("improving", 35.0, 30.0, 4.0, ()), "encourage"),
    (("improving", 68.0, 30.0, 4.0, ()), "recognise"),
    (("stable", 93.0, 0.0, 4.0, ()), "recognise"),
    (("stable", 60.0, 0.0, 4.0, ("active_listening",)), "coach"),
    (("erratic", 88.0, 0.0, 8.0, ()), "inconsistent"),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=24)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    # The synthetic store's first agents follow this table; the rest are drawn.
    synth = synthetic_results.synth_frames(
        synthetic_results.SynthStoreOptions(agents=args.agents, days=args.days, teams=1, seed=args.seed, chinese_agent=False),
        planted=tuple(synthetic_results.PlantedAgent(*p) for p, _ in PLANTED),
    )
    t = time.perf_counter()
    opts = StatsOptions()
    a = analyse(synth.frames, opts)
    elapsed = time.perf_counter() - t
    agents = a.agents.set_index("agent_id")
    print(f"{len(synth.frames.calls):,} calls, {args.agents} agents, {args.days} days; period {a.period.label} "
          f"({opts.default_days} days) against {a.previous_period.label}; statistics in {elapsed:.2f} s")
    print(f"{'agent':6} {'planted':10} {'expected':14} {'flags':28} {'mean':>5} {'median':>6}  {'trend':46} change")
    hits = 0
    for i, (_, expected) in enumerate(PLANTED):
        aid = f"A{i + 1:03d}"
        row = agents.loc[aid]
        flags = ", ".join(row["flags"])
        ok = expected in row["flags"]
        hits += ok
        view = d.agent_view(row.to_dict(), a.period.label, a.previous_period.label)
        change = view["compare"][0]
        print(f"{aid:6} {synth.profile(aid).profile:10} {expected:14} {flags:28} {row['mean']:5.1f} {row['team_median']:6.1f}  "
              f"{view['trend']:46} {change['change']} ({change['verdict']}){'' if ok else '  <-- differs'}")
    counts = a.agents["flag"].value_counts().to_dict()
    print(f"planted agents flagged as the method expects: {hits} of {len(PLANTED)}")
    print("flags over the whole team: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0 if hits == len(PLANTED) else 1


if __name__ == "__main__":
    sys.exit(main())
