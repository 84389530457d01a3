"""Money and VAT arithmetic as MijnWebwinkel writes it: Decimal strings, excl. VAT with up to 6 decimals,
incl. VAT with 2, VAT rates as percentage strings ("21.00"). Shared by the client (decoding) and the sandbox
(computing orders), so both sides round the same way.

The real rounding rule is undocumented (NOTES §10.8). We chose: a line's amount incl. VAT is exact to the
cent and authoritative; its amount excl. VAT is derived from it (6 decimals, ROUND_HALF_UP); an order's total
is the sum of its lines incl. VAT; the VAT per rate is (sum incl. − sum excl.) of that rate, rounded
to the cent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
MICRO = Decimal("0.000001")
HUNDRED = Decimal(100)


def to_decimal(value: object) -> Decimal:
    """Parse an API money/rate value (string, int or float as the live API sends) into a Decimal."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a money value: {value!r}")
    if isinstance(value, float):
        value = repr(value)  # 0.83 → "0.83", not its binary expansion
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a money value: {value!r}") from exc
    if not result.is_finite():
        raise ValueError(f"not a money value: {value!r}")
    return result


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def micros(value: Decimal) -> Decimal:
    return value.quantize(MICRO, rounding=ROUND_HALF_UP)


def excl_from_incl(amount_incl: Decimal, rate: Decimal) -> Decimal:
    """Amount excl. VAT (6 decimals) for an amount incl. VAT at `rate` percent."""
    return micros(amount_incl * HUNDRED / (HUNDRED + rate))


def incl_from_excl(amount_excl: Decimal, rate: Decimal) -> Decimal:
    """Amount incl. VAT (cents) for an amount excl. VAT at `rate` percent."""
    return cents(amount_excl * (HUNDRED + rate) / HUNDRED)


def split_pro_rata(amount: Decimal, weights: dict[Decimal, Decimal]) -> dict[Decimal, Decimal]:
    """Split a cent amount over VAT rates in proportion to `weights`; the parts add up to `amount` exactly."""
    rates = [rate for rate, weight in weights.items() if weight != 0]
    total = sum((weights[rate] for rate in rates), Decimal(0))
    if not rates or total == 0:
        return {}
    parts: dict[Decimal, Decimal] = {}
    for rate in rates[:-1]:
        parts[rate] = cents(amount * weights[rate] / total)
    parts[rates[-1]] = amount - sum(parts.values(), Decimal(0))
    return parts


def fmt_excl(value: Decimal) -> str:
    return f"{micros(value):f}"


def fmt_cents(value: Decimal) -> str:
    return f"{cents(value):f}"


def fmt_rate(rate: Decimal) -> str:
    return f"{cents(rate):f}"
