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
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from qa_pipeline.speedbench.configs import DEFAULT_CONFIGS, DEFAULT_SCENARIO, PRESETS, BenchConfig, BenchOptions, Preset
from qa_pipeline.speedbench.results import (
    TABLE_COLUMNS,
    BenchReport,
    BenchResult,
    CallSet,
    StageSeconds,
    markdown_table,
    table_rows,
)
from qa_pipeline.errors import AudioError, ConfigError
from qa_pipeline.log import get_logger

log = get_logger("bench")

__all__ = [
    "DEFAULT_CONFIGS", "DEFAULT_SCENARIO", "PRESETS", "TABLE_COLUMNS", "BenchConfig", "BenchOptions",
    "BenchReport", "BenchResult", "CallSet", "Preset", "StageSeconds", "default_data_dir", "machine_info",
    "markdown_table", "prepare_calls", "run_bench", "table_rows",
]


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
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    load_before = _load()
    started = time.perf_counter()
    with open(work / "stderr.txt", "wb") as stderr:
        proc = subprocess.run(
            [sys.executable, "-m", "qa_pipeline.speedbench.child", str(spec_path), str(result_path)],
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
