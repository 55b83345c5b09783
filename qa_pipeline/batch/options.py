"""What a batch run is asked to do: its options, how many workers it starts when not told,
and the engine identity its plan compares stored transcripts against."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from qa_pipeline.errors import ConfigError
from qa_pipeline.metadata import MetadataOptions
from qa_pipeline.options import AudioOptions, TranscribeOptions
from qa_pipeline.pii import RedactionOptions
from qa_pipeline.scoring import ScoringOptions

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class BatchOptions:
    """One batch run.

    Attributes:
        recordings: The recordings folder (None only with ``rescore``).
        scorecard: The scorecard file.
        audio: Decoding and channel options.
        transcribe: Recognition options.
        metadata: Where call metadata comes from.
        scoring: Scoring options.
        workers: Worker processes.
        rescore: Only re-score stored transcripts that lack a score for this scorecard; no
            discovery, no transcription.
        retry_failed: Process calls that failed in earlier runs again.
        since: Only calls that started on or after this day.
        limit: At most this many calls processed (the rest wait for the next run).
        dry_run: Plan only: write nothing.
        cache_dir: Transcript cache folder; None = the default cache.
        use_cache: Read and write the transcript cache.
        transcripts_dir: Where a copy of each new transcript is written for report call
            pages; None = none.
        log_dir: Folder of the run's JSON-lines log; None = no log file.
        min_duration_seconds: Shorter recordings fail as too short to score.
        redaction: Personal-data redaction of new transcripts (on by default), and the
            redacted audio copies.
        executor: Where calls are transcribed and scored: ``local`` (worker processes on this
            machine) or ``ray`` (a Ray cluster, see :mod:`qa_pipeline.executors.ray_executor`).
        ray_address: The Ray cluster for ``ray``: ``auto``, ``HOST:PORT`` or
            ``ray://HOST:PORT``; None = a new local cluster (or ``RAY_ADDRESS``).
        exclude: More folders (or files) never searched for recordings, such as the reports
            folder and the store; the run's transcripts, log, cache and redacted-audio
            folders are left out anyway (see :attr:`output_paths`).
    """

    recordings: Path | None
    scorecard: Path
    audio: AudioOptions = field(default_factory=AudioOptions)
    transcribe: TranscribeOptions = field(default_factory=TranscribeOptions)
    metadata: MetadataOptions = field(default_factory=MetadataOptions)
    scoring: ScoringOptions = field(default_factory=ScoringOptions)
    workers: int = 1
    rescore: bool = False
    retry_failed: bool = False
    since: date | None = None
    limit: int | None = None
    dry_run: bool = False
    cache_dir: Path | None = None
    use_cache: bool = True
    transcripts_dir: Path | None = None
    log_dir: Path | None = None
    min_duration_seconds: float = 1.0
    redaction: RedactionOptions = field(default_factory=RedactionOptions)
    executor: str = "local"
    ray_address: str | None = None
    exclude: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigError("workers must be at least 1")
        if self.limit is not None and self.limit < 0:
            raise ConfigError("limit must not be negative")
        if self.min_duration_seconds < 0:
            raise ConfigError("min_duration_seconds must not be negative")
        if self.recordings is None and not self.rescore:
            raise ConfigError("a recordings folder is needed (only --rescore works without one)")
        if self.executor not in EXECUTORS:
            raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "recordings": None if self.recordings is None else str(self.recordings),
            "scorecard": str(self.scorecard),
            "audio": self.audio.to_dict(),
            "transcribe": self.transcribe.to_dict(),
            "metadata": self.metadata.to_dict(),
            "scoring": self.scoring.to_dict(),
            "workers": self.workers,
            "rescore": self.rescore,
            "retry_failed": self.retry_failed,
            "since": None if self.since is None else self.since.isoformat(),
            "limit": self.limit,
            "dry_run": self.dry_run,
            "cache_dir": None if self.cache_dir is None else str(self.cache_dir),
            "use_cache": self.use_cache,
            "transcripts_dir": None if self.transcripts_dir is None else str(self.transcripts_dir),
            "log_dir": None if self.log_dir is None else str(self.log_dir),
            "min_duration_seconds": self.min_duration_seconds,
            "redaction": self.redaction.to_dict(),
            "executor": self.executor,
            "ray_address": self.ray_address,
            "exclude": [str(p) for p in self.exclude],
        }

    @property
    def output_paths(self) -> tuple[Path, ...]:
        """Where the run writes: never searched for recordings, or a report's audio copies
        would come back as new calls in the next run."""
        paths = [*self.exclude, self.transcripts_dir, self.log_dir, self.redaction.audio_dir]
        if self.use_cache:
            from qa_pipeline.cache import default_cache_dir

            paths.append(self.cache_dir or default_cache_dir())
        return tuple(Path(p).expanduser() for p in paths if p is not None)


# Worker processes chosen without --workers: one per core up to this many. Each loads its own
# model copy, so memory, not cores, bounds more; on many cores, bigger models use the extra
# cores as inference threads instead (the threads are shared out among the workers).
MAX_AUTO_WORKERS = 4


def auto_workers(options: TranscribeOptions, executor: str = "local") -> int:
    """Worker processes for a run that does not say how many.

    faster-whisper on a CPU: one worker per core (up to :data:`MAX_AUTO_WORKERS`), each with
    an equal share of the cores as inference threads. On two idle cores two single-threaded
    workers ran 10 minutes of calls in 15.3 s against 24.1 s for one worker with two threads
    (``qa bench``, packed decoding): VAD, decoding, feature extraction and word alignment run on one thread,
    and Whisper tiny's small matrices do not spread well over two. On a GPU one worker, which
    keeps the GPU busy with batches. openai-whisper: one worker, whose PyTorch uses all the
    cores (two single-threaded workers were 2.7 times slower). On Ray, one (``--workers``
    counts actors across the cluster).
    """
    if executor != "local" or options.engine == "openai-whisper":
        return 1
    from qa_pipeline.asr.device import available_cores, resolve_device

    if resolve_device(options.device) == "cuda":
        return 1
    return max(1, min(available_cores(), MAX_AUTO_WORKERS))


# --------------------------------------------------------------------------- identity
def model_label(options: TranscribeOptions) -> str:
    """The model name engines record in transcripts for these options, without loading it.

    The bundled model is ``tiny.en``; a local path is recorded as given (user folder
    expanded); a model name as written.
    """
    from qa_pipeline.asr.models import BUNDLED_MODEL_NAME

    model = options.model
    if model is None or model == "bundled":
        return BUNDLED_MODEL_NAME
    path = Path(model).expanduser()
    if path.exists() or os.sep in model or model.startswith("."):
        return str(path)
    return model
