"""The amounts AccountView computes for a sales order or a sales invoice from what was written: each line's
amount, VAT per rate and the document total, under the administration's declared rules (profile:
`prices_include_vat`, `vat_rounding`, `price_decimals`). Decimal arithmetic, half-up to the cent.

A sales-order line's amount is quantity × unit price to the cent; an invoice line's amount is its AMOUNT.
Amounts are incl. VAT when the rule says so (invoices: the page's GROSS_FLG), else excl. VAT. VAT is
rounded per line ("line") or once per VAT rate on the sum of its lines ("document"); in "document"
rounding each line's VAT is its share of its rate's VAT, the cents allocated so the lines add up exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Literal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def exact(value: Any) -> Decimal:
    """A stored number (float with few decimals) as the Decimal it was written as."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value or 0))


@dataclass(frozen=True)
class LineIn:
    amount: Decimal  # the line's amount as entered, to the cent, incl. or excl. VAT per the rule
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


def compute(lines: list[LineIn], *, includes_vat: bool, rounding: Literal["line", "document"]) -> Amounts:
    vats: list[Decimal] = [cents(_vat_of(line.amount, line.rate, includes_vat=includes_vat)) for line in lines]
    if rounding == "document":
        vats = _allocated(lines, includes_vat=includes_vat)
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
