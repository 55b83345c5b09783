"""Redaction settings from the command line and qa.toml, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa_pipeline.batch import BatchOptions, WorkerConfig
from qa_pipeline.cli.main import app
from qa_pipeline.cli.options import Flags, redaction_options
from qa_pipeline.config import load_config, parse_config
from qa_pipeline.errors import ConfigError
from qa_pipeline.pii import RedactionOptions

SCORECARD = Path(__file__).resolve().parent.parent / "scorecards" / "default.en.yaml"


def _redaction(flags: dict, table: dict | None = None) -> RedactionOptions:
    config = parse_config({"redaction": table} if table is not None else {}, Path("/srv/qa/qa.toml"))
    return redaction_options(Flags(flags), config)


def test_flags_over_the_defaults_and_the_config():
    assert _redaction({}) == RedactionOptions()
    assert _redaction({"enabled": False}).enabled is False
    chosen = _redaction({"entities": "card, email", "audio_dir": Path("out")})
    assert chosen.entities == ("card", "email") and chosen.redact_audio and chosen.audio_dir == "out"
    base = {"entities": ["phone"], "default_region": "GB"}
    assert _redaction({}, base) == RedactionOptions(entities=("phone",), default_region="GB")
    assert _redaction({"enabled": True, "entities": "all"}, base).entities == RedactionOptions().entities
    assert _redaction({"entities": "all"}, base).default_region == "GB"  # the file's other keys stay


def test_flag_errors():
    with pytest.raises(ConfigError, match="--redact-entities: .*unknown passport"):
        _redaction({"entities": "card,passport"})
    with pytest.raises(ConfigError, match="--redact-audio needs redaction on"):
        _redaction({"enabled": False, "audio_dir": Path("out")})
    with pytest.raises(ConfigError, match="--redact-audio needs redaction on"):
        _redaction({"audio_dir": Path("out")}, {"enabled": False})


def test_qa_toml_redaction_table(tmp_path):
    path = tmp_path / "qa.toml"
    config = parse_config({"redaction": {"entities": ["card", "cvv"], "audio_dir": "redacted", "default_region": "gb"}}, path)
    assert config.redaction.entities == ("card", "cvv")
    assert config.redaction.redact_audio and config.redaction.audio_dir == str(tmp_path / "redacted")
    assert config.redaction.default_region == "GB"
    assert parse_config({}, path).redaction == RedactionOptions()
    assert parse_config({"redaction": {"enabled": False}}, path).redaction.enabled is False
    with pytest.raises(ConfigError, match=r"qa\.toml: unknown key\(s\) entity in \[redaction\] \(entity: did you mean entities\?\)"):
        parse_config({"redaction": {"entity": ["card"]}}, path)
    with pytest.raises(ConfigError, match=r"qa\.toml: \[redaction\] must be a table"):
        parse_config({"redaction": "card"}, path)
    with pytest.raises(ConfigError, match=r"qa\.toml: \[redaction\] entities: .*unknown bogus"):
        parse_config({"redaction": {"entities": "bogus"}}, path)
    (tmp_path / "qa.toml").write_text('[redaction]\nentities = ["email"]\n', encoding="utf-8")
    assert load_config(tmp_path).redaction.entities == ("email",)


def test_batch_options_carry_redaction_to_the_workers():
    options = BatchOptions(recordings=Path("r"), scorecard=SCORECARD, redaction=RedactionOptions(entities=("card",)))
    assert options.to_dict()["redaction"]["entities"] == ["card"]
    assert BatchOptions(recordings=Path("r"), scorecard=SCORECARD).redaction.enabled
    assert "redaction" in {f for f in WorkerConfig.__dataclass_fields__}


def test_commands_refuse_bad_redaction_flags(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no qa.toml
    runner = CliRunner()
    (tmp_path / "rec").mkdir()
    result = runner.invoke(app, ["transcribe", str(tmp_path / "rec"), "--out", str(tmp_path / "out"), "--redact-entities", "card,bogus"])
    assert result.exit_code == 2 and "Error: --redact-entities: redaction entities: unknown bogus" in result.output
    result = runner.invoke(
        app,
        ["run", str(tmp_path / "rec"), "--db", str(tmp_path / "qa.db"), "--scorecard", str(SCORECARD),
         "--no-redact", "--redact-audio", str(tmp_path / "red")],
    )
    assert result.exit_code == 2 and "Error: --redact-audio needs redaction on" in result.output
    assert not (tmp_path / "qa.db").exists()


def test_flags_are_documented_in_help():
    runner = CliRunner()
    for command in ("run", "transcribe"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        for flag in ("--redact / --no-redact", "--redact-entities", "--redact-audio"):
            assert flag in result.output, (command, flag)


def test_rescoring_redacts_a_transcript_stored_before_redaction():
    from test_pii_detect import call

    from qa_pipeline.batch import redact_stored
    from qa_pipeline.pii import redaction_record

    raw = call("agent: Can I have your phone number please?", "customer: Sure, it's 415 555 0132.")
    once = redact_stored(raw, RedactionOptions(entities="card"))
    assert once is not raw and "0132" in once.text  # only cards asked for: the phone stays
    assert redaction_record(once)["entities"] == ["card"]

    twice = redact_stored(once, RedactionOptions())
    assert "0132" not in twice.text and "[PHONE]" in twice.text
    record = redaction_record(twice)
    assert record["counts"] == {"phone": 1} and "card" in record["entities"] and "phone" in record["entities"]
    # Nothing left to do: the stored transcript is kept as it is (not rewritten).
    assert redact_stored(twice, RedactionOptions()) is twice
    assert redact_stored(raw, RedactionOptions(enabled=False)) is raw
