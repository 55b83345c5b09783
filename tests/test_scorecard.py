"""Scorecard loading, validation messages, content hash and the ``qa scorecard validate`` command."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa_pipeline.cli.scorecard import app as scorecard_app
from qa_pipeline.criteria import known_types
from qa_pipeline.errors import ScorecardError
from qa_pipeline.scorecard import load_scorecard, parse_scorecard

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_IDS = [
    "greeting",
    "self_identification",
    "active_listening",
    "empathy",
    "interruptions",
    "hold_etiquette",
    "positive_language",
    "closing",
    "dead_air",
]

HEADER = """\
schema_version: 1
name: Test card
languages: [en]
criteria:
"""

GREETING = """\
  - id: greeting
    title: Greets
    type: phrase
    weight: 10
    speaker: agent
    within_first: 15s
    phrases:
      en: [hello, thank you for calling]
"""


def write(tmp_path: Path, body: str, name: str = "card.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def error_of(tmp_path: Path, body: str) -> str:
    path = write(tmp_path, body)
    with pytest.raises(ScorecardError) as info:
        load_scorecard(path)
    return str(info.value)


@pytest.mark.parametrize("name", ["default.en.yaml", "default.zh.yaml"])
def test_default_scorecards_load(name: str) -> None:
    card = load_scorecard(ROOT / "scorecards" / name)
    assert [c.id for c in card.criteria] == DEFAULT_IDS
    assert len(card.content_hash) == 64
    assert card.criterion("positive_language").critical
    assert card.languages == (name.split(".")[1],)


def test_minimal_scorecard(tmp_path: Path) -> None:
    card = load_scorecard(write(tmp_path, HEADER + GREETING))
    (spec,) = card.criteria
    assert spec.id == "greeting" and spec.weight == 10.0 and not spec.critical
    assert spec.rule.to_dict()["within_first_seconds"] == 15.0
    assert spec.line == 5


def test_unknown_type_lists_known_types(tmp_path: Path) -> None:
    msg = error_of(tmp_path, HEADER + GREETING.replace("type: phrase", "type: sentiment"))
    assert msg.startswith(
        f"{tmp_path / 'card.yaml'}:7: criterion 'greeting': field 'type': unknown type 'sentiment'"
    )
    for known in known_types():
        assert known in msg


def test_missing_field(tmp_path: Path) -> None:
    msg = error_of(tmp_path, HEADER + GREETING.replace("    speaker: agent\n", ""))
    assert ":5: criterion 'greeting': missing required field 'speaker'" in msg


def test_unknown_field_suggests_the_right_name(tmp_path: Path) -> None:
    msg = error_of(tmp_path, HEADER + GREETING.replace("within_first", "whitin_first"))
    assert (
        ":10: criterion 'greeting': field 'whitin_first': unknown field; did you mean 'within_first'?" in msg
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("15", "duration 15 has no unit: write e.g. 15s or 15ms"),
        ("15 sec", "bad duration '15 sec'"),
        ("fifteen seconds", "bad duration"),
        ("'-5s'", "bad duration"),
    ],
)
def test_bad_units(tmp_path: Path, value: str, expected: str) -> None:
    msg = error_of(tmp_path, HEADER + GREETING.replace("within_first: 15s", f"within_first: {value}"))
    assert ":10: criterion 'greeting': field 'within_first': " in msg
    assert expected in msg


def test_units_accepted() -> None:
    for value, seconds in (("500ms", 0.5), ("2m", 120.0), ("1h", 3600.0), ("1m30s", 90.0), ("1.5s", 1.5)):
        card = parse_scorecard(HEADER + GREETING.replace("15s", value))
        assert card.criteria[0].rule.to_dict()["within_first_seconds"] == seconds


def test_duplicate_id(tmp_path: Path) -> None:
    msg = error_of(tmp_path, HEADER + GREETING + GREETING)
    assert ":13: criterion 'greeting': field 'id': duplicate id (first used on line 5)" in msg


@pytest.mark.parametrize("weight", ["0", "-3", "ten"])
def test_bad_weight(tmp_path: Path, weight: str) -> None:
    msg = error_of(tmp_path, HEADER + GREETING.replace("weight: 10", f"weight: {weight}"))
    assert ":8: criterion 'greeting': field 'weight': " in msg


def test_empty_phrase_list(tmp_path: Path) -> None:
    msg = error_of(tmp_path, HEADER + GREETING.replace("en: [hello, thank you for calling]", "en: []"))
    assert ":12: criterion 'greeting': field 'phrases.en': the phrase list is empty" in msg


def test_phrase_listed_twice(tmp_path: Path) -> None:
    msg = error_of(tmp_path, HEADER + GREETING.replace("[hello, thank you for calling]", "[hello, hello]"))
    assert ":12: criterion 'greeting': field 'phrases.en': phrase 'hello' is listed twice" in msg


def test_phrase_without_words(tmp_path: Path) -> None:
    msg = error_of(tmp_path, HEADER + GREETING.replace("[hello, thank you for calling]", "[hello, '...']"))
    assert "field 'phrases': phrase '...' has no words" in msg


def test_bad_speaker(tmp_path: Path) -> None:
    msg = error_of(tmp_path, HEADER + GREETING.replace("speaker: agent", "speaker: supervisor"))
    assert ":9: criterion 'greeting': field 'speaker': expected one of agent, customer, any" in msg


def test_missing_language_in_phrases(tmp_path: Path) -> None:
    body = (HEADER + GREETING).replace("languages: [en]", "languages: [en, zh]")
    msg = error_of(tmp_path, body)
    assert "field 'phrases': no phrases for language(s) zh" in msg


def test_language_not_in_scorecard(tmp_path: Path) -> None:
    body = HEADER + GREETING.replace(
        "      en: [hello, thank you for calling]", "      en: [hello]\n      fr: [bonjour]"
    )
    assert "language 'fr' is not one of the scorecard's languages (en)" in error_of(tmp_path, body)


def test_two_windows_refused(tmp_path: Path) -> None:
    body = HEADER + GREETING.replace("within_first: 15s", "within_first: 15s\n    within_last: 30s")
    assert "give only one of within_first, within_last, between" in error_of(tmp_path, body)


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    body = HEADER + GREETING.replace("weight: 10", "weight: 10\n    weight: 20")
    # Found while reading the YAML, before criteria are known: file, line and key are named.
    assert "card.yaml:9: field 'weight': duplicate key (first given on line 8)" in error_of(tmp_path, body)


def test_every_bad_criterion_is_reported(tmp_path: Path) -> None:
    second = GREETING.replace("id: greeting", "id: closing").replace("weight: 10", "weight: 0")
    body = HEADER + GREETING.replace("type: phrase", "type: nope") + second
    lines = error_of(tmp_path, body).splitlines()
    assert len(lines) == 2
    assert "criterion 'greeting'" in lines[0] and "criterion 'closing'" in lines[1]


def test_criterion_without_id_is_named_by_position(tmp_path: Path) -> None:
    msg = error_of(tmp_path, HEADER + GREETING.replace("  - id: greeting\n    title", "  - title"))
    assert "criterion '#1': missing required field 'id'" in msg


def test_header_errors(tmp_path: Path) -> None:
    assert "unsupported schema_version 2" in error_of(
        tmp_path, HEADER.replace("schema_version: 1", "schema_version: 2") + GREETING
    )
    assert "field 'criteria': expected a non-empty list" in error_of(tmp_path, HEADER + "  []\n")
    assert "'english' is not a language code" in error_of(
        tmp_path, HEADER.replace("[en]", "[english]") + GREETING
    )
    assert "not valid YAML" in error_of(tmp_path, HEADER + "  - id: [unclosed\n")
    assert "must be a YAML mapping" in error_of(tmp_path, "- just a list\n")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScorecardError, match="no such scorecard file"):
        load_scorecard(tmp_path / "nope.yaml")


def test_type_specific_errors(tmp_path: Path) -> None:
    hold = HEADER + (
        "  - {id: hold, title: Hold, type: hold_etiquette, weight: 5, announce_phrases: [please hold],\n"
        "     thank_phrases: [thanks for holding], credit: {announcement: 50%, thanks: 30%}}\n"
    )
    assert "field 'credit': announcement, duration and thanks must add up to 100%" in error_of(tmp_path, hold)
    empathy = HEADER + "  - {id: e, title: E, type: empathy_response, weight: 1, response_phrases: [sorry]}\n"
    assert "missing required field 'trigger_phrases'" in error_of(tmp_path, empathy)
    share = HEADER + "  - {id: s, title: S, type: talk_share, weight: 1, min: 40}\n"
    assert "field 'min': percentage 40 has no % sign" in error_of(tmp_path, share)
    applies = HEADER + GREETING + "    applies_when: {hold_ocurred: true}\n"
    assert "field 'applies_when.hold_ocurred': unknown field; did you mean 'hold_occurred'?" in error_of(
        tmp_path, applies
    )
    frustrated = HEADER + GREETING + "    applies_when: {customer_frustrated: true}\n"
    assert "needs the scorecard's frustration_phrases" in error_of(tmp_path, frustrated)


def test_hash_ignores_comments_whitespace_order_and_unit_spelling() -> None:
    base = parse_scorecard(HEADER + GREETING).content_hash
    noisy = (HEADER + GREETING).replace("weight: 10", "weight: 10   # ten points\n\n")
    reordered = HEADER + GREETING.replace("    weight: 10\n", "").replace(
        "    speaker: agent\n", "    speaker: agent\n    weight: 10\n"
    )
    respelled = HEADER + GREETING.replace("15s", "15000ms")
    assert parse_scorecard(noisy).content_hash == base
    assert parse_scorecard(reordered).content_hash == base
    assert parse_scorecard(respelled).content_hash == base


def test_hash_changes_with_content() -> None:
    base = parse_scorecard(HEADER + GREETING).content_hash
    assert parse_scorecard(HEADER + GREETING.replace("15s", "20s")).content_hash != base
    assert parse_scorecard(HEADER + GREETING.replace("hello,", "hi,")).content_hash != base
    assert parse_scorecard(HEADER + GREETING.replace("Greets", "Says hello")).content_hash != base


def test_cli_validate_ok() -> None:
    result = CliRunner().invoke(
        scorecard_app,
        [
            "validate",
            str(ROOT / "scorecards" / "default.en.yaml"),
            str(ROOT / "scorecards" / "default.zh.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("OK ") == 2
    assert "9 criteria" in result.output


def test_cli_validate_reports_every_bad_file(tmp_path: Path) -> None:
    bad1 = write(tmp_path, HEADER + GREETING.replace("15s", "15"), "bad1.yaml")
    bad2 = write(tmp_path, HEADER + GREETING.replace("type: phrase", "type: nope"), "bad2.yaml")
    good = ROOT / "scorecards" / "default.en.yaml"
    result = CliRunner().invoke(scorecard_app, ["validate", str(bad1), str(good), str(bad2)])
    assert result.exit_code == 1
    assert f"OK {good}" in result.stdout
    assert (
        f"Error: {bad1}:10: criterion 'greeting': field 'within_first': duration 15 has no unit"
        in result.stderr
    )
    assert f"{bad2}:7: criterion 'greeting': field 'type': unknown type 'nope'" in result.stderr
