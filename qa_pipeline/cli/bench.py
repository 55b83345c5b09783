"""``qa bench`` — recognition configurations side by side on rendered stereo calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from qa_pipeline.cli import options as o


@o.derive_flags
def bench(
    minutes: Annotated[float, typer.Option("--minutes", help="Audio to benchmark on, in minutes (whole calls are added until it is reached).")] = 10.0,
    configs: Annotated[str, typer.Option("--configs", help="Comma-separated configurations, each NAME or NAME:WxT (W workers with T threads each); names: default, packed, batched, sequential, openai.")] = "default,sequential,batched,packed,openai",
    workers: Annotated[Optional[int], typer.Option("--workers", "-w", min=1, help="Worker processes for configurations that do not name theirs (default: as qa run).")] = None,
    asr: o.Flags = o.BENCH_FLAGS,
    config_file: o.ConfigOpt = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="Cache of rendered calls, reused between runs (default ~/.cache/qa_pipeline/bench/calls).")] = None,
    work: Annotated[Optional[Path], typer.Option("--work", help="Keep each configuration's store and run log in this folder (default: a temporary folder, removed).")] = None,
    scenario: Annotated[Optional[Path], typer.Option("--scenario", help="Scenario the calls are rendered from (default samples/drift.yaml).")] = None,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Run every configuration this many times, in rounds, and report its fastest run (the least disturbed on a shared machine).")] = 1,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Also write the results as JSON to this file.")] = None,
) -> None:
    """Benchmark transcription configurations end to end on synthetic stereo calls.

    Renders (or reuses) calls from the drifting-agents scenario, runs `qa run`'s batch for
    each configuration in a process of its own, one after another, and prints a table:
    speed (× real time), peak memory, word error rate against the script and the stage
    breakdown. Figures from a shared machine compare only within one run; the load average
    before and after each configuration is in the JSON. --device, --compute-type, --model and
    --batch-size default to [transcribe] of ./qa.toml (device: cpu without one).
    """
    from qa_pipeline.speedbench.configs import DEFAULT_SCENARIO, PRESETS, BenchConfig, BenchOptions
    from qa_pipeline.speedbench.results import markdown_table
    from qa_pipeline.speedbench.runner import run_bench

    _, engine, _ = o.stage_options(asr, o.load(config_file), o.BENCH_FLAGS)
    options = BenchOptions(
        minutes=minutes,
        configs=tuple(BenchConfig.parse(c) for c in configs.split(",") if c.strip()),
        workers=workers,
        device=engine.device,
        compute_type=engine.compute_type,
        model=engine.model,
        batch_size=engine.batch_size,
        data_dir=data,
        work_dir=work,
        scenario=scenario or DEFAULT_SCENARIO,
        repeat=repeat,
    )

    def news(line: str) -> None:
        typer.echo(line, err=True)

    report = run_bench(options, news)
    calls = report.call_set
    machine = report.machine
    typer.echo(
        f"{len(calls.call_ids)} stereo calls, {calls.audio_seconds / 60:.1f} min of audio; "
        f"{machine['cores']} cores ({machine['processor']})"
    )
    typer.echo("")
    typer.echo(markdown_table(report))
    typer.echo("")
    for name in dict.fromkeys(r.config.preset for r in report.results):
        typer.echo(f"{name}: {PRESETS[name].description}")
    loads = [r.load_before for r in report.results if r.load_before is not None]
    if loads:
        typer.echo(f"Load average (1 min) before each configuration: {', '.join(f'{x:.2f}' for x in loads)}")
    for r in report.results:
        if len(r.wall_runs) > 1:
            typer.echo(f"{r.config.name}: wall seconds of each run {', '.join(f'{w:.1f}' for w in r.wall_runs)} (fastest shown)")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        typer.echo(f"Results: {out}")
    if any(r.error for r in report.results):
        raise typer.Exit(1)
