"""``qa transcribe`` — recordings to speaker-attributed transcripts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from qa_pipeline.cli import options as o
from qa_pipeline.errors import AudioError, ConfigError
from qa_pipeline.subtitles import FORMATS, WRITERS


@o.derive_flags
def transcribe(
    inputs: Annotated[List[Path], typer.Argument(help="Recordings or folders of recordings.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the transcripts.")],
    formats: Annotated[Optional[List[str]], typer.Option("--format", "-f", help="Extra output formats besides json: vtt, srt, txt. Repeatable or comma-separated.")] = None,
    asr: o.Flags = o.ENGINE_FLAGS,
    personal: o.Flags = o.REDACTION_FLAGS,
    config_file: o.ConfigOpt = None,
    scorecard: Annotated[Optional[Path], typer.Option("--scorecard", "-s", help="Scorecard YAML whose agent phrases help decide who the agent is (default: none).")] = None,
) -> None:
    """Transcribe recordings into JSON transcripts (plus VTT/SRT/TXT on request).

    Each party's channel is transcribed separately and merged into time-ordered turns.
    A file that cannot be decoded fails alone; the others are still transcribed, and the
    command exits 1 listing the failures. Personal data is redacted unless --no-redact.
    Roles are decided without a scorecard unless --scorecard names one. Defaults come from
    [transcribe] and [redaction] of ./qa.toml when present; flags override it.
    """
    from qa_pipeline.asr import create_engine
    from qa_pipeline.cache import TranscriptCache
    from qa_pipeline.ingest import call_ids, discover_audio
    from qa_pipeline.pii import write_redacted_copy
    from qa_pipeline.pipeline import StageTimings, transcribe_call
    from qa_pipeline.role_step import assign_roles

    wanted = {f.strip().lower() for spec in (formats or []) for f in spec.split(",") if f.strip()}
    unknown = sorted(wanted - set(FORMATS))
    if unknown:
        raise ConfigError(f"--format: unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    wanted.add("json")
    config = o.load(config_file)
    audio_opts, asr_opts, cache_opts = o.stage_options(asr, config)
    redaction = o.redaction_options(personal, config)
    phrases: tuple[str, ...] = ()
    if scorecard is not None:
        from qa_pipeline.roles import scorecard_agent_phrases
        from qa_pipeline.scorecard import load_scorecard

        phrases = scorecard_agent_phrases(load_scorecard(scorecard))
    paths = discover_audio(inputs)
    if not paths:
        raise AudioError(f"no recordings found in {', '.join(str(i) for i in inputs)}")
    ids = call_ids(paths)
    cache = None if cache_opts.no_cache else TranscriptCache(cache_opts.path)
    asr = create_engine(asr_opts)
    out.mkdir(parents=True, exist_ok=True)

    console = Console(stderr=True)
    failures: list[tuple[Path, str]] = []
    audio_seconds = 0.0
    cached = 0
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("transcribing", total=len(paths))
        for path in paths:
            bar.update(task, description=f"transcribing {path.name}")
            timings = StageTimings()
            try:
                t = transcribe_call(path, asr, audio_opts, asr_opts, ids[path], cache, timings, redaction=redaction)
                if phrases:
                    t = assign_roles(t, phrases, audio_opts.roles_review_below)
                write_redacted_copy(path, t, redaction)
            except AudioError as exc:
                failures.append((path, str(exc)))
                bar.advance(task)
                continue
            for fmt in sorted(wanted):
                target = out / f"{t.call_id}.{fmt}"
                target.write_text(WRITERS[fmt](t), encoding="utf-8")
            audio_seconds += t.duration
            cached += timings.cached
            bar.advance(task)
    wall = time.perf_counter() - started
    done = len(paths) - len(failures)
    speed = f", {audio_seconds / wall:.1f}x real time" if wall > 0 and audio_seconds else ""
    typer.echo(
        f"Transcribed {done} of {len(paths)} calls ({cached} from cache), "
        f"{audio_seconds / 60:.1f} min of audio in {wall:.1f}s{speed} -> {out}"
    )
    if failures:
        for path, msg in failures:
            typer.echo(f"Error: {msg}", err=True)
        typer.echo(f"{len(failures)} call(s) failed.", err=True)
        raise typer.Exit(1)
