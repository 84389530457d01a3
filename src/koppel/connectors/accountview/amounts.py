"""The amounts AccountView computes from a document's lines under the administration's price rules (profile:
`prices_include_vat`, `vat_rounding`, `price_decimals`): each line's amount, VAT per rate and the document
total. Pure Decimal arithmetic, half-up to the cent (FoxPro's ROUND: away from zero on a half).

One computation for both sides: the flows predict with it what AccountView will book before they write,
and the sandbox books with it, so a rule changed here changes both.

A sales-order line's amount is quantity × unit price to the cent, the unit price kept to `price_decimals`;
an invoice line's amount is its AMOUNT. Amounts are incl. VAT when the rules say so, else excl. VAT. VAT
is rounded per line ("line") or once per VAT rate on the sum of its lines ("document"); in "document"
rounding each line's VAT is its share of its rate's VAT, the cents allocated so the lines add up exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Literal

from koppel.connectors.accountview.profile import AccountViewProfile

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
VatRounding = Literal["line", "document"]


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PriceRules:
    """How the administration turns unit prices into amounts (the profile's money settings)."""

    prices_include_vat: bool = False
    vat_rounding: VatRounding = "line"
    price_decimals: int = 4

    @classmethod
    def of(cls, profile: AccountViewProfile) -> PriceRules:
        return cls(profile.prices_include_vat, profile.vat_rounding, profile.price_decimals)

    @property
    def price_step(self) -> Decimal:
        """The smallest unit-price step the administration keeps (0.0001 for 4 decimals)."""
        return Decimal(1).scaleb(-self.price_decimals)

    def keeps(self, unit_price: Decimal) -> bool:
        """Whether a unit price fits the administration's price precision as it is."""
        return unit_price == unit_price.quantize(self.price_step, rounding=ROUND_HALF_UP)

    def unit_price(self, amount: Decimal, quantity: Decimal) -> Decimal:
        """The unit price nearest to `amount` / `quantity` that the administration keeps."""
        return (amount / quantity).quantize(self.price_step, rounding=ROUND_HALF_UP)


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """A sales-order line's amount: quantity × unit price, to the cent."""
    return cents(quantity * unit_price)


@dataclass(frozen=True)
class LineIn:
    amount: Decimal  # the line's amount as entered, to the cent, incl. or excl. VAT per the rules
    rate: Decimal  # VAT percentage (0 for reverse charge and exports)
    vat_code: str


@dataclass(frozen=True)
class LineAmounts:
    net: Decimal
    vat: Decimal
    gross: Decimal
    rate: Decimal
    vat_code: str


@dataclass(frozen=True)
class Amounts:
    lines: list[LineAmounts]
    vat_per_rate: dict[Decimal, Decimal]
    net: Decimal
    vat: Decimal
    total: Decimal

    def gross_per_rate(self) -> dict[Decimal, Decimal]:
        gross: dict[Decimal, Decimal] = {}
        for line in self.lines:
            gross[line.rate] = gross.get(line.rate, Decimal(0)) + line.gross
        return gross

    def as_json(self) -> dict[str, Any]:
        """Amounts as text with two decimals, rates as plain numbers: `{"vat_per_rate": {"21": "4.20"}}`."""
        return {
            "lines": [
                {
                    "net": f"{line.net:f}",
                    "vat": f"{line.vat:f}",
                    "gross": f"{line.gross:f}",
                    "rate": _rate(line.rate),
                    "vat_code": line.vat_code,
                }
                for line in self.lines
            ],
            "vat_per_rate": {_rate(rate): f"{vat:f}" for rate, vat in sorted(self.vat_per_rate.items())},
            "net": f"{self.net:f}",
            "vat": f"{self.vat:f}",
            "total": f"{self.total:f}",
        }


def _rate(rate: Decimal) -> str:
    return f"{rate.normalize():f}"


def _vat_of(amount: Decimal, rate: Decimal, *, includes_vat: bool) -> Decimal:
    """VAT in an amount, unrounded."""
    if includes_vat:
        return amount * rate / (HUNDRED + rate)
    return amount * rate / HUNDRED


def compute(lines: Iterable[LineIn], *, includes_vat: bool, rounding: VatRounding) -> Amounts:
    """What AccountView books for these lines: per line net, VAT and gross; VAT per rate; the total."""
    lines = list(lines)
    if rounding == "document":
        vats = _allocated(lines, includes_vat=includes_vat)
    else:
        vats = [cents(_vat_of(line.amount, line.rate, includes_vat=includes_vat)) for line in lines]
    out = []
    for line, vat in zip(lines, vats, strict=True):
        net, gross = (line.amount - vat, line.amount) if includes_vat else (line.amount, line.amount + vat)
        out.append(LineAmounts(net=net, vat=vat, gross=gross, rate=line.rate, vat_code=line.vat_code))
    per_rate: dict[Decimal, Decimal] = {}
    for line_amounts in out:
        per_rate[line_amounts.rate] = per_rate.get(line_amounts.rate, Decimal(0)) + line_amounts.vat
    net = sum((line.net for line in out), Decimal(0))
    vat = sum(per_rate.values(), Decimal(0))
    return Amounts(lines=out, vat_per_rate=per_rate, net=net, vat=vat, total=net + vat)


def compute_by(lines: Iterable[LineIn], rules: PriceRules) -> Amounts:
    """`compute` under the administration's rules."""
    return compute(lines, includes_vat=rules.prices_include_vat, rounding=rules.vat_rounding)


def _allocated(lines: list[LineIn], *, includes_vat: bool) -> list[Decimal]:
    """Per rate: VAT rounded once on the sum of its lines, shared over the lines to the cent (largest
    remainder), so the lines' VAT adds up to the rate's VAT exactly."""
    shares: list[Decimal] = [Decimal(0)] * len(lines)
    for rate in {line.rate for line in lines}:
        members = [i for i, line in enumerate(lines) if line.rate == rate]
        exact_shares = {i: _vat_of(lines[i].amount, rate, includes_vat=includes_vat) for i in members}
        total = cents(sum(exact_shares.values(), Decimal(0)))
        floors = {i: exact_shares[i].quantize(CENT, rounding=ROUND_FLOOR) for i in members}
        left = int((total - sum(floors.values(), Decimal(0))) / CENT)
        by_remainder = sorted(members, key=lambda i: exact_shares[i] - floors[i], reverse=True)
        for position, i in enumerate(by_remainder):
            shares[i] = floors[i] + (CENT if position < left else Decimal(0))
    return shares
