"""Benchmark: scoring throughput (characteristics + every criterion) on 5-minute calls.

Builds realistic synthetic transcripts in memory — about 5 minutes and 750 words each, two
parties with overlaps, backchannels, a hold in some calls, frustration and empathy in others,
and ASR-like slips — then scores them single-process against the default scorecard and
prints calls per second against the target of 2,000 calls/s per core (500 µs per call).

Scoring runs about 20% faster when ``qa_pipeline/kernels.py`` is compiled
(``mypyc qa_pipeline/kernels.py``); the report says which build ran. Scores are identical
either way: ``--save FILE`` writes every call's score JSON (one per line) and ``--verify FILE``
checks a run against such a file byte for byte, e.g. before and after a change.

Run: ``python benchmarks/scoring.py [--calls 2000] [--scorecard scorecards/default.en.yaml]
[--save scores.jsonl | --verify scores.jsonl]``
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa_pipeline.scorecard import load_scorecard  # noqa: E402
from qa_pipeline.scoring import score_transcript  # noqa: E402
from qa_pipeline import textmatch  # noqa: E402
from qa_pipeline.transcript import (  # noqa: E402
    AudioInfo,
    RoleAssignment,
    RolesSource,
    Speaker,
    Transcript,
    Turn,
    Word,
    merge_turns,
)

AGENT_LINES = [
    "Let me pull up your account so I can take a look at what happened with that payment.",
    "I can see the transaction here, it was posted on the fourteenth of last month.",
    "Could you please confirm the last four digits of the card on the account?",
    "Thanks, and can I also get the postcode registered to the account?",
    "Okay, I have your details verified now, thank you for that.",
    "What I can do is raise a dispute for that charge and you should see it back in three to five days.",
    "The reason it happened is that the renewal ran twice when the system retried the payment.",
    "I will also add a note so the next person you speak with can see the history.",
    "You will receive an email confirmation within the next hour with a reference number.",
    "Is the email address ending in example dot com still the best one to reach you?",
    "I have gone ahead and updated the preference so you will not be renewed automatically.",
    "If you log in to the app you can see the pending refund under recent activity.",
    "There is no fee for this and it will not affect your credit score at all.",
    "Let me just read that reference number out for you, it is four seven two nine.",
]
CUSTOMER_LINES = [
    "I was looking at my statement and there are two charges for the same subscription.",
    "I only signed up once, so I do not understand why it would take the money twice.",
    "The last four digits are eight one one two.",
    "Sure, it is the same postcode as always.",
    "How long will it take for the money to come back into my account?",
    "Okay that sounds fine, will I get something in writing about this?",
    "Yes that email is still correct.",
    "Can you make sure it does not renew again next year without asking me?",
    "I tried to cancel it in the app but the button did not do anything.",
    "Right, and do I need to do anything else on my side?",
]
BACKCHANNELS = ["uh-huh", "okay", "right", "mm-hmm", "yeah"]
SLIPS = {"account": "acount", "subscription": "subscripsion", "holding": "holing", "confirm": "conform"}


def _words(text: str, start: float, rng: random.Random, slip_rate: float = 0.03) -> tuple[list[Word], float]:
    out = []
    t = start
    for w in text.split():
        core = w.strip(".,?!").lower()
        if core in SLIPS and rng.random() < slip_rate * 10:
            w = SLIPS[core]
        dur = 0.15 + 0.05 * len(w) ** 0.5 + rng.random() * 0.06
        out.append(Word(w, round(t, 3), round(t + dur, 3), round(0.6 + rng.random() * 0.4, 3)))
        t += dur + rng.random() * 0.12
    return out, t


def make_call(i: int, seconds: float = 300.0) -> Transcript:
    """One synthetic ~5-minute call (deterministic for a given ``i``)."""
    rng = random.Random(i)
    agent: list[Turn] = []
    cust: list[Turn] = []

    def add(speaker: Speaker, text: str, start: float) -> float:
        words, end = _words(text, start, rng)
        (agent if speaker is Speaker.AGENT else cust).append(
            Turn(speaker, tuple(words), 0 if speaker is Speaker.AGENT else 1)
        )
        return end

    t = 0.6
    t = (
        add(
            Speaker.AGENT,
            "Thank you for calling Northwind Bank, my name is Sarah, how can I help you today?",
            t,
        )
        + 0.5
    )
    t = (
        add(
            Speaker.CUSTOMER,
            "Hi, I was charged twice for my subscription this month and I would like it sorted.",
            t,
        )
        + 0.4
    )
    if rng.random() < 0.7:
        t = (
            add(
                Speaker.AGENT,
                "So just to confirm, you were charged twice for your subscription this month?",
                t,
            )
            + 0.4
        )
    if rng.random() < 0.5:
        t = (
            add(
                Speaker.CUSTOMER,
                "Yes. This is the third time I've called about this, it's really frustrating.",
                t,
            )
            + 0.4
        )
        if rng.random() < 0.8:
            t = (
                add(Speaker.AGENT, "I understand how frustrating that must be, I'm sorry about that.", t)
                + 0.4
            )
    hold_at = rng.uniform(90, 180) if rng.random() < 0.5 else None
    while t < seconds - 25:
        if hold_at is not None and t > hold_at:
            if rng.random() < 0.8:
                t = (
                    add(
                        Speaker.AGENT,
                        "May I place you on a brief hold for about two minutes while I check that?",
                        t,
                    )
                    + 0.3
                )
                t = add(Speaker.CUSTOMER, "Sure.", t)
            t += rng.uniform(20, 40)
            if rng.random() < 0.8:
                t = add(Speaker.AGENT, "Thank you for holding, I have the answer for you now.", t) + 0.4
            hold_at = None
            continue
        t = add(Speaker.AGENT, rng.choice(AGENT_LINES), t)
        if rng.random() < 0.4:
            add(Speaker.CUSTOMER, rng.choice(BACKCHANNELS), t - rng.uniform(1.5, 3.0))
        t += rng.uniform(0.1, 0.6)
        if rng.random() < 0.15:
            t -= 0.9  # the next speaker starts early: an overlap
        t = add(Speaker.CUSTOMER, rng.choice(CUSTOMER_LINES), t) + rng.uniform(0.1, 0.6)
        if rng.random() < 0.03:
            t += rng.uniform(9, 13)  # dead air
    t = add(Speaker.AGENT, "Is there anything else I can help you with today?", t) + 0.4
    t = add(Speaker.CUSTOMER, "No, that's all, thanks.", t) + 0.3
    if rng.random() < 0.1:
        t = add(Speaker.AGENT, "That's not my problem, you should read the terms.", t) + 0.3
    t = add(Speaker.AGENT, "Thank you for calling Northwind Bank, have a great day!", t)
    agent.sort(key=lambda x: x.start)
    cust.sort(key=lambda x: x.start)
    # Backchannels may land inside the customer's own turns; keep turns of one party apart.
    cust = [c for k, c in enumerate(cust) if k == 0 or c.start >= cust[k - 1].end]
    return Transcript(
        call_id=f"bench-{i:05d}",
        audio=AudioInfo(f"bench-{i:05d}.wav", "0" * 64, round(t + 1.0, 3), 8000, 2),
        roles=RoleAssignment(RolesSource.CHANNEL, "configured", 0, 1.0, "benchmark"),
        language="en",
        engine="synthetic",
        model="none",
        turns=merge_turns(agent, cust),
        # As the transcription pipeline records it: no turn holds a pause over 1 s.
        options={"turn_gap_seconds": 1.0},
    )


TARGET_CALLS_PER_SECOND = 2000


def _check_scores(calls: list[Transcript], card, save: str | None, verify: str | None) -> str:
    """Score every call once; write or compare their JSON (one line per call)."""
    lines = [json.dumps(score_transcript(c, card).to_json(), ensure_ascii=False) for c in calls]
    if save:
        Path(save).write_text("\n".join(lines) + "\n", encoding="utf-8")
        return f"{len(lines)} score JSONs written to {save}"
    expected = Path(str(verify)).read_text(encoding="utf-8").splitlines()
    if len(expected) != len(lines):
        raise SystemExit(f"{verify} holds {len(expected)} scores, this run has {len(lines)} (use the same --calls)")
    differ = [calls[i].call_id for i, (a, b) in enumerate(zip(expected, lines)) if a != b]
    if differ:
        raise SystemExit(f"{len(differ)} of {len(lines)} scores differ from {verify}, first {', '.join(differ[:5])}")
    return f"all {len(lines)} score JSONs byte-identical to {verify}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="number of distinct calls to score")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed passes over the calls (best is reported)"
    )
    parser.add_argument("--scorecard", default=str(ROOT / "scorecards" / "default.en.yaml"))
    check = parser.add_mutually_exclusive_group()
    check.add_argument("--save", metavar="FILE", help="write every call's score JSON to FILE, one per line")
    check.add_argument("--verify", metavar="FILE", help="check every call's score JSON against FILE")
    args = parser.parse_args(argv)

    card = load_scorecard(args.scorecard)
    calls = [make_call(i) for i in range(args.calls)]
    words = sum(len(t.words) for c in calls for t in c.turns) / len(calls)
    minutes = sum(c.duration for c in calls) / len(calls) / 60
    checked = _check_scores(calls, card, args.save, args.verify) if args.save or args.verify else None
    # Warm-up: the phrase index learns the vocabulary once per process, as in a batch run.
    for c in calls[:50]:
        score_transcript(c, card)
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.process_time()
        for c in calls:
            score_transcript(c, card)
        best = min(best, time.process_time() - t0)
    rate = len(calls) / best
    # A machine yardstick, so figures from different machines can be compared.
    t0 = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    yardstick = time.process_time() - t0
    # Older trees had no kernels module; they ran pure Python.
    kernels_file = str(getattr(getattr(textmatch, "kernels", None), "__file__", ".py"))
    compiled = not kernels_file.endswith(".py")
    met = "met" if rate >= TARGET_CALLS_PER_SECOND else "NOT met"
    print(f"scorecard      {card.name} ({len(card.criteria)} criteria, hash {card.short_hash})")
    print(f"calls          {len(calls)} distinct, {minutes:.1f} min and {words:.0f} words on average")
    print(f"kernels        {'compiled (mypyc)' if compiled else 'pure Python (no current mypyc build)'}")
    print(f"time           {best:.3f} s CPU (best of {args.repeat}, one process)")
    print(f"throughput     {rate:,.0f} calls/s  ({1e6 / rate:.0f} µs per call)")
    print(
        f"target         ≥ {TARGET_CALLS_PER_SECOND:,} calls/s per core "
        f"(≤ {1e6 / TARGET_CALLS_PER_SECOND:.0f} µs per call): {met}"
    )
    print(f"yardstick      {yardstick:.2f} s for a 10-million-step Python loop on this machine")
    if checked:
        print(f"scores         {checked}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
