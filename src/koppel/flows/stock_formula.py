"""The stock formula: from an AccountView article's stock figures to the number the shop shows.

    formula = Formula.of(settings)
    formula.fields                       # the figures it reads: ("available", "reserved")
    shown = formula.shop_stock(figures, factor=Fraction(6))   # → Computed: .value, .inputs, .explanation

A figure is one of AccountView's stock quantities by its role (available, reserved, free, technical);
which ARTICLE field holds it is the AccountView profile's business. The result is divided by the article's
unit factor (AccountView units per shop unit), floored, and never below 0. A figure that is empty, not a
number, or absurd, and a result beyond `max_stock`, raise `StockProblem` naming the figure and value, and the
stock setting that decides it: the article is parked (the dashboard links its fix to that setting), nothing
is guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cached_property
from typing import Any

from koppel.mapping.expressions import ExpressionError, check_expression, evaluate_expression
from koppel.reasons import invalid, reason, reason_in

FIGURES = ("available", "reserved", "free", "technical")
"""The stock figures a formula may name; the AccountView profile says which ARTICLE field holds each."""

BUILT_IN: dict[str, tuple[tuple[str, ...], str]] = {
    # name: (figures read, how the activity log writes it)
    "available_minus_reserved": (("available", "reserved"), "available − reserved"),
    "available": (("available",), "available"),
    "free": (("free",), "free"),
    "technical": (("technical",), "technical"),
}

# Sample figures a custom expression must give a number for when the settings are saved: typical values,
# each figure at zero (the usual way to divide by zero), all of them at zero, and fractions below zero.
_TYPICAL = {"available": 12.0, "reserved": 3.0, "free": 9.0, "technical": 15.0}
SAMPLES: list[tuple[str, dict[str, float]]] = [
    (reason("typical figures"), _TYPICAL),
    *((f"{name} 0", {**_TYPICAL, name: 0.0}) for name in FIGURES),
    (reason("every figure 0"), dict.fromkeys(FIGURES, 0.0)),
    (reason("fractions and a negative free stock"),
     {"available": 1.5, "reserved": 2.0, "free": -0.5, "technical": 1.0}),
]


_REMEMBERED = 10_000  # custom formula results kept per figures, oldest dropped first


class StockProblem(ValueError):
    """This article's stock can't be computed as it is (the message names the figure and value). `setting`: the
    stock setting that decides it, where the dashboard sends the user to fix it (None: none does, e.g. a
    settings model's own check)."""

    def __init__(self, why: str, *, setting: str | None = None) -> None:
        super().__init__(why)
        self.setting = setting


@dataclass(frozen=True)
class Computed:
    """The shop's stock for one article, and how it came about (words for the activity log, made only for
    the articles that change)."""

    value: int
    label: str
    figures: dict[str, Decimal]
    raw: Decimal
    factor: Fraction

    @property
    def inputs(self) -> dict[str, str]:
        return {name: _text(value) for name, value in self.figures.items()}

    @property
    def explanation(self) -> str:
        words = f"{self.label} = {_text(self.raw)}"
        if self.factor == 1:
            return words
        return reason("{formula}, ÷ {factor} per shop unit", formula=words, factor=_text(self.factor))


@dataclass(frozen=True)
class Formula:
    """A stock formula: a built-in one by name, or a custom JSONata expression over the figures."""

    name: str
    expression: str = ""
    max_stock: int = 100_000_000

    @classmethod
    def of(cls, settings: Any) -> Formula:
        """The formula of the stock settings (`formula`, `expression`, `max_stock`)."""
        return cls(settings.formula, settings.expression or "", settings.max_stock)

    @cached_property
    def fields(self) -> tuple[str, ...]:
        if self.name in BUILT_IN:
            return BUILT_IN[self.name][0]
        return expression_figures(self.expression)

    @property
    def label(self) -> str:
        return BUILT_IN[self.name][1] if self.name in BUILT_IN else self.expression

    @property
    def setting(self) -> str:
        """The stock setting that says which figures are read and how: the custom expression, or the formula."""
        return "formula" if self.name in BUILT_IN else "expression"

    def shop_stock(self, figures: dict[str, Any], factor: Fraction = Fraction(1), *,
                   labels: dict[str, str] | None = None) -> Computed:
        """The stock the shop should show for these figures (raw values as AccountView sent them);
        `labels` name a figure in messages (e.g. "available stock (ARTICLE.QTY_AVAIL)")."""
        values = {}
        for name in self.fields:
            given = figures.get(name)
            values[name] = self._figure(name, given, labels) if type(given) is not Decimal or not (
                given.is_finite() and abs(given) <= self.max_stock) else given
        raw = self._raw(values)
        # A cycle computes every article: Fractions (exact, slow) only where a unit factor needs them.
        value = max(0, math.floor(raw if factor == 1 else Fraction(raw) / factor))
        computed = Computed(value, self.label, values, raw, factor)
        if value > self.max_stock:
            raise StockProblem(reason(
                "the computed stock {value} ({explanation}) is above max_stock {most}: check the figures in "
                "AccountView, or raise max_stock in the stock settings",
                value=f"{value:,}", explanation=computed.explanation, most=f"{self.max_stock:,}"), setting="max_stock")
        return computed

    def _figure(self, name: str, raw: Any, labels: dict[str, str] | None) -> Decimal:
        label = (labels or {}).get(name) or reason("{figure} stock", figure=name)
        try:
            value = parse_quantity(raw, what=reason("the {label}", label=label))
        except StockProblem as problem:  # the figure is AccountView's to fix, or the formula's not to read
            problem.setting = self.setting
            raise
        if abs(value) > self.max_stock:
            raise StockProblem(reason(
                "the {label} is {value}, beyond any plausible quantity (max_stock {most}): correct the article in "
                "AccountView, or raise max_stock in the stock settings",
                label=label, value=_text(value), most=f"{self.max_stock:,}"), setting="max_stock")
        return value

    def _raw(self, values: dict[str, Decimal]) -> Decimal:
        if self.name == "available_minus_reserved":
            return values["available"] - values["reserved"]
        if self.name in BUILT_IN:
            return values[self.name]
        # Each evaluation is a round trip to the expressions' child process (a fraction of a millisecond):
        # articles with the same figures (often all zero) share one, within a bounded memory.
        key = tuple(values.values())
        known = self._results.get(key)
        if known is None:
            try:
                result = evaluate_expression(self.expression, {k: float(v) for k, v in values.items()})
            except ExpressionError as error:
                raise StockProblem(reason("the stock formula {formula} failed: {error}", formula=repr(self.expression),
                                          error=error), setting="expression") from None
            known = _expression_result(self.expression, result)
            if len(self._results) >= _REMEMBERED:
                self._results.pop(next(iter(self._results)))
            self._results[key] = known
        return known

    @cached_property
    def _results(self) -> dict[tuple[Decimal, ...], Decimal]:
        return {}


def parse_quantity(raw: Any, *, what: str) -> Decimal:
    """A stock quantity as AccountView sent it (number or numeric text), or StockProblem."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise StockProblem(reason("{what} is empty", what=what))
    not_a_number = reason("{what} is {value}, not a number", what=what, value=repr(raw))
    if isinstance(raw, bool):
        raise StockProblem(not_a_number)
    try:
        value = Decimal(str(raw).strip()) if not isinstance(raw, Decimal) else raw
    except InvalidOperation:
        raise StockProblem(not_a_number) from None
    if not value.is_finite():
        raise StockProblem(not_a_number)
    return value


def parse_factor(raw: Any, *, what: str) -> Fraction:
    """A unit factor (AccountView units per shop unit): a positive number or fraction ("6", "0.5", "1/12")."""
    try:
        factor = Fraction(str(raw).strip())
    except (ValueError, ZeroDivisionError):
        raise StockProblem(reason("{what} is {value}: give a positive number or fraction such as 6 or 1/12",
                                  what=what, value=repr(raw))) from None
    if factor <= 0:
        raise StockProblem(reason("{what} is {value}: a unit factor must be above 0", what=what, value=repr(raw)))
    return factor


def expression_figures(expression: str) -> tuple[str, ...]:
    """The field names a JSONata expression reads, in order of appearance (check it parses first)."""
    from jsonata import Jsonata
    from jsonata.parser import Parser

    names: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, Parser.Symbol):
            if node.type == "name" and node.value not in names:
                names.append(str(node.value))
            for key, value in vars(node).items():
                if key != "_outer_instance" and isinstance(value, list | Parser.Symbol):
                    walk(value)

    walk(Jsonata(expression).ast)
    return tuple(names)


def check_custom(expression: str) -> None:
    """Refuse a custom formula that does not parse, names a field that is no stock figure, or gives no
    finite number for the sample figures (division by zero among them). Raises ValueError naming why."""
    try:
        check_expression(expression)
    except ExpressionError as error:
        raise ValueError(str(error)) from None
    unknown = [name for name in expression_figures(expression) if name not in FIGURES]
    if unknown:
        raise invalid(reason("the formula names {names}, which is no stock figure; use {figures} (the AccountView "
                             "profile says which field holds each)", names=", ".join(repr(n) for n in unknown),
                             figures=", ".join(FIGURES)))
    for case, sample in SAMPLES:
        try:
            _expression_result(expression, evaluate_expression(expression, sample))
        except (ExpressionError, StockProblem) as error:
            detail = reason("it divides by zero") if "division by zero" in str(error) else reason_in(error)
            raise invalid(reason("with {case} ({figures}) {detail}", case=case, figures=_figures(sample),
                                 detail=detail)) from None


def _figures(sample: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:g}" for name, value in sample.items())


def _expression_result(expression: str, result: Any) -> Decimal:
    if isinstance(result, bool) or not isinstance(result, int | float) or not math.isfinite(result):
        raise StockProblem(reason("the stock formula {formula} gave {result}, not a number", formula=repr(expression),
                                  result=repr(result)), setting="expression")
    # Quantities have at most a few decimals: round away float noise (2.3 − 0.3 = 1.9999999999999998)
    # before the floor, or a whole result would lose one.
    return Decimal(repr(round(float(result), 6)))


def _text(value: Decimal | Fraction) -> str:
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else str(value)
    return format(value.normalize(), "f")
