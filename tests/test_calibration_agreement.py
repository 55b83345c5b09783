"""Agreement statistics on constructed data whose κ is known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qa_pipeline.calibration import agreement, agreement_from_confusion, compare_totals, confusion, kappa_band
from qa_pipeline.calibration.records import Confusion


def _pairs(counts: dict[tuple[str, str], int]) -> list[tuple[str, str]]:
    return [pair for pair, n in counts.items() for _ in range(n)]


def test_textbook_two_by_two_gives_kappa_0_4() -> None:
    # 50 items: both yes 20, first yes / second no 5, first no / second yes 10, both no 15.
    # pₒ = 35/50 = 0.7; first says yes to 0.5, second to 0.6: pₑ = 0.5·0.6 + 0.5·0.4 = 0.5.
    a = agreement(_pairs({("pass", "pass"): 20, ("pass", "fail"): 5, ("fail", "pass"): 10, ("fail", "fail"): 15}))
    assert (a.n, a.agreed) == (50, 35)
    assert a.observed == pytest.approx(0.7)
    assert a.expected == pytest.approx(0.5)
    assert a.kappa == pytest.approx(0.4, abs=1e-12)
    assert a.band == "fair"
    assert a.percent == pytest.approx(70.0)
    # Cohen's large-sample standard error: √(0.7·0.3/50) / 0.5.
    se = math.sqrt(0.7 * 0.3 / 50) / 0.5
    assert a.kappa_low == pytest.approx(0.4 - 1.96 * se)
    assert a.kappa_high == pytest.approx(0.4 + 1.96 * se)


def test_three_categories_known_kappa() -> None:
    table = Confusion(("pass", "fail", "na"), ((10, 2, 0), (1, 8, 1), (0, 1, 7)))
    a = agreement_from_confusion(table)
    # n = 30, 25 agreed; rows 12, 10, 8; columns 11, 11, 8: Σ r·c = 306.
    # κ = (30·25 − 306) / (30² − 306) = 444 / 594.
    assert a.kappa == pytest.approx(444 / 594, abs=1e-12)
    assert a.expected == pytest.approx(306 / 900)
    assert a.band == "substantial"


def test_perfect_agreement_with_variation_is_kappa_1() -> None:
    a = agreement(_pairs({("pass", "pass"): 7, ("fail", "fail"): 3, ("na", "na"): 2}))
    assert a.kappa == 1.0
    assert a.observed == 1.0
    assert (a.kappa_low, a.kappa_high) == (1.0, 1.0)
    assert a.band == "almost perfect"
    assert a.note == ""


def test_one_shared_verdict_throughout_leaves_kappa_undefined() -> None:
    # Expected agreement is 1: κ would be 0/0. Agreement is still complete and reported.
    a = agreement([("pass", "pass")] * 12)
    assert a.kappa is None and a.kappa_low is None
    assert a.observed == 1.0 and a.expected == 1.0
    assert a.band == "undefined"
    assert "'pass'" in a.note and "undefined" in a.note
    assert a.to_dict()["kappa"] is None and a.to_dict()["kappa_ci95"] is None


def test_one_rater_constant_but_not_the_other_gives_kappa_0() -> None:
    # pₑ = pₒ whenever one side never varies: no agreement beyond chance.
    a = agreement(_pairs({("pass", "pass"): 9, ("pass", "fail"): 1}))
    assert a.kappa == pytest.approx(0.0, abs=1e-12)
    assert a.band == "slight"


def test_chance_level_tables_give_kappa_0() -> None:
    # Counts equal to the product of the margins (0.5, 0.3, 0.2) × (0.6, 0.2, 0.2): pure chance.
    table = Confusion(("pass", "fail", "na"), ((30, 10, 10), (18, 6, 6), (12, 4, 4)))
    assert agreement_from_confusion(table).kappa == pytest.approx(0.0, abs=1e-12)
    # Two raters drawing verdicts independently: κ near 0.
    rng = np.random.default_rng(42)
    labels = np.array(["pass", "fail", "na"])
    first = rng.choice(labels, 4000, p=[0.7, 0.2, 0.1])
    second = rng.choice(labels, 4000, p=[0.6, 0.3, 0.1])
    a = agreement(zip(first.tolist(), second.tolist()))
    assert abs(a.kappa) < 0.04
    assert a.kappa_low < 0 < a.kappa_high


def test_systematic_disagreement_is_poor() -> None:
    a = agreement(_pairs({("pass", "fail"): 6, ("fail", "pass"): 4}))
    assert a.kappa < 0
    assert a.band == "poor"


def test_no_pairs() -> None:
    a = agreement([])
    assert (a.n, a.observed, a.kappa) == (0, None, None)
    assert a.band == "undefined"


@pytest.mark.parametrize(
    "kappa, band",
    [(-0.2, "poor"), (-0.001, "slight"), (0.0, "slight"), (0.2, "slight"), (0.21, "fair"), (0.4, "fair"), (0.41, "moderate"),
     (0.6, "moderate"), (0.61, "substantial"), (0.8, "substantial"), (0.81, "almost perfect"), (1.0, "almost perfect"), (None, "undefined")],
)
def test_landis_koch_bands(kappa, band) -> None:
    assert kappa_band(kappa) == band


def test_confusion_counts_and_rejects_unknown_verdicts() -> None:
    table = confusion([("pass", "fail"), ("pass", "fail"), ("na", "na")])
    assert table.count("pass", "fail") == 2 and table.count("na", "na") == 1 and table.total == 3
    assert table.to_dict()["counts"] == [[0, 2, 0], [0, 0, 0], [0, 0, 1]]
    with pytest.raises(ValueError, match="'maybe'"):
        confusion([("pass", "maybe")])


def test_totals_correlations_and_differences() -> None:
    human = [90.0, 75.0, 60.0, 100.0, 40.0]
    machine = [85.0, 50.0, 55.0, 95.0, 45.0]
    t = compare_totals(list(zip(human, machine)))
    assert t.n == 5
    assert t.pearson_r == pytest.approx(np.corrcoef(human, machine)[0, 1])
    # Ranks 4 3 2 5 1 against 4 2 3 5 1: Σd² = 2, ρ = 1 − 6·2 / (5·24).
    assert t.spearman_rho == pytest.approx(0.9)
    assert t.mean_abs_diff == pytest.approx((5 + 25 + 5 + 5 + 5) / 5)
    assert t.mean_diff == pytest.approx((5 + 25 + 5 + 5 - 5) / 5)
    assert 0 < t.pearson_p < 0.05


def test_totals_without_enough_variation_have_no_correlation() -> None:
    assert compare_totals([(80.0, 70.0), (90.0, 95.0)]).pearson_r is None  # two calls: always ±1
    constant = compare_totals([(100.0, 90.0), (100.0, 80.0), (100.0, 70.0)])
    assert constant.pearson_r is None and constant.spearman_rho is None
    assert constant.mean_abs_diff == pytest.approx(20.0)
    empty = compare_totals([])
    assert (empty.n, empty.mean_abs_diff) == (0, None)
