"""Benchmark: the results store's per-call overhead and a no-op nightly re-run.

Builds a store of N already-processed calls (default 10,000) the way a batch leaves it: a
recordings folder with a ``calls.csv`` manifest and one file per call, and for each call a
realistic transcript (about 5 minutes, 750 words), its characteristics and a score against the
default scorecard, each saved in its own transaction. It reports:

- the store overhead per call (one ``save_call`` transaction: calls row, transcript JSON,
  characteristics, score and every criterion verdict) — target < 5 ms on SQLite;
- a re-run of the batch over the same folder with nothing new (discovery, manifest,
  skip logic, run record) — target < 10 s for 10,000 calls.

The recordings are small placeholder files: a re-run never decodes a done call, it only
stats it, so their content does not matter beyond being unique.

Run: ``python benchmarks/store.py [--calls 10000] [--db postgresql://…] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa_pipeline.batch import BatchOptions, model_label, plan_run, run_batch, transcript_document  # noqa: E402
from qa_pipeline.metadata import CallMetadata  # noqa: E402
from qa_pipeline.options import TranscribeOptions  # noqa: E402
from qa_pipeline.scorecard import load_scorecard  # noqa: E402
from qa_pipeline.scoring import score_transcript  # noqa: E402
from qa_pipeline.store import CallResult, CallStatus, CallTimings, Store  # noqa: E402
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

AGENT = (
    "thank you for calling northwind bank my name is sam how can I help you today let me pull up your account "
    "so I can take a look I am sorry to hear that so just to confirm you were charged twice this month "
    "is there anything else I can help you with thank you for calling have a great day"
).split()
CUSTOMER = (
    "hi I was looking at my statement and there are two charges for the same subscription I only signed up once "
    "so I do not understand why it would take the money twice how long will it take to come back okay thanks"
).split()
TEMPLATES = 16


def _turns(speaker: Speaker, vocab: list[str], start: float, end: float, seed: int) -> list[Turn]:
    turns, t, i = [], start, seed
    while t < end:
        words = []
        for _ in range(12 + (i % 9)):
            w = vocab[i % len(vocab)]
            words.append(Word(w, t, t + 0.3, 0.9))
            t += 0.38
            i += 7
        turns.append(Turn(speaker, tuple(words), 0 if speaker is Speaker.AGENT else 1))
        t += 9.0 + (i % 5)
    return turns


def template_transcript(n: int) -> Transcript:
    """About 5 minutes and 750 words, two parties taking turns."""
    agent = _turns(Speaker.AGENT, AGENT, 0.5, 295.0, n)
    customer = _turns(Speaker.CUSTOMER, CUSTOMER, 6.0, 295.0, n * 3)
    return Transcript(
        call_id=f"t{n}",
        audio=AudioInfo("", "", 300.0, 8000, 2, "pcm_mulaw", "wav"),
        roles=RoleAssignment(RolesSource.CHANNEL, "greeting", 0, 0.9, "agent greeted first"),
        language="en",
        engine=TranscribeOptions().engine,
        model=model_label(TranscribeOptions()),
        turns=merge_turns(agent, customer),
        options=TranscribeOptions().to_dict() | {"agent_channel": "auto"},
    )


def build(folder: Path, db: str, calls: int, scorecard: Path) -> tuple[list[float], list[float]]:
    """Write the recordings, the manifest and the store.

    Returns:
        Per-call seconds of the save and of serialising the transcript (done in workers).
    """
    card = load_scorecard(scorecard)
    templates = [template_transcript(n) for n in range(TEMPLATES)]
    scores = [score_transcript(t, card) for t in templates]
    rec = folder / "recordings"
    rec.mkdir(parents=True, exist_ok=True)
    start = datetime(2024, 1, 1, 8, 0)
    saves: list[float] = []
    serialise: list[float] = []
    with (rec / "calls.csv").open("w", newline="", encoding="utf-8") as f, Store.open(db) as store:
        writer = csv.writer(f)
        writer.writerow(["file", "call_id", "agent_id", "agent_name", "team", "started_at"])
        for i in range(calls):
            call_id = f"call-{i:06d}"
            day = rec / f"{i // 500:03d}"
            day.mkdir(exist_ok=True)
            path = day / f"{call_id}.wav"
            path.write_bytes(b"RIFF" + call_id.encode() * 64)
            st = path.stat()
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            started = start + timedelta(minutes=7 * i)
            agent = f"A{i % 40:03d}"
            writer.writerow([path.relative_to(rec), call_id, agent, f"Agent {i % 40}", f"Team {i % 5}", started.isoformat()])
            t = templates[i % TEMPLATES]
            transcript = replace(t, call_id=call_id, audio=replace(t.audio, path=str(path.resolve()), sha256=sha))
            meta = CallMetadata(path.resolve(), call_id, agent, f"Agent {i % 40}", f"Team {i % 5}", started, {"agent_id": "manifest"})
            # Workers serialise the transcript; the driver's share is the save.
            t0 = time.perf_counter()
            document = transcript_document(transcript)
            serialise.append(time.perf_counter() - t0)
            result = CallResult(
                meta, sha, st.st_size, st.st_mtime_ns, CallStatus.OK, transcript,
                replace(scores[i % TEMPLATES], call_id=call_id), CallTimings(asr_s=20.0), transcript_json=document,
            )
            t0 = time.perf_counter()
            store.save_call(result)
            saves.append(time.perf_counter() - t0)
    return saves, serialise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--db", help="Store URL (default: a SQLite file in the work folder).")
    parser.add_argument("--scorecard", type=Path, default=ROOT / "scorecards" / "default.en.yaml")
    parser.add_argument("--keep", type=Path, help="Work folder to keep (default: a temporary one, removed).")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="qa-store-bench-"))
    db = args.db or str(folder / "qa.db")
    try:
        t0 = time.perf_counter()
        saves, serialise = build(folder, db, args.calls, args.scorecard)
        built = time.perf_counter() - t0
        ms = sorted(s * 1000 for s in saves)
        print(f"store: {db}")
        print(f"built {args.calls} calls in {built:.1f}s")
        print(
            f"store overhead per call (save_call, one transaction): mean {statistics.fmean(ms):.2f} ms, "
            f"median {ms[len(ms) // 2]:.2f} ms, p95 {ms[int(len(ms) * 0.95)]:.2f} ms, max {ms[-1]:.1f} ms  (target < 5 ms)"
        )
        print(f"transcript JSON serialisation (in the worker processes): mean {statistics.fmean(serialise) * 1000:.2f} ms")
        if args.db is None:
            print(f"database size: {Path(db).stat().st_size / 1e6:.0f} MB")

        options = BatchOptions(recordings=folder / "recordings", scorecard=args.scorecard, log_dir=folder / "logs")
        with Store.open(db) as store:
            card = load_scorecard(args.scorecard)
            t0 = time.perf_counter()
            plan = plan_run(store, options, card.content_hash)
            planned = time.perf_counter() - t0
            t0 = time.perf_counter()
            summary = run_batch(store, options)
            rerun = time.perf_counter() - t0
        c = summary.counts
        if c.transcribed or c.rescored or c.failed or c.skipped != args.calls:
            raise SystemExit(f"expected every call to be skipped, got {c.to_dict()}")
        print(f"plan alone (discover, manifest, stat, skip logic): {planned:.2f}s, hashing {plan.hash_seconds:.2f}s")
        print(f"no-op re-run over {args.calls} processed calls: {rerun:.2f}s (target < 10 s); {c.skipped} skipped, 0 transcribed")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
