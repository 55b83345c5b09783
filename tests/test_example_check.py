"""``qa scorecard examples``: each example list judged line by line with the rest of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa_pipeline import semantic
from qa_pipeline.cli.main import app
from qa_pipeline.example_check import ExampleCheck, check_examples
from qa_pipeline.scorecard import parse_scorecard
from qa_pipeline.semantic import Utterance
from qa_pipeline.transcript import Speaker

pytestmark = pytest.mark.skipif(not semantic.available(), reason="needs the sentence-embedding package")

ISOLATED = "the parcel is a blue box with a red ribbon"
NEAR_MISS = "can I help you with your account number please"
EXAMPLES = [
    "is there anything else I can help you with today",
    "can I help you with anything else",
    "is there something else I can do for you",
    "anything more I can help with while you're on the line",
    ISOLATED,
]
COUNTERS = ["what else did the engineer say", NEAR_MISS, "my colleague will ring you back"]


def _card(examples: list[str], counters: list[str]) -> str:
    def block(lines: list[str]) -> str:
        return "".join(f"        - {line}\n" for line in lines)

    return (
        "schema_version: 1\nname: examples check\nlanguages: [en]\ncriteria:\n"
        "  - id: closing\n    title: Offers further help\n    type: phrase\n    weight: 1\n"
        "    speaker: agent\n    phrases: [anything else]\n"
        f"    examples:\n      en:\n{block(examples)}"
        f"    counter_examples:\n      en:\n{block(counters)}"
        "    min_example_similarity: 0.42\n    example_neighbours: 2\n"
    )


def _counts_with(card_text: str, line: str, criterion: str = "closing") -> bool:
    """Whether the scorer, loading this card, credits an utterance worded as the line."""
    card = parse_scorecard(card_text)
    spec = next(c for c in card.criteria if c.id == criterion).rule.meaning
    vector = semantic.embed([line])
    return semantic.judge([Utterance(Speaker.AGENT, 0.0, 1.0, line, 0)], vector, spec, "en")[0] is not None


def test_a_line_no_other_example_covers_is_missed_and_a_near_miss_counts() -> None:
    (result,) = check_examples(parse_scorecard(_card(EXAMPLES, COUNTERS)))
    assert (result.criterion_id, result.field, result.language) == ("closing", "examples", "en")
    assert (result.examples, result.recognised, result.missed) == (5, 4, (ISOLATED,))
    assert (result.counters, result.passing_counters) == (3, (NEAR_MISS,))
    assert ExampleCheck.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_each_verdict_is_the_scorers_with_the_line_taken_out_of_the_file() -> None:
    # The check must say what the scorer would do with a scorecard written without the line.
    for line in EXAMPLES:
        without = _card([e for e in EXAMPLES if e != line], COUNTERS)
        assert _counts_with(without, line) is (line != ISOLATED), line
    for line in COUNTERS:
        without = _card(EXAMPLES, [c for c in COUNTERS if c != line])
        assert _counts_with(without, line) is (line == NEAR_MISS), line


def _probe_card(examples: list[str], counters: list[str]) -> str:
    """The card with closing judged by a probe (contrasted with a greeting's examples) and a
    floor low enough that the probe decides."""
    return _card(examples, counters).replace(
        "    min_example_similarity: 0.42\n",
        "    min_example_similarity: 0.1\n    example_method: probe\n    min_probe_probability: 0.6\n"
        "    probe_contrast: [greeting]\n",
    ) + (
        "  - id: greeting\n    title: Greets\n    type: phrase\n    weight: 1\n    speaker: agent\n"
        "    phrases: [hello]\n    examples:\n      en:\n        - hello, thanks for calling\n"
        "        - good morning, you're through to support\n        - hi there, how can I help\n"
        "        - welcome to the helpdesk\n"
    )


def test_the_probe_is_refitted_without_the_line() -> None:
    (result,) = check_examples(parse_scorecard(_probe_card(EXAMPLES, COUNTERS)), criteria=["closing"])
    full = _probe_card(EXAMPLES, COUNTERS)
    # A probe fitted on a line credits it; the check must judge as a scorecard without it would.
    assert all(_counts_with(full, line, "closing") for line in EXAMPLES)
    for line in EXAMPLES:
        without = _probe_card([e for e in EXAMPLES if e != line], COUNTERS)
        assert (line not in result.missed) is _counts_with(without, line, "closing"), line
    assert ISOLATED in result.missed
    for line in COUNTERS:
        without = _probe_card(EXAMPLES, [c for c in COUNTERS if c != line])
        assert (line in result.passing_counters) is _counts_with(without, line, "closing"), line


@pytest.fixture
def card_file(tmp_path: Path) -> Path:
    path = tmp_path / "card.yaml"
    path.write_text(_card(EXAMPLES, COUNTERS), encoding="utf-8")
    return path


def test_cli_prints_a_row_per_list_and_the_lines_on_request(card_file: Path) -> None:
    result = CliRunner().invoke(app, ["scorecard", "examples", str(card_file), "--lines"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith("closing"))
    assert row.split()[:3] == ["closing", "examples", "en"]
    assert "4 of 5" in row and "1 of 3" in row
    assert f"    missed: {ISOLATED}" in result.stdout
    assert f"    counts: {NEAR_MISS}" in result.stdout
    as_json = CliRunner().invoke(app, ["scorecard", "examples", str(card_file), "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)[0]["missed"] == [ISOLATED]


def test_cli_row_of_a_list_without_counter_examples(tmp_path: Path) -> None:
    path = tmp_path / "card.yaml"
    text = _card(EXAMPLES, COUNTERS)
    path.write_text(text[: text.index("    counter_examples:")] + text[text.index("    min_example_similarity"):], encoding="utf-8")
    result = CliRunner().invoke(app, ["scorecard", "examples", str(path)])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith("closing"))
    assert "4 of 5" in row and row.endswith("(none written)")


@pytest.mark.parametrize(
    "option, message",
    [
        (["--language", "fr"], "no language fr in this scorecard (it has en)"),
        (["--criterion", "closnig"], "unknown criterion 'closnig'; did you mean 'closing'?"),
    ],
)
def test_cli_names_what_the_scorecard_lacks(card_file: Path, option: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["scorecard", "examples", str(card_file), *option])
    assert result.exit_code == 2  # a usage error, as for every configuration error
    assert f"Error: {card_file}: {message}" in result.stderr


def test_cli_names_a_criterion_not_judged_by_examples() -> None:
    default = Path(__file__).resolve().parents[1] / "scorecards" / "default.en.yaml"
    result = CliRunner().invoke(app, ["scorecard", "examples", str(default), "--criterion", "interruptions"])
    assert result.exit_code == 2
    assert f"Error: {default}: criterion 'interruptions' judges nothing by examples (checked: frustration," in (
        result.stderr
    )


def test_cli_on_a_scorecard_without_examples(tmp_path: Path) -> None:
    path = tmp_path / "card.yaml"
    path.write_text(
        "schema_version: 1\nname: t\nlanguages: [en]\ncriteria:\n  - id: greeting\n    title: Greeting\n"
        "    type: phrase\n    weight: 1\n    speaker: agent\n    phrases: [hello]\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["scorecard", "examples", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{path}: no criterion judges by examples"
