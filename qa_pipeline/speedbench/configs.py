"""``qa bench`` configurations: the named presets, ``NAME:WxT`` parsing and the run's options.

A configuration maps to the recognition options and worker count a benchmark run uses, so
that each one differs from the pipeline's defaults only in what its preset names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from qa_pipeline.errors import ConfigError
from qa_pipeline.options import TranscribeOptions

# A copy of samples/drift.yaml shipped inside the package (a test keeps them identical).
DEFAULT_SCENARIO = Path(__file__).resolve().parent.parent / "data" / "scenarios" / "drift.yaml"


@dataclass(frozen=True)
class Preset:
    """A named configuration.

    Attributes:
        description: One line for the table's legend.
        engine: ``faster-whisper`` or ``openai-whisper``.
        batching: faster-whisper's decoding (``call``, ``channel``, ``off``); None = the
            pipeline's default.
    """

    description: str
    engine: str = "faster-whisper"
    batching: str | None = None


PRESETS: dict[str, Preset] = {
    "default": Preset("the pipeline's defaults (what `qa run` does without flags)"),
    "packed": Preset("channel-aware: VAD per channel, speech of both channels packed into shared windows, batched", batching="call"),
    "batched": Preset("faster-whisper's BatchedInferencePipeline on each channel", batching="channel"),
    "sequential": Preset("faster-whisper's sequential long-form decoding of each channel", batching="off"),
    "openai": Preset("openai-whisper (PyTorch) on each channel: the reference", engine="openai-whisper"),
}
DEFAULT_CONFIGS = ("default", "sequential", "batched", "packed", "openai")


@dataclass(frozen=True)
class BenchConfig:
    """One configuration to run.

    Attributes:
        name: As given (``packed``, ``sequential:2x1``…).
        preset: The preset's name.
        workers: Worker processes; None = the batch's default.
        threads: Inference threads per worker; 0 = the cores shared out among the workers.
    """

    name: str
    preset: str
    workers: int | None = None
    threads: int = 0

    @classmethod
    def parse(cls, spec: str) -> "BenchConfig":
        """``NAME`` or ``NAME:WxT``.

        Raises:
            ConfigError: Unknown name or malformed worker/thread counts.
        """
        text = spec.strip()
        name, _, shape = text.partition(":")
        if name not in PRESETS:
            raise ConfigError(f"--configs: unknown configuration {name!r}; choose from {', '.join(PRESETS)}")
        if not shape:
            return cls(text, name)
        workers, sep, threads = shape.lower().partition("x")
        if not sep or not workers.isdigit() or not threads.isdigit() or int(workers) < 1:
            raise ConfigError(f"--configs: {text!r}: write workers x threads as NAME:WxT, e.g. {name}:2x1")
        return cls(text, name, int(workers), int(threads))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "preset": self.preset, "workers": self.workers, "threads": self.threads}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BenchConfig":
        return cls(data["name"], data["preset"], data.get("workers"), int(data.get("threads", 0)))


@dataclass(frozen=True)
class BenchOptions:
    """One benchmark run.

    Attributes:
        minutes: Audio to benchmark on, at least (whole calls are added until it is reached).
        configs: The configurations, in the order they run.
        workers: Worker processes for configurations that do not name theirs; None = the
            batch's default.
        device: ``cpu``, ``cuda`` or ``auto``.
        compute_type: CTranslate2 compute type (``default`` = int8 on CPU, float16 on CUDA).
        model: Model name or path; None = the bundled tiny.en.
        batch_size: Windows decoded together by the batched configurations.
        data_dir: Cache of rendered calls; None = ``<cache>/bench/calls``.
        work_dir: Where the runs' stores and logs go; None = a temporary folder, removed after.
        scenario: The scenario calls are rendered from.
        repeat: Rounds: every configuration runs this many times, the rounds one after
            another, and its fastest run is reported, as ``timeit`` does: other jobs on a
            shared machine only ever add time, so the fastest run is the least disturbed.
    """

    minutes: float = 10.0
    configs: tuple[BenchConfig, ...] = tuple(BenchConfig.parse(c) for c in DEFAULT_CONFIGS)
    workers: int | None = None
    device: str = "cpu"
    compute_type: str = "default"
    model: str | None = None
    batch_size: int = 8
    data_dir: Path | None = None
    work_dir: Path | None = None
    scenario: Path = DEFAULT_SCENARIO
    repeat: int = 1

    def __post_init__(self) -> None:
        if self.repeat < 1:
            raise ConfigError("--repeat must be at least 1")
        if not self.minutes > 0:
            raise ConfigError(f"--minutes must be positive, got {self.minutes:g}")
        if not self.configs:
            raise ConfigError("--configs: name at least one configuration")
        if self.workers is not None and self.workers < 1:
            raise ConfigError("--workers must be at least 1")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"--device must be auto, cpu or cuda, got {self.device!r}")
        if self.batch_size < 1:
            raise ConfigError("--batch-size must be at least 1")

    def transcribe_options(self, config: BenchConfig) -> TranscribeOptions:
        """The recognition options a configuration runs with."""
        preset = PRESETS[config.preset]
        changes: dict[str, Any] = {
            "engine": preset.engine,
            "model": self.model,
            "device": self.device,
            "compute_type": self.compute_type,
            "batch_size": self.batch_size,
            "cpu_threads": config.threads,
        }
        if preset.batching is not None:
            changes["batching"] = preset.batching
        return replace(TranscribeOptions(), **changes)

    def workers_for(self, config: BenchConfig) -> int:
        """Worker processes for a configuration: its own, else ``--workers``, else what
        ``qa run`` chooses for this machine."""
        from qa_pipeline.batch import auto_workers

        if config.workers is not None:
            return config.workers
        if self.workers is not None:
            return self.workers
        return auto_workers(self.transcribe_options(config))
