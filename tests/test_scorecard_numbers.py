"""Every numeric scorecard field takes finite numbers only (YAML's .inf and .nan are floats)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_pipeline.errors import ScorecardError
from qa_pipeline.scorecard import load_scorecard

CARD = """\
schema_version: 1
name: Test card
languages: [en]
matching:
  token_similarity: {similarity}
criteria:
  - id: greeting
    title: Greets
    type: phrase
    weight: {weight}
    speaker: agent
    within_first: {within}
    phrases:
      en: [hello, thank you for calling]
  - id: interruptions
    title: Lets the customer finish
    type: interruptions
    weight: 5
    max_count: {count}
"""
GOOD = {"similarity": "0.8", "weight": "10", "within": "15s", "count": "1"}


def _error(tmp_path: Path, **values: str) -> str:
    path = tmp_path / "card.yaml"
    path.write_text(CARD.format(**{**GOOD, **values}), encoding="utf-8")
    with pytest.raises(ScorecardError) as info:
        load_scorecard(path)
    return str(info.value)


def test_the_card_loads_with_finite_values(tmp_path: Path) -> None:
    path = tmp_path / "card.yaml"
    path.write_text(CARD.format(**GOOD), encoding="utf-8")
    assert [c.weight for c in load_scorecard(path).criteria] == [10.0, 5.0]


@pytest.mark.parametrize("value", [".inf", ".nan", "-.inf", ".NaN", "+.Inf"])
def test_weight_must_be_finite(tmp_path: Path, value: str) -> None:
    msg = _error(tmp_path, weight=value)
    assert "card.yaml:10: criterion 'greeting': field 'weight': " in msg
    assert "finite" in msg or "must be >" in msg


@pytest.mark.parametrize("value", [".nan", ".inf"])
def test_other_numbers_must_be_finite(tmp_path: Path, value: str) -> None:
    msg = _error(tmp_path, count=value)
    assert "criterion 'interruptions': field 'max_count': " in msg
    msg = _error(tmp_path, similarity=value)
    assert "card.yaml:5: field 'matching.token_similarity': " in msg and "finite" in msg


def test_durations_must_be_finite(tmp_path: Path) -> None:
    msg = _error(tmp_path, within="9" * 400 + "s")
    assert "criterion 'greeting': field 'within_first': must be a finite duration" in msg
