"""Call metadata from manifests, sidecars and file names; qa.toml."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from qa_pipeline.config import load_config
from qa_pipeline.errors import ConfigError
from qa_pipeline.ingest import discover_calls
from qa_pipeline.metadata import FilenamePattern, MetadataOptions, parse_started_at, resolve_metadata

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "recordings"


def _touch(folder: Path, *names: str) -> list[Path]:
    paths = []
    for name in names:
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"RIFF")
        paths.append(p)
    return paths


def test_sample_manifest() -> None:
    calls = {c.call_id: c for c in discover_calls(SAMPLES)}
    assert len(calls) == 8 and all(c.problem is None for c in calls.values())
    c4 = calls["call-004"]
    assert (c4.agent_id, c4.agent_name, c4.team) == ("A04", "Michael", "Payments")
    assert c4.started_at == datetime(2024, 3, 5, 14, 27) and c4.path.suffix == ".mp3"
    assert c4.sources["agent_id"].startswith("manifest ") and c4.sources["agent_id"].endswith("calls.csv:5")


def test_configurable_manifest_columns_and_time_zone(tmp_path: Path) -> None:
    _touch(tmp_path, "a.wav", "sub/b.wav")
    (tmp_path / "export.csv").write_text(
        "Recording,Agent,Start\na.wav,7,2024-06-01 10:00:00\nsub/b.wav,8,2024-06-01T10:00:00+02:00\n", encoding="utf-8"
    )
    opts = MetadataOptions.from_dict(
        {"manifest": "export.csv", "columns": {"file": "Recording", "agent_id": "Agent", "started_at": "Start"}, "timezone": "Europe/London"}
    )
    a, b = discover_calls(tmp_path, opts)
    assert a.agent_id == "7" and a.call_id == "a" and a.team is None
    assert a.started_at == datetime(2024, 6, 1, 9, 0)  # 10:00 BST is 09:00 UTC
    assert b.started_at == datetime(2024, 6, 1, 8, 0) and b.call_id == "b"


def test_manifest_without_its_file_column_is_a_config_error(tmp_path: Path) -> None:
    _touch(tmp_path, "a.wav")
    (tmp_path / "calls.csv").write_text("name,agent\na.wav,1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"calls.csv: manifest has no 'file' column \(columns: name, agent\)"):
        discover_calls(tmp_path)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        # An unclosed quote would swallow every later row: those calls would fail as "not in
        # calls.csv" with no word of the cause.
        ('file,agent_id\na.wav,"1\nb.wav,2\nc.wav,3\n', 2, "a quoted field opened on line 2 is never closed"),
        ('file,agent_id\na.wav,"1\nb.wav,2"\nc.wav,3\n', 2, "a quoted field opened on line 2 runs on to line 3"),
        ("file,agent_id,agent_id\na.wav,1,2\n", 1, "column 'agent_id' appears twice in the header"),
        ("file,agent_id\na.wav,1\nb.wav,2,Smith\n", 3, "3 fields in a row, but the header names 2 column(s)"),
    ],
)
def test_manifest_syntax_errors_name_the_file_and_line(tmp_path: Path, text: str, where: int, message: str) -> None:
    _touch(tmp_path, "a.wav", "b.wav", "c.wav")
    (tmp_path / "calls.csv").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        discover_calls(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'calls.csv'}:{where}: {message}")


def test_short_rows_and_blank_lines_are_still_read(tmp_path: Path) -> None:
    _touch(tmp_path, "a.wav", "b.wav")
    (tmp_path / "calls.csv").write_text("file,agent_id,team\na.wav,1\n\nb.wav,2,Cards\n", encoding="utf-8")
    a, b = discover_calls(tmp_path)
    assert (a.agent_id, a.team, b.agent_id, b.team) == ("1", None, "2", "Cards")
    assert b.sources["agent_id"].endswith("calls.csv:4")


def test_sidecar_wins_over_manifest_and_pattern(tmp_path: Path) -> None:
    [p] = _touch(tmp_path, "A5_20240301-081500_x1.wav")
    (tmp_path / "calls.csv").write_text("file,agent_id,team\nA5_20240301-081500_x1.wav,MANIFEST,Sales\n", encoding="utf-8")
    (tmp_path / "A5_20240301-081500_x1.wav.json").write_text(json.dumps({"agent_id": "SIDECAR", "extra": 1}), encoding="utf-8")
    opts = MetadataOptions(pattern="{agent_id}_{started_at:%Y%m%d-%H%M%S}_{call_id}.wav")
    [meta] = discover_calls(tmp_path, opts)
    assert meta.agent_id == "SIDECAR" and meta.team == "Sales" and meta.call_id == "x1"
    assert meta.started_at == datetime(2024, 3, 1, 8, 15)
    assert meta.sources["team"].startswith("manifest") and meta.sources["call_id"] == "pattern"


def test_filename_pattern() -> None:
    pat = FilenamePattern("{agent_id}_{started_at:%Y%m%d-%H%M%S}_{call_id}.wav")
    assert pat.match(Path("/x/ag-7_20240102-030405_c9.wav")) == {"agent_id": "ag-7", "started_at": "20240102-030405", "call_id": "c9"}
    assert pat.match(Path("ag7_2024-01-02_c9.wav")) is None
    no_ext = FilenamePattern("{team}-{_}-{agent_id}")
    assert no_ext.match(Path("north-ignored-a1.mp3")) == {"team": "north", "agent_id": "a1"}
    for bad, message in (("{agent}", "unknown field {agent}"), ("{call_id}{call_id}", "appears twice"),
                         ("{started_at:%Q}", "unsupported date directive"), ("{agent_id:%Y}", "only started_at takes a format")):
        with pytest.raises(ConfigError, match=message):
            FilenamePattern(bad)


def test_no_agent_is_a_problem_that_names_every_source_tried(tmp_path: Path) -> None:
    _touch(tmp_path, "lost.wav")
    (tmp_path / "calls.csv").write_text("file,agent_id\nother.wav,1\n", encoding="utf-8")
    [meta] = discover_calls(tmp_path, MetadataOptions(pattern="{agent_id}__{call_id}"))
    assert meta.agent_id is None
    assert meta.problem.startswith("no agent for this call: no sidecar lost.wav.json or lost.json; not in ")
    assert "file name does not match the pattern '{agent_id}__{call_id}'" in meta.problem
    assert meta.sources["started_at"] == "mtime"
    mtime = datetime.fromtimestamp(os.stat(tmp_path / "lost.wav").st_mtime, timezone.utc).replace(tzinfo=None)
    assert meta.started_at == mtime


def test_row_problems_fail_their_call_only(tmp_path: Path) -> None:
    _touch(tmp_path, "a.wav", "b.wav", "c.wav", "d.wav")
    (tmp_path / "calls.csv").write_text(
        "file,call_id,agent_id,started_at\na.wav,x,1,2024-01-01\na.wav,y,1,2024-01-01\nb.wav,b,1,yesterday\n"
        "c.wav,same,1,2024-01-01\nd.wav,same,2,2024-01-01\n",
        encoding="utf-8",
    )
    (tmp_path / "c.json").write_text("{not json", encoding="utf-8")
    a, b, c, d = discover_calls(tmp_path)
    assert a.problem == f"listed twice in {tmp_path / 'calls.csv'} (lines 2 and 3)"
    assert b.problem == f"started_at 'yesterday' from manifest {tmp_path / 'calls.csv'}:4 is not a date (ISO 8601 expected)"
    assert c.problem.startswith(f"sidecar {tmp_path / 'c.json'} is not readable JSON metadata")
    assert d.problem == f"call_id 'same' is already used by {tmp_path / 'c.wav'}"


def test_deeper_manifest_wins(tmp_path: Path) -> None:
    _touch(tmp_path, "day1/a.wav")
    (tmp_path / "calls.csv").write_text("file,agent_id\nday1/a.wav,TOP\n", encoding="utf-8")
    (tmp_path / "day1" / "calls.csv").write_text("file,agent_id\na.wav,DAY\n", encoding="utf-8")
    [meta] = discover_calls(tmp_path)
    assert meta.agent_id == "DAY"


def test_default_call_ids_stay_unique(tmp_path: Path) -> None:
    paths = _touch(tmp_path, "x/call.wav", "y/call.wav")
    ids = [m.call_id for m in resolve_metadata(paths, tmp_path, MetadataOptions(manifest=""), {paths[0]: "call", paths[1]: "call-2"})]
    assert ids == ["call", "call-2"]
    assert [m.call_id for m in discover_calls(tmp_path, MetadataOptions(manifest=""))] == ["call", "call-2"]


def test_parse_started_at() -> None:
    assert parse_started_at("2024-03-04T09:12:00Z", timezone.utc) == datetime(2024, 3, 4, 9, 12)
    with pytest.raises(ValueError):
        parse_started_at("", timezone.utc)
    with pytest.raises(ConfigError, match="not a known time zone"):
        MetadataOptions(timezone="Mars/Olympus")


# --------------------------------------------------------------------------- qa.toml
def test_config_defaults_are_relative_to_the_folder(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.db == str(tmp_path / "qa.db") and config.reports == tmp_path / "reports" and config.source is None


def test_config_file(tmp_path: Path) -> None:
    (tmp_path / "qa.toml").write_text(
        'db = "data/results.db"\nreports = "/srv/site"\nscorecard = "cards/en.yaml"\nworkers = 3\n'
        '[metadata]\nmanifest = "index.csv"\npattern = "{agent_id}-{call_id}"\n[metadata.columns]\nagent_id = "Agent"\n'
        '[transcribe]\nlanguage = "en"\ncache_dir = "cache"\n[report]\npdf = true\n',
        encoding="utf-8",
    )
    c = load_config(tmp_path)
    assert c.db == str(tmp_path / "data" / "results.db") and c.reports == Path("/srv/site")
    assert c.scorecard == tmp_path / "cards" / "en.yaml" and c.workers == 3 and c.report_pdf
    assert c.metadata.manifest == "index.csv" and c.metadata.columns.agent_id == "Agent" and c.metadata.pattern == "{agent_id}-{call_id}"
    assert c.transcribe == {"language": "en", "cache_dir": str(tmp_path / "cache")}


@pytest.mark.parametrize(
    "text, message",
    [
        ("db = \n", "not valid TOML"),
        ("dbs = 'x'\n", r"unknown key\(s\) dbs \(dbs: did you mean db\?\); known: db"),
        ("workers = 0\n", r"workers = 0 is not valid \(expected at least 1\)"),
        ("[transcribe]\nmodle = 'x'\n", r"unknown key\(s\) modle in \[transcribe\] \(modle: did you mean model\?\)"),
        ("[transcribe]\nbeam_size = 'two'\n", r"\[transcribe\] beam_size = 'two' is not valid \(expected a whole number\)"),
        ("[stats]\nalfa = 0.1\n", r"unknown key\(s\) alfa in \[stats\] \(alfa: did you mean alpha\?\)"),
        ("[metadata]\npattern = '{who}'\n", "unknown field {who}"),
        ("db = 'postgres://h/x'\n[report]\npdf = 'yes'\n", "report.pdf must be true or false"),
    ],
)
def test_config_errors_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "qa.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        load_config(tmp_path)
    assert str(tmp_path / "qa.toml") in str(info.value)
