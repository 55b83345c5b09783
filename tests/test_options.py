"""One options path: every option of the stage records is a flag and a qa.toml key, merged once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa_pipeline.cli import bench as bench_cli
from qa_pipeline.cli import forget as forget_cli
from qa_pipeline.cli import options as o
from qa_pipeline.cli import run as run_cli
from qa_pipeline.cli import transcribe as transcribe_cli
from qa_pipeline.cli.main import app
from qa_pipeline.config import OPTION_TABLES, RUN_SECTION, load_config, option_records, parse_config
from qa_pipeline.errors import AudioError, ConfigError
from qa_pipeline.optionspec import resolve, section_keys, specs, user_specs
from qa_pipeline.options import AudioOptions, CacheOptions, ScoringOptions, TranscribeOptions
from qa_pipeline.pii.options import RedactionOptions
from qa_pipeline.runoptions import RunOptions
from qa_pipeline.stats.options import StatsOptions

# The commands that take each stage's options as flags.
COMMANDS = {
    TranscribeOptions: ("run", "transcribe"),
    AudioOptions: ("run", "transcribe"),
    CacheOptions: ("run", "transcribe"),
    RedactionOptions: ("run", "transcribe"),
    ScoringOptions: ("run", "score"),
    RunOptions: ("run",),
    StatsOptions: ("report", "agent"),
}
# The statistics flags qa report and qa agent had before all were derived: names kept.
STATS_FLAGS = {"period_from": "--from", "period_to": "--to", "alpha": "--alpha", "min_calls": "--min-calls"}
# Where each record's keys are written in qa.toml ("" = top-level keys).
TABLES = (*OPTION_TABLES, RUN_SECTION)


def _help(command: str) -> str:
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=400)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("record", list(COMMANDS))
def test_every_option_field_is_a_flag_and_a_qa_toml_key(record: type) -> None:
    table = next(name for name in TABLES if record in option_records(name))
    keys = section_keys(*option_records(table))
    helps = {command: _help(command) for command in COMMANDS[record]}
    for spec in specs(record):
        if spec.internal is not None:
            assert spec.internal.strip(), f"{record.__name__}.{spec.name}: an internal field says why"
            continue
        assert spec.key in keys, f"{record.__name__}.{spec.name} is no key of [{table}]"
        if spec.key == "recordings":
            # qa run's argument, not a flag.
            assert "[RECORDINGS]" in helps["run"].upper(), "qa run has no RECORDINGS argument"
            continue
        for command, text in helps.items():
            assert f" {spec.flag} " in text or f" {spec.flag}/" in text or f"{spec.flag} /" in text, (
                f"{record.__name__}.{spec.name}: qa {command} has no {spec.flag}")
        # The key reaches the record through the one merge: a non-default value is carried.
        assert spec.help, f"{record.__name__}.{spec.name} has no help"
    internal = {s.name for s in specs(record) if s.internal}
    assert {s.name for s in user_specs(record)} | internal == set(record.__dataclass_fields__)


# For every option: what a user writes on the command line, the same in qa.toml, and the
# field's value both must give (never the default, so that reaching the record is seen).
SAMPLES: dict[str, tuple[list[str], object, object]] = {
    "engine": (["--engine", "openai-whisper"], "openai-whisper", "openai-whisper"),
    "model": (["--model", "base"], "base", "base"),
    "language": (["--language", "zh"], "zh", "zh"),
    "device": (["--device", "cpu"], "cpu", "cpu"),
    "compute_type": (["--compute-type", "int8"], "int8", "int8"),
    "beam_size": (["--beam-size", "3"], 3, 3),
    "vad": (["--no-vad"], False, False),
    "threads": (["--threads", "2"], 2, 2),
    "no_speech_threshold": (["--no-speech-threshold", "0.5"], 0.5, 0.5),
    "log_prob_threshold": (["--log-prob-threshold", "-2"], -2, -2.0),
    "min_word_probability": (["--min-word-probability", "0.1"], 0.1, 0.1),
    "turn_gap": (["--turn-gap", "800ms"], "800ms", 0.8),
    "batching": (["--batching", "off"], "off", "off"),
    "batch_size": (["--batch-size", "4"], 4, 4),
    "redecode_uncovered": (["--no-redecode-uncovered"], False, False),
    "coverage_review_below": (["--coverage-review-below", "50%"], "50%", 0.5),
    "language_check": (["--language-check", "always"], "always", "always"),
    "agent_channel": (["--agent-channel", "1"], 1, 1),
    "customer_channel": (["--customer-channel", "2"], 2, 2),
    "max_duration": (["--max-duration", "90m"], "90m", 5400.0),
    "roles_review_below": (["--roles-review-below", "0.5"], 0.5, 0.5),
    "cache_dir": (["--cache-dir", "/srv/cache"], "/srv/cache", "/srv/cache"),
    "no_cache": (["--no-cache"], True, True),
    "enabled": (["--no-redact"], False, False),
    "entities": (["--redact-entities", "card"], ["card"], ("card",)),
    "default_region": (["--redact-default-region", "gb"], "gb", "GB"),
    "card_context": (["--no-redact-card-context"], False, False),
    "context_seconds": (["--redact-context-seconds", "5"], 5, 5.0),
    "max_gap_seconds": (["--redact-max-gap-seconds", "2"], 2.0, 2.0),
    "audio_dir": (["--redact-audio", "/srv/redacted"], "/srv/redacted", "/srv/redacted"),
    "tone_hz": (["--redact-tone-hz", "500"], 500, 500.0),
    "tone_db": (["--redact-tone-db", "-6"], -6, -6.0),
    "audio_pad_seconds": (["--redact-audio-pad-seconds", "0.2"], 0.2, 0.2),
    "max_evidence": (["--max-evidence", "3"], 3, 3),
    "recordings": (["/srv/rec"], "/srv/rec", Path("/srv/rec")),
    "scorecard": (["-s", "/srv/card.yaml"], "/srv/card.yaml", Path("/srv/card.yaml")),
    "reports": (["--reports", "/srv/site"], "/srv/site", Path("/srv/site")),
    "logs": (["--logs", "/srv/logs"], "/srv/logs", Path("/srv/logs")),
    "workers": (["-w", "3"], 3, 3),
    "min_duration": (["--min-duration", "5s"], "5s", 5.0),
    "executor": (["--executor", "ray"], "ray", "ray"),
    "ray_address": (["--ray-address", "auto"], "auto", "auto"),
    "period_from": (["--from", "2026-01-05"], "2026-01-05", date(2026, 1, 5)),
    "period_to": (["--to", "2026-02-01"], "2026-02-01", date(2026, 2, 1)),
    "default_days": (["--default-days", "14"], 14, 14),
    "alpha": (["--alpha", "0.01"], 0.01, 0.01),
    "min_calls": (["--min-calls", "12"], 12, 12),
    "cv_factor": (["--cv-factor", "2"], 2.0, 2.0),
    "common_call_rate": (["--common-call-rate", "0.5"], 0.5, 0.5),
    "common_agent_share": (["--common-agent-share", "0.5"], 0.5, 0.5),
    "agent_fail_rate": (["--agent-fail-rate", "0.5"], 0.5, 0.5),
    "examples": (["--examples", "5"], 5, 5),
    "min_trend_calls": (["--min-trend-calls", "12"], 12, 12),
    "min_trend_days": (["--min-trend-days", "9"], 9, 9),
    "min_limit_calls": (["--min-limit-calls", "30"], 30, 30),
    "min_compare_calls": (["--min-compare-calls", "7"], 7, 7),
    "min_problem_calls": (["--min-problem-calls", "10"], 10, 10),
    "min_common_calls": (["--min-common-calls", "40"], 40, 40),
    "min_common_fails": (["--min-common-fails", "6"], 6, 6),
    "min_list_calls": (["--min-list-calls", "7"], 7, 7),
}
REQUIRED_ARGS = {"run": [], "transcribe": ["call.wav", "--out", "out"], "score": ["call.json", "-s", "card.yaml"],
                 "report": [], "agent": ["A001"]}


@pytest.mark.parametrize("record, command", [(record, command) for record, commands in COMMANDS.items() for command in commands])
def test_every_option_reaches_its_record_from_a_flag_and_from_qa_toml(record: type, command: str, tmp_path: Path) -> None:
    import typer

    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    table = next(name for name in TABLES if record in option_records(name))
    for spec in user_specs(record):
        assert spec.key in SAMPLES, f"{record.__name__}.{spec.name}: add a sample to SAMPLES"
        args, written, expected = SAMPLES[spec.key]
        # The command line, parsed by the command itself (nothing runs).
        ctx = click_command.make_context(command, [*REQUIRED_ARGS[command], *args])
        flags = o.given(ctx, {s.key: (s.key, ctx.params[s.key]) for s in user_specs(record)})
        assert set(flags) == {spec.key}, spec.key
        from_flag = resolve(record, flags, {})
        config = parse_config({table: {spec.key: written}} if table else {spec.key: written}, tmp_path / "qa.toml")
        from_file = resolve(record, {}, config.section(table), source=str(config.source), section=table)
        assert getattr(from_flag, spec.name) == expected == getattr(from_file, spec.name), spec.key
        assert getattr(record(), spec.name) != expected, f"{spec.key}: the sample is the default"


def test_statistics_flags_keep_their_names_and_load_no_statistics() -> None:
    import subprocess
    import sys

    for name, flag in STATS_FLAGS.items():
        assert next(s for s in specs(StatsOptions) if s.name == name).flag == flag
    # The flags are declared from stats.options at start-up: that must not load pandas or scipy.
    code = ("import sys, qa_pipeline.cli.main, qa_pipeline.stats.options; "
            "print(sorted(m for m in ('pandas', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
    from qa_pipeline.stats import analyse

    assert callable(analyse)


def test_flag_over_qa_toml_over_command_default_over_field_default(tmp_path: Path) -> None:
    config = parse_config({"transcribe": {"beam_size": 3, "model": "base", "threads": 2, "max_duration": "90m",
                                          "cache_dir": "cache"}}, tmp_path / "qa.toml")
    audio, asr, cache = o.stage_options(o.Flags({"beam_size": 5, "language_check": o._choice(
        next(s for s in specs(TranscribeOptions) if s.key == "language_check"))("off")}), config)
    assert asr.beam_size == 5 and asr.language_check == "off"  # flags
    assert asr.model == "base" and asr.cpu_threads == 2 and audio.max_duration_seconds == 5400.0  # qa.toml
    assert cache.path == tmp_path / "cache"  # relative to qa.toml's folder
    assert asr.batch_size == 8 and audio.agent_channel == "auto"  # defaults
    _, bench, _ = o.stage_options(o.Flags(), parse_config({}, tmp_path / "qa.toml"), o.BENCH_FLAGS)
    assert bench.device == "cpu"  # qa bench's own default…
    _, bench, _ = o.stage_options(o.Flags(), parse_config({"transcribe": {"device": "cuda"}}, tmp_path / "qa.toml"), o.BENCH_FLAGS)
    assert bench.device == "cuda"  # …under qa.toml


def test_resolve_names_the_source_of_a_bad_value(tmp_path: Path) -> None:
    path = tmp_path / "qa.toml"
    with pytest.raises(ConfigError, match=r"qa\.toml: \[transcribe\] max_duration = 60 is not valid \(expected text\)"):
        resolve(AudioOptions, {}, {"max_duration": 60}, source=str(path), section="transcribe")
    with pytest.raises(ConfigError, match=r"qa\.toml: \[transcribe\] max_duration: bad duration .60."):
        resolve(AudioOptions, {}, {"max_duration": "60"}, source=str(path), section="transcribe")
    with pytest.raises(ConfigError, match=r"^--max-duration: bad duration"):
        resolve(AudioOptions, {"max_duration": "soon"}, {}, source=str(path))
    with pytest.raises(ConfigError, match=r"qa\.toml: \[transcribe\] beam_size = 0 is not valid \(expected at least 1\)"):
        resolve(TranscribeOptions, {}, {"beam_size": 0}, source=str(path), section="transcribe")
    with pytest.raises(ConfigError, match=r"qa\.toml: \[transcribe\] turn_gap: turn_gap_seconds must be positive"):
        resolve(TranscribeOptions, {}, {"turn_gap": "0s"}, source=str(path), section="transcribe")
    with pytest.raises(ConfigError, match=r"\[transcribe\] device = 'gpu' is not valid \(expected one of auto, cpu, cuda\)"):
        o.stage_options(o.Flags(), parse_config({"transcribe": {"device": "gpu"}}, path))
    with pytest.raises(ConfigError, match=r"\[stats\] alpha = 0.9 is not valid \(expected at most 0.5\)"):
        o.stats_options(o.Flags(), parse_config({"stats": {"alpha": 0.9}}, path))
    with pytest.raises(ConfigError, match=r"\[stats\] alpha = 'low' is not valid \(expected a number\)"):
        parse_config({"stats": {"alpha": "low"}}, path)
    assert o.stats_options(o.Flags({"alpha": 0.01}), parse_config({"stats": {"alpha": 0.9}}, path)).alpha == 0.01
    assert resolve(StatsOptions, {}, {"period_from": "2026-01-05"}).period_from.isoformat() == "2026-01-05"


def test_commands_derive_the_same_flags() -> None:
    import inspect
    import typing

    transcribe = inspect.signature(transcribe_cli.transcribe).parameters
    run = inspect.signature(run_cli.run).parameters
    for spec in (*user_specs(TranscribeOptions), *user_specs(AudioOptions), *user_specs(CacheOptions)):
        (kind, info), (kind_run, info_run) = (typing.get_args(p[spec.key].annotation) for p in (transcribe, run))
        assert kind == kind_run and info.param_decls == info_run.param_decls and info.help == info_run.help, spec.key
        assert transcribe[spec.key].default == run[spec.key].default, spec.key
    assert [k for k in inspect.signature(bench_cli.bench).parameters if k in section_keys(TranscribeOptions)] == [
        "model", "device", "compute_type", "batch_size"]
    assert inspect.signature(bench_cli.bench).parameters["device"].default.value == "cpu"
    assert "cache_dir" in inspect.signature(forget_cli.forget).parameters


def test_qa_transcribe_honours_the_transcribe_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """[transcribe] of qa.toml reaches qa transcribe's engine, under the flags."""
    from qa_pipeline import asr as asr_module
    from qa_pipeline.cli import transcribe as module

    seen: list[TranscribeOptions] = []

    def engine(options: TranscribeOptions) -> object:
        # Stop before any recognition: what matters is what the engine was asked for.
        seen.append(options)
        raise AudioError("no engine in this test")

    monkeypatch.setattr(asr_module, "create_engine", engine)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "call.wav").write_bytes(b"RIFF")
    (tmp_path / "qa.toml").write_text(
        '[transcribe]\nmodel = "base.en"\nbeam_size = 4\nvad = false\nthreads = 3\nlanguage_check = "off"\n'
        '[redaction]\nenabled = false\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["transcribe", "call.wav", "--out", "out", "--beam-size", "2"])
    assert result.exit_code == 1 and "Error: no engine in this test" in result.output
    [options] = seen
    assert options.model == "base.en" and options.vad is False and options.cpu_threads == 3  # from qa.toml
    assert options.language_check == "off"
    assert options.beam_size == 2  # the flag wins
    # --config names another file; its [transcribe] is read the same way.
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "qa.toml").write_text('[transcribe]\nmodel = "small.en"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["transcribe", "call.wav", "--out", "out", "--config", "site/qa.toml"])
    assert result.exit_code == 1 and seen[-1].model == "small.en" and seen[-1].beam_size == 1
    result = CliRunner().invoke(app, ["transcribe", "call.wav", "--out", "out", "--config", "nope.toml"])
    assert result.exit_code == 2 and "Error: nope.toml: no such configuration file" in result.output
    (tmp_path / "qa.toml").write_text('[transcribe]\nbeam_siz = 4\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["transcribe", "call.wav", "--out", "out"])
    assert result.exit_code == 2 and "unknown key(s) beam_siz in [transcribe] (beam_siz: did you mean beam_size?)" in result.output
    assert module.transcribe.__name__ == "transcribe"


def test_qa_report_reads_the_stats_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qa_pipeline.cli import report as report_cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / "qa.toml").write_text('[stats]\nalpha = 0.01\nmin_calls = 12\n', encoding="utf-8")

    import typer

    # The command line parsed by qa report itself (nothing runs).
    ctx = typer.main.get_command(app).commands["report"].make_context("report", ["--min-calls", "20", "--examples", "1"])  # type: ignore[attr-defined]
    flags = o.given(ctx, {s.key: (s.key, ctx.params[s.key]) for s in user_specs(StatsOptions)})
    options = o.stats_options(flags, load_config(tmp_path))
    assert options.alpha == 0.01 and options.min_calls == 20 and options.examples == 1
    assert report_cli.report.__name__ == "report"
    assert load_config(tmp_path).section("stats") == {"alpha": 0.01, "min_calls": 12}


@pytest.mark.parametrize("command", ["run", "transcribe", "bench", "report", "agent", "status", "export", "forget", "calibrate", "score"])
def test_every_command_that_reads_qa_toml_takes_config(command: str) -> None:
    assert " --config " in _help(command)


def test_qa_score_honours_the_scoring_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from transcript_factory import make_transcript

    card = str(Path(__file__).resolve().parent.parent / "scorecards" / "default.en.yaml")
    monkeypatch.chdir(tmp_path)
    make_transcript([("agent", 0.0, "Thank you for calling, my name is Sarah."), ("customer", 3.0, "Hi.")]).save(tmp_path / "call.json")
    (tmp_path / "qa.toml").write_text("[scoring]\nmax_evidence = 0\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["score", "call.json", "-s", card, "--json"])
    assert result.exit_code == 2 and "qa.toml: [scoring] max_evidence = 0 is not valid (expected at least 1)" in result.output
    # The flag wins over qa.toml.
    result = CliRunner().invoke(app, ["score", "call.json", "-s", card, "--json", "--max-evidence", "2"])
    assert result.exit_code == 0, result.output
    (tmp_path / "qa.toml").write_text("[scoring]\nmax_evidnce = 2\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["score", "call.json", "-s", card])
    assert result.exit_code == 2 and "(max_evidnce: did you mean max_evidence?)" in result.output
