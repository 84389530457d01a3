"""The stock formula and its settings: what is refused when the settings are saved, and how figures
become the shop's number (negatives 0, fractions floored, unit factors exact)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from pydantic import ValidationError

from koppel.flows.settings import FlowSettings
from koppel.flows.stock_formula import Formula, StockProblem, check_custom, expression_figures
from koppel.flows.stock_settings import StockSettings


def refusal(raw: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as caught:
        FlowSettings.model_validate({"stock": raw})
    return str(caught.value)


def test_defaults_are_the_reference_rule_every_minute_for_all_articles() -> None:
    settings = FlowSettings.model_validate({}).stock
    assert (settings.formula, settings.interval_seconds, settings.managed) == ("available_minus_reserved", 60, "all")
    assert settings.compare_with == "last_sent" and settings.match_on_sku


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("available / reserved", "with reserved 0"),
        ("available / (free - 9)", "with typical figures"),
        ("available - QTY_BESTEL", "'QTY_BESTEL', which is no stock figure"),
        ("available - article.reserved", "'article'"),
        ("available -", "does not parse"),
        ('"plenty"', "not a number"),
        ("$eval('available')", "$eval"),
    ],
)
def test_a_custom_formula_is_refused_when_saved_naming_why(expression: str, reason: str) -> None:
    message = refusal({"formula": "custom", "expression": expression})
    assert reason in message and expression.split()[0] in message


def test_settings_that_would_not_be_used_or_make_no_sense_are_refused() -> None:
    assert "needs an expression" in refusal({"formula": "custom"})
    assert "formula custom only" in refusal({"formula": "free", "expression": "free - 1"})
    assert "unit factor of KP-1" in refusal({"unit_factors": {"KP-1": "0"}})
    assert "1/0" in refusal({"unit_factors": {"KP-1": "1/0"}})
    assert "no AccountView field name" in refusal({"unit_factor_field": "PACK CONT"})
    assert "interval_seconds" in refusal({"interval_seconds": 5})


def test_a_good_custom_formula_is_kept_and_reads_only_its_figures() -> None:
    settings = StockSettings.model_validate(
        {"formula": "custom", "expression": "$max([available - reserved - 2, 0]) + $floor(free / 10)",
         "unit_factors": {" kp-1 ": "1/12"}})
    assert Formula.of(settings).fields == ("available", "reserved", "free")
    assert settings.unit_factors == {"KP-1": "1/12"}
    check_custom("technical * 0.9")
    assert expression_figures("technical * 0.9") == ("technical",)


@pytest.mark.parametrize(
    ("formula", "figures", "factor", "shown"),
    [
        ("available_minus_reserved", {"available": "10", "reserved": "3"}, Fraction(1), 7),
        ("available_minus_reserved", {"available": 2, "reserved": 5}, Fraction(1), 0),  # negative → 0
        ("available_minus_reserved", {"available": "7.9", "reserved": "0.5"}, Fraction(1), 7),  # floored
        ("available", {"available": Decimal("12.999")}, Fraction(1), 12),
        ("free", {"free": "-4"}, Fraction(1), 0),
        ("technical", {"technical": 13}, Fraction(6), 2),  # sold per six: 13 pieces are 2 packs
        ("available", {"available": "12"}, Fraction(6), 2),  # exactly 2, not 1.999…
        ("available", {"available": "2.5"}, Fraction(1, 12), 30),  # AccountView counts dozens
    ],
)
def test_the_shop_number(formula: str, figures: dict[str, object], factor: Fraction, shown: int) -> None:
    assert Formula(formula).shop_stock(figures, factor).value == shown


def test_a_custom_formula_is_not_fooled_by_float_noise() -> None:
    computed = Formula("custom", "available - reserved").shop_stock({"available": "2.3", "reserved": "0.3"})
    assert computed.value == 2  # 2.3 − 0.3 is 1.9999999999999998 in floats
    assert computed.inputs == {"available": "2.3", "reserved": "0.3"}
    assert "available - reserved = 2" in computed.explanation


@pytest.mark.parametrize(
    ("value", "reason"),
    [(None, "is empty"), ("  ", "is empty"), ("veel", "'veel', not a number"), ("NaN", "not a number"),
     (True, "not a number"), (Decimal("1e12"), "1000000000000, beyond any plausible quantity"),
     ("-1e12", "beyond any plausible quantity")],
)
def test_a_figure_that_is_empty_not_a_number_or_absurd_is_a_problem_naming_it(value: object, reason: str) -> None:
    with pytest.raises(StockProblem) as caught:
        Formula("available_minus_reserved").shop_stock(
            {"available": value, "reserved": 0}, labels={"available": "available stock (ARTICLE.QTY_AVAIL)"})
    assert reason in str(caught.value) and "ARTICLE.QTY_AVAIL" in str(caught.value)


def test_a_result_beyond_max_stock_is_a_problem_not_a_number_for_the_shop() -> None:
    with pytest.raises(StockProblem, match="above max_stock 1,000"):
        Formula("available", max_stock=1000).shop_stock({"available": "999"}, Fraction(1, 2))
