"""The speed benchmark behind ``qa bench``: configurations side by side on rendered calls.

A set of synthetic stereo calls (from the drifting-agents scenario, ``samples/drift.yaml``)
of a given total length is rendered once into a cache folder and reused. Each configuration
then runs the real batch (:func:`qa_pipeline.batch.run_batch`: decode, VAD, recognition,
roles and turns, scoring, one store transaction per call) over those calls in a process of
its own, one configuration after another in the same run, so memory figures are that
configuration's alone and all of them see the same machine. Measured per configuration:

- wall seconds from starting the process to its end (interpreter start, imports, worker
  start-up and model loads included: what ``qa run`` costs) and × real time;
- processor seconds of all its processes, a steadier measure than wall time when others
  share the machine;
- peak resident memory of the largest process, and of all its processes together (with
  psutil installed);
- word error rate against the script, over whole calls (words in time order) and per party
  (a word given to the wrong party counts as an error);
- the stage breakdown summed over calls: decode, VAD, recognition (without VAD), merge
  (word-start refinement, roles, turns), scoring and store;
- the machine's load average before and after, since figures taken on a shared machine are
  only comparable side by side.

Configurations are named ``NAME`` or ``NAME:WxT`` (W worker processes with T inference
threads each): see :data:`PRESETS`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from qa_pipeline.errors import AudioError, ConfigError
from qa_pipeline.log import get_logger
from qa_pipeline.options import TranscribeOptions

log = get_logger("bench")

# A copy of samples/drift.yaml shipped inside the package (a test keeps them identical).
DEFAULT_SCENARIO = Path(__file__).resolve().parent / "data" / "scenarios" / "drift.yaml"


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


# --------------------------------------------------------------------------- the calls
def default_data_dir() -> Path:
    from qa_pipeline.cache import default_cache_dir

    return default_cache_dir() / "bench" / "calls"


def prepare_calls(
    data_dir: Path, minutes: float, scenario: Path = DEFAULT_SCENARIO, progress: Callable[[str], None] | None = None
) -> CallSet:
    """Render (or reuse) scenario calls in ``data_dir`` until they hold ``minutes`` of audio.

    Calls are taken in scenario order, so a shorter benchmark uses the first calls of a
    longer one and rendering is never repeated.

    Raises:
        ScenarioError: The scenario cannot be read.
        EngineUnavailableError: Calls must be rendered and the speech voice is missing.
    """
    from qa_pipeline.synth import GroundTruth, RenderOptions, load_scenario, render_call

    data_dir.mkdir(parents=True, exist_ok=True)
    chosen: list[GroundTruth] = []
    total = 0.0
    for script in load_scenario(scenario).scripts():
        if total >= minutes * 60:
            break
        truth_path = data_dir / f"{script.call_id}.truth.json"
        truth = GroundTruth.read(truth_path) if truth_path.is_file() else None
        if truth is None or not (data_dir / truth.audio_file).is_file():
            if progress:
                progress(f"rendering {script.call_id}")
            truth = render_call(script, data_dir, RenderOptions())
        if truth.mono:
            continue
        chosen.append(truth)
        total += truth.duration
    if total < minutes * 60:
        log.warning("the scenario holds only %.1f min of stereo calls; benchmarking on those", total / 60)
    return CallSet(data_dir, tuple(t.call_id for t in chosen), total)


def _stage_recordings(call_set: CallSet, folder: Path) -> Path:
    """Copy the chosen calls into a folder of their own, with their ``calls.csv``."""
    from qa_pipeline.synth import GroundTruth, write_calls_csv

    folder.mkdir(parents=True, exist_ok=True)
    truths = [GroundTruth.read(call_set.folder / f"{cid}.truth.json") for cid in call_set.call_ids]
    for t in truths:
        shutil.copy2(call_set.folder / t.audio_file, folder / t.audio_file)
    write_calls_csv(truths, folder / "calls.csv")
    return folder


# --------------------------------------------------------------------------- running
def run_bench(options: BenchOptions, progress: Callable[[str], None] | None = None) -> BenchReport:
    """Render or reuse the calls, run every configuration in its own process, measure.

    Args:
        options: What to run.
        progress: Called with a line of news before each step.

    Raises:
        ConfigError: CUDA was asked for and is not available, or the options are invalid.
        ScenarioError, EngineUnavailableError: The calls cannot be rendered.
    """
    from qa_pipeline.asr.device import resolve_device

    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    # A missing GPU is one clear error now, not the same error once per configuration.
    resolve_device(options.device)
    call_set = prepare_calls(options.data_dir or default_data_dir(), options.minutes, options.scenario, progress)
    if not call_set.call_ids:
        raise AudioError(f"{options.scenario}: no stereo calls to benchmark on")
    temporary = options.work_dir is None
    work = Path(tempfile.mkdtemp(prefix="qa-bench-")) if temporary else Path(options.work_dir)
    try:
        recordings = _stage_recordings(call_set, work / "recordings")
        runs: list[list[BenchResult]] = [[] for _ in options.configs]
        for round_ in range(options.repeat):
            for n, config in enumerate(options.configs):
                if progress:
                    shown = f" (round {round_ + 1}/{options.repeat})" if options.repeat > 1 else ""
                    progress(f"[{n + 1}/{len(options.configs)}] {config.name}{shown}")
                folder = work / f"run-{n + 1:02d}-{round_ + 1}"
                runs[n].append(_run_one(options, config, recordings, call_set, folder))
        results = [_fastest_run(r) for r in runs]
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
    return BenchReport(tuple(results), call_set, machine_info(), started_at)


def _fastest_run(runs: list[BenchResult]) -> BenchResult:
    """The run with the shortest wall time, with every run's wall time attached; a failed
    run is reported as such."""
    for r in runs:
        if not r.ok:
            return r
    fastest = min(runs, key=lambda r: r.wall_seconds)
    return replace(fastest, wall_runs=tuple(r.wall_seconds for r in runs))


def machine_info() -> dict[str, Any]:
    """Cores, processor and platform, for the record."""
    from qa_pipeline.asr.device import available_cores

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return {"cores": available_cores(), "processor": cpu, "platform": platform.platform(), "python": platform.python_version()}


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _skip_reason(engine: str) -> str | None:
    if engine == "openai-whisper":
        missing = [m for m in ("torch", "whisper") if importlib.util.find_spec(m) is None]
        if missing:
            return f"{' and '.join(missing)} not installed (pip install 'qa-pipeline[openai]')"
    return None


def _describe(options: BenchOptions, config: BenchConfig) -> BenchResult:
    from qa_pipeline.asr.device import available_cores, resolve_compute_type, resolve_device
    from qa_pipeline.batch import model_label

    topts = options.transcribe_options(config)
    workers = options.workers_for(config)
    threads = config.threads or (max(1, available_cores() // workers) if workers > 1 else available_cores())
    device = resolve_device(options.device)
    if topts.engine == "faster-whisper":
        compute = resolve_compute_type(topts.compute_type, device, fallback=topts.device == "auto")
        batching = topts.batching
    else:
        compute = "float16" if device == "cuda" else "float32"
        batching = "-"
    return BenchResult(
        config=config, engine=topts.engine, model=model_label(topts), device=device, compute_type=compute,
        beam_size=topts.beam_size, vad=topts.vad, batching=batching, batch_size=topts.batch_size,
        workers=workers, threads=threads,
    )


def _run_one(options: BenchOptions, config: BenchConfig, recordings: Path, call_set: CallSet, work: Path) -> BenchResult:
    described = _describe(options, config)
    reason = _skip_reason(described.engine)
    if reason is not None:
        log.warning("%s skipped: %s", config.name, reason)
        return replace(described, skipped=reason)
    work.mkdir(parents=True, exist_ok=True)
    spec = {
        "recordings": str(recordings),
        "work": str(work),
        "transcribe": options.transcribe_options(config).to_dict(),
        "workers": described.workers,
        "launched": time.time(),
    }
    spec_path, result_path = work / "spec.json", work / "result.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    load_before = _load()
    started = time.perf_counter()
    with open(work / "stderr.txt", "wb") as stderr:
        proc = subprocess.run(
            [sys.executable, "-m", "qa_pipeline.speed_comparison", str(spec_path), str(result_path)],
            cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=stderr, check=False,
        )
    wall = time.perf_counter() - started
    load_after = _load()
    described = replace(described, load_before=load_before, load_after=load_after, wall_seconds=wall)
    if proc.returncode != 0 or not result_path.is_file():
        tail = (work / "stderr.txt").read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
        return replace(described, error=f"exit code {proc.returncode}: " + " | ".join(tail))
    child = json.loads(result_path.read_text(encoding="utf-8"))
    wer, speaker_wer = _accuracy(call_set, Path(child["store"]))
    return replace(
        described,
        calls=child["succeeded"],
        failed=child["failed"],
        audio_seconds=child["audio_seconds"],
        run_seconds=child["run_seconds"],
        cpu_seconds=child["cpu_seconds"],
        peak_rss_mb=child["peak_rss_mb"],
        peak_total_rss_mb=child["peak_total_rss_mb"],
        stages=StageSeconds.from_dict(child["stages"]),
        wer=wer,
        speaker_wer=speaker_wer,
    )


def _accuracy(call_set: CallSet, store_path: Path) -> tuple[float | None, float | None]:
    """Word error rates of the stored transcripts against the scripts."""
    from qa_pipeline.wer import corpus_word_error_rate
    from qa_pipeline.store import Store
    from qa_pipeline.synth import GroundTruth
    from qa_pipeline.transcript import Speaker, join_words

    call_pairs: list[tuple[str, str]] = []
    party_pairs: list[tuple[str, str]] = []
    with Store.open(str(store_path), create=False) as store:
        for cid in call_set.call_ids:
            truth = GroundTruth.read(call_set.folder / f"{cid}.truth.json")
            try:
                transcript = store.transcript(cid)
            except ConfigError:
                continue
            reference = " ".join(u.text for u in sorted(truth.utterances, key=lambda u: u.start))
            spoken = sorted((w for _, w in transcript.iter_words()), key=lambda w: w.start)
            call_pairs.append((reference, join_words(w.text for w in spoken)))
            for speaker in Speaker:
                ref = " ".join(u.text for u in truth.utterances if u.speaker == speaker)
                party_pairs.append((ref, join_words(w.text for w in transcript.words_of(speaker))))
    if not call_pairs:
        return None, None
    return corpus_word_error_rate(call_pairs), corpus_word_error_rate(party_pairs)


# --------------------------------------------------------------------------- the child
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


def main(argv: Sequence[str] | None = None) -> int:
    """Child entry point: ``python -m qa_pipeline.speed_comparison SPEC.json RESULT.json``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        raise SystemExit("usage: python -m qa_pipeline.speed_comparison SPEC.json RESULT.json")
    run_child(Path(args[0]), Path(args[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
