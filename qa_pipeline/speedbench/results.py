"""``qa bench`` figures: the calls benchmarked on, per-configuration results and the table.

Records round-trip through JSON (the child process writes its figures, the driver reads
them) and the Markdown table is what ``qa bench`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa_pipeline.speedbench.configs import BenchConfig

@dataclass(frozen=True)
class CallSet:
    """The rendered calls a benchmark runs on.

    Attributes:
        folder: Where the audio, truth files and ``calls.csv`` are.
        call_ids: The calls, in scenario order.
        audio_seconds: Their total length.
    """

    folder: Path
    call_ids: tuple[str, ...]
    audio_seconds: float


@dataclass(frozen=True)
class StageSeconds:
    """Seconds per stage, summed over the calls (worker seconds: with several workers they
    add up to more than the wall time).

    Attributes:
        decode: Decoding and resampling.
        vad: Finding speech (0 where the engine runs VAD inside recognition).
        asr: Recognition, without ``vad``.
        merge: Word-start refinement, roles and turns.
        score: Scoring.
        store: Writing each call to the store (in the driver).
        hash: Hashing recordings (while planning and in workers).
    """

    decode: float = 0.0
    vad: float = 0.0
    asr: float = 0.0
    merge: float = 0.0
    score: float = 0.0
    store: float = 0.0
    hash: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {k: round(getattr(self, k), 3) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StageSeconds":
        return cls(**{k: float(data.get(k, 0.0)) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class BenchResult:
    """One configuration's figures.

    Attributes:
        config: The configuration.
        engine: Engine name.
        model: Model name.
        device: Device it ran on.
        compute_type: Compute type it ran in.
        beam_size: Beam size.
        vad: VAD on.
        batching: faster-whisper decoding mode (``-`` for openai-whisper).
        batch_size: Windows per batch.
        workers: Worker processes.
        threads: Inference threads per worker.
        calls: Calls transcribed and scored.
        failed: Calls that failed.
        audio_seconds: Audio processed.
        wall_seconds: Process start to end.
        run_seconds: The batch alone (planning to last store write).
        cpu_seconds: Processor time (user and system) of all the configuration's processes:
            on a busy machine a steadier measure of the work done than wall time.
        peak_rss_mb: Largest resident set of any one process.
        peak_total_rss_mb: Largest sum over all of the configuration's processes (None
            without psutil).
        wer: Word error rate over whole calls (words in time order).
        speaker_wer: Word error rate per party.
        stages: Stage breakdown.
        load_before: One-minute load average before the run.
        load_after: One-minute load average after it.
        wall_runs: With ``--repeat``, the wall seconds of every run (this result is the
            fastest one).
        skipped: Why the configuration did not run, or None.
        error: Why it failed, or None.
    """

    config: BenchConfig
    engine: str
    model: str
    device: str
    compute_type: str
    beam_size: int
    vad: bool
    batching: str
    batch_size: int
    workers: int
    threads: int
    calls: int = 0
    failed: int = 0
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    run_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    peak_total_rss_mb: float | None = None
    wer: float | None = None
    speaker_wer: float | None = None
    stages: StageSeconds = field(default_factory=StageSeconds)
    load_before: float | None = None
    load_after: float | None = None
    wall_runs: tuple[float, ...] = ()
    skipped: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.skipped is None and self.error is None

    @property
    def speed(self) -> float:
        """× real time: audio seconds per wall second."""
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = value.to_dict() if hasattr(value, "to_dict") else value
        for name in ("audio_seconds", "wall_seconds", "run_seconds", "cpu_seconds", "peak_rss_mb"):
            out[name] = round(out[name], 3)
        out["x_real_time"] = round(self.speed, 2)
        out["wall_runs"] = [round(w, 3) for w in self.wall_runs]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BenchResult":
        values = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        values["config"] = BenchConfig.from_dict(data["config"])
        values["stages"] = StageSeconds.from_dict(data.get("stages", {}))
        values["wall_runs"] = tuple(data.get("wall_runs", ()))
        return cls(**values)


@dataclass(frozen=True)
class BenchReport:
    """A whole benchmark run.

    Attributes:
        results: One per configuration, in run order.
        call_set: The calls.
        machine: Cores, processor and platform.
        started_at: When the run started (UTC, ISO 8601).
    """

    results: tuple[BenchResult, ...]
    call_set: CallSet
    machine: dict[str, Any]
    started_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "machine": dict(self.machine),
            "calls": {
                "folder": str(self.call_set.folder),
                "count": len(self.call_set.call_ids),
                "audio_seconds": round(self.call_set.audio_seconds, 3),
            },
            "results": [r.to_dict() for r in self.results],
        }


# --------------------------------------------------------------------------- the table
TABLE_COLUMNS = (
    "config", "engine", "model", "compute", "beam", "VAD", "batching", "workers×threads",
    "audio h", "wall s", "× real time", "CPU s", "peak RSS MB", "WER", "party WER",
    "decode s", "VAD s", "ASR s", "merge s", "score s", "store s",
)


def table_rows(report: BenchReport) -> list[list[str]]:
    """One row of text cells per configuration, in :data:`TABLE_COLUMNS` order."""
    rows = []
    for r in report.results:
        head = [
            r.config.name + (f" ({r.failed} failed)" if r.failed else ""), r.engine, r.model, r.compute_type, str(r.beam_size), "on" if r.vad else "off",
            f"{r.batching} ({r.batch_size})" if r.batching not in ("-", "off") else r.batching,
            f"{r.workers}×{r.threads}",
        ]
        if not r.ok:
            why = f"skipped: {r.skipped}" if r.skipped else f"failed: {r.error}"
            rows.append(head + [why] + [""] * (len(TABLE_COLUMNS) - len(head) - 1))
            continue
        memory = f"{r.peak_rss_mb:.0f}" + (f" ({r.peak_total_rss_mb:.0f})" if r.peak_total_rss_mb is not None and r.workers > 1 else "")
        s = r.stages
        rows.append(head + [
            f"{r.audio_seconds / 3600:.2f}", f"{r.wall_seconds:.1f}", f"{r.speed:.1f}", f"{r.cpu_seconds:.1f}", memory,
            "–" if r.wer is None else f"{r.wer:.3f}", "–" if r.speaker_wer is None else f"{r.speaker_wer:.3f}",
            f"{s.decode:.1f}", f"{s.vad:.1f}" if s.vad else "in ASR", f"{s.asr:.1f}", f"{s.merge:.1f}",
            f"{s.score:.1f}", f"{s.store:.1f}",
        ])
    return rows


def markdown_table(report: BenchReport) -> str:
    """The results as a Markdown table (for the terminal and the README)."""
    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(report)]
    return "\n".join(lines)
