"""``qa synth`` — render a scenario into synthetic call recordings with ground truth."""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from qa_pipeline.cli.app import counting_bar, new_app
from qa_pipeline.errors import ConfigError


class AudioFormat(str, Enum):
    wav = "wav"
    flac = "flac"
    ogg = "ogg"
    mp3 = "mp3"
    m4a = "m4a"


def synth(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (calls and/or a generator).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the recordings, truth files and calls.csv.")],
    format: Annotated[AudioFormat, typer.Option("--format", help="Container of the recordings (calls may override).")] = AudioFormat.wav,
    subtype: Annotated[str, typer.Option("--subtype", help="WAV encoding: ULAW, ALAW, PCM_16 or FLOAT.")] = "ULAW",
    sample_rate: Annotated[int, typer.Option("--sample-rate", min=8000, help="Sample rate in Hz.")] = 8000,
    mono: Annotated[bool, typer.Option("--mono", help="Mix both parties into one channel.")] = False,
    swap_channels: Annotated[bool, typer.Option("--swap-channels", help="Put the agent on channel 1.")] = False,
    band_limit: Annotated[bool, typer.Option("--band-limit/--no-band-limit", help="Filter to the 300-3400 Hz telephone band.")] = True,
    noise_db: Annotated[float | None, typer.Option("--noise-db", help="RMS level of the background noise in dBFS.")] = -50.0,
    no_noise: Annotated[bool, typer.Option("--no-noise", help="Digital silence between utterances.")] = False,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of pauses and noise.")] = 0,
) -> None:
    """Render synthetic two-party calls with planted QA behaviours and exact ground truth.

    Each call becomes an audio file and a <call_id>.truth.json with every utterance and
    planted behaviour timed, plus the expected verdict per scorecard criterion; calls.csv
    lists the calls with their agents. Rendering is deterministic: the same scenario and
    seed give the same files.
    """
    from qa_pipeline.synth import RenderOptions, load_scenario, render_scenario

    try:
        options = RenderOptions(
            format=format.value,
            subtype=subtype,
            sample_rate=sample_rate,
            stereo=not mono,
            swap_channels=swap_channels,
            band_limit=band_limit,
            noise_db=None if no_noise else noise_db,
            seed=seed,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    loaded = load_scenario(scenario)
    total_calls = len(loaded.scripts())

    started = time.perf_counter()
    with counting_bar("rendering", total_calls) as progress:
        truths = render_scenario(loaded, out, options, progress=progress)
    wall = time.perf_counter() - started
    audio_seconds = sum(t.duration for t in truths)
    speed = f", {audio_seconds / wall:.1f}x real time" if wall > 0 else ""
    calls = f"{len(truths)} call" + ("" if len(truths) == 1 else "s")
    typer.echo(f"Rendered {calls}, {audio_seconds / 60:.1f} min of audio in {wall:.1f}s{speed} -> {out}")


app = new_app("Render synthetic test calls.")
app.command("synth")(synth)
