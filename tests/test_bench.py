"""``qa bench``: configurations parsed, run side by side on rendered calls, tabulated.

The run renders half a minute of calls and runs two configurations for real; it checks the
table's shape and that the figures are sane, never how fast anything was.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from qa_pipeline.options import TranscribeOptions
from qa_pipeline.speedbench.runner import (
    DEFAULT_CONFIGS,
    PRESETS,
    TABLE_COLUMNS,
    BenchConfig,
    BenchOptions,
    BenchResult,
    prepare_calls,
)
from qa_pipeline.cli.main import app
from qa_pipeline.errors import ConfigError


def test_configs_parse_names_and_worker_shapes():
    assert BenchConfig.parse("packed") == BenchConfig("packed", "packed")
    assert BenchConfig.parse(" sequential:2x1 ") == BenchConfig("sequential:2x1", "sequential", 2, 1)
    assert BenchConfig.parse("batched:1X2") == BenchConfig("batched:1X2", "batched", 1, 2)
    assert set(DEFAULT_CONFIGS) == set(PRESETS)
    with pytest.raises(ConfigError, match="unknown configuration 'fast'; choose from default, packed"):
        BenchConfig.parse("fast")
    with pytest.raises(ConfigError, match="write workers x threads as NAME:WxT, e.g. packed:2x1"):
        BenchConfig.parse("packed:2y1")
    with pytest.raises(ConfigError, match="NAME:WxT"):
        BenchConfig.parse("packed:0x1")


def test_options_map_configurations_to_recognition_settings():
    options = BenchOptions(minutes=1, batch_size=4, workers=3)
    assert options.transcribe_options(BenchConfig.parse("sequential")).batching == "off"
    assert options.transcribe_options(BenchConfig.parse("batched")).batching == "channel"
    packed = options.transcribe_options(BenchConfig.parse("packed:2x1"))
    assert (packed.batching, packed.batch_size, packed.cpu_threads) == ("call", 4, 1)
    assert options.transcribe_options(BenchConfig.parse("openai")).engine == "openai-whisper"
    assert options.transcribe_options(BenchConfig.parse("default")).batching == TranscribeOptions().batching
    assert options.workers_for(BenchConfig.parse("packed")) == 3
    assert options.workers_for(BenchConfig.parse("packed:2x1")) == 2
    with pytest.raises(ConfigError, match="--minutes must be positive"):
        BenchOptions(minutes=0)
    with pytest.raises(ConfigError, match="--device must be auto, cpu or cuda"):
        BenchOptions(device="gpu")


def test_repeated_runs_report_the_fastest_one():
    from qa_pipeline.speedbench.runner import _fastest_run

    def run(wall: float, **extra) -> BenchResult:
        return BenchResult(BenchConfig.parse("packed"), "faster-whisper", "tiny.en", "cpu", "int8", 1, True,
                           "call", 8, 2, 1, wall_seconds=wall, **extra)

    fastest = _fastest_run([run(20.0), run(18.0), run(25.0)])
    assert fastest.wall_seconds == 18.0 and fastest.wall_runs == (20.0, 18.0, 25.0)
    assert _fastest_run([run(20.0), run(19.0, error="exit code 1")]).error == "exit code 1"
    with pytest.raises(ConfigError, match="--repeat must be at least 1"):
        BenchOptions(repeat=0)


def test_cli_refuses_an_unknown_configuration(tmp_path):
    result = CliRunner().invoke(app, ["bench", "--configs", "sequential,turbo", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "Error: --configs: unknown configuration 'turbo'" in result.output


@pytest.fixture(scope="module")
def calls_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench-calls")
    prepare_calls(folder, 0.5)
    return folder


def test_prepare_calls_reuses_what_is_rendered(calls_dir):
    before = {p.name: p.stat().st_mtime_ns for p in calls_dir.iterdir()}
    again = prepare_calls(calls_dir, 0.5)
    assert {p.name: p.stat().st_mtime_ns for p in calls_dir.iterdir()} == before
    assert again.audio_seconds >= 30 and again.call_ids
    # A shorter set is the first calls of a longer one.
    assert prepare_calls(calls_dir, 0.1).call_ids == again.call_ids[:1]


@pytest.mark.e2e
def test_bench_runs_configurations_side_by_side_and_tabulates(calls_dir, tmp_path):
    out = tmp_path / "results.json"
    result = CliRunner().invoke(
        app,
        ["bench", "--minutes", "0.5", "--configs", "sequential,packed:1x2", "--data", str(calls_dir), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(line for line in lines if line.startswith("| config |"))
    assert [c.strip() for c in header.strip("|").split("|")] == list(TABLE_COLUMNS)
    rows = {line.split("|")[1].strip(): line for line in lines if line.startswith("| ") and line is not header}
    assert set(rows) == {"sequential", "packed:1x2"}
    assert "| off |" in rows["sequential"] and "| call (8) | 1×2 |" in rows["packed:1x2"]

    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["calls"]["count"] >= 1 and report["machine"]["cores"] >= 1
    results = [BenchResult.from_dict(r) for r in report["results"]]
    assert [r.config.name for r in results] == ["sequential", "packed:1x2"]
    for r in results:
        assert r.ok and r.failed == 0 and r.calls == report["calls"]["count"], r
        assert r.audio_seconds == pytest.approx(report["calls"]["audio_seconds"], rel=0.01)
        assert r.wall_seconds > r.run_seconds > 0 and r.speed > 0 and r.cpu_seconds > 0
        assert 50 < r.peak_rss_mb < 4000
        assert r.wer is not None and 0 <= r.wer < 0.5
        assert r.speaker_wer is not None and 0 <= r.speaker_wer < 0.5
        stages = r.stages
        assert stages.decode > 0 and stages.asr > 0 and stages.score > 0 and stages.store > 0
        assert r.engine == "faster-whisper" and r.compute_type == "int8" and r.model == "tiny.en"
    sequential, packed = results
    # Every path finds speech with VAD now (speech coverage is measured against it).
    assert packed.stages.vad > 0 and sequential.stages.vad > 0
    assert (packed.workers, packed.threads) == (1, 2)
