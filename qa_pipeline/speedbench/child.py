"""The child process of ``qa bench``: one configuration's batch, run and measured.

Run as ``python -m qa_pipeline.speedbench.child SPEC.json RESULT.json`` so that its memory and
processor figures are that configuration's alone.
"""

from __future__ import annotations

import importlib.util
import json
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

from qa_pipeline.speedbench.results import StageSeconds
from qa_pipeline.errors import ConfigError
from qa_pipeline.options import TranscribeOptions

class _MemorySampler:
    """Samples the resident memory of this process and its children (needs psutil)."""

    def __init__(self, interval_seconds: float = 0.2) -> None:
        self.peak_bytes: int | None = None
        self._stop = threading.Event()
        self._interval = interval_seconds
        self._thread: threading.Thread | None = None
        if importlib.util.find_spec("psutil") is not None:
            self.peak_bytes = 0
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            self.peak_bytes = max(self.peak_bytes or 0, total)
            self._stop.wait(self._interval)

    def stop(self) -> int | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.peak_bytes


def run_child(spec_path: Path, result_path: Path) -> None:
    """Run one configuration's batch (in the benchmark's child process) and write its figures.

    Args:
        spec_path: JSON: recordings, work folder, transcribe options, workers, launch time.
        result_path: Where the figures go, as JSON.
    """
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    sampler = _MemorySampler()
    from qa_pipeline.batch import BatchOptions, run_batch
    from qa_pipeline.config import bundled_scorecard
    from qa_pipeline.store import Store

    work = Path(spec["work"])
    card = bundled_scorecard("en")
    if card is None:
        raise ConfigError("the bundled default scorecard (qa_pipeline/data/scorecards/default.en.yaml) is missing")
    options = BatchOptions(
        recordings=Path(spec["recordings"]),
        scorecard=card,
        transcribe=TranscribeOptions.from_dict(spec["transcribe"]),
        workers=int(spec["workers"]),
        use_cache=False,
        log_dir=work / "logs",
    )
    store_path = work / "qa.db"
    started = time.perf_counter()
    with Store.open(str(store_path)) as store:
        summary = run_batch(store, options)
    run_seconds = time.perf_counter() - started
    peak_total = sampler.stop()
    stages = _stage_sums(summary.log_path) if summary.log_path else StageSeconds()
    own = resource.getrusage(resource.RUSAGE_SELF)
    # The workers have been joined, so their usage is counted here.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "store": str(store_path),
        "succeeded": summary.counts.succeeded,
        "failed": summary.counts.failed,
        "failures": [f.error for f in summary.failures],
        "audio_seconds": summary.counts.audio_seconds,
        "run_seconds": run_seconds,
        "cpu_seconds": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
        # ru_maxrss is in kilobytes on Linux.
        "peak_rss_mb": max(own.ru_maxrss, children.ru_maxrss) / 1024,
        "peak_total_rss_mb": None if peak_total is None else peak_total / 2**20,
        "stages": stages.to_dict(),
    }
    result_path.write_text(json.dumps(result), encoding="utf-8")


def _stage_sums(log_path: Path) -> StageSeconds:
    """Per-stage seconds summed over the ``call`` events of a run log."""
    sums = dict.fromkeys(("decode", "vad", "asr", "merge", "score", "store", "hash"), 0.0)
    with open(log_path, encoding="utf-8") as f:
        for line in f:
            event = json.loads(line)
            if event.get("event") == "plan":
                sums["hash"] += float(event.get("hash_seconds", 0.0))
            if event.get("event") != "call" or event.get("status") != "ok":
                continue
            t = event.get("timings", {})
            vad = float(t.get("vad_s", 0.0))
            sums["decode"] += float(t.get("decode_s", 0.0))
            sums["vad"] += vad
            sums["asr"] += float(t.get("asr_s", 0.0)) - vad
            sums["merge"] += float(t.get("merge_s", 0.0))
            sums["score"] += float(t.get("score_s", 0.0))
            sums["hash"] += float(t.get("hash_s", 0.0))
            sums["store"] += float(event.get("store_s", 0.0))
    return StageSeconds(**sums)


def main(argv: Sequence[str] | None = None) -> int:
    """Child entry point: ``python -m qa_pipeline.speedbench.child SPEC.json RESULT.json``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        raise SystemExit("usage: python -m qa_pipeline.speedbench.child SPEC.json RESULT.json")
    run_child(Path(args[0]), Path(args[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
