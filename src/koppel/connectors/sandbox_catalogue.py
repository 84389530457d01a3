"""The shared demo catalogue both sandboxes seed from, so MijnWebwinkel and AccountView demo data match.

Pure and deterministic: the same (seed, size) always gives the same items, and a larger size only
appends items (item i does not depend on size), so sandboxes of different sizes agree on what they share.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

VAT_RATES = (Decimal("21"), Decimal("9"), Decimal("0"))

_NOUNS = (
    "Tas",
    "Mok",
    "Kaars",
    "Sjaal",
    "Theedoek",
    "Notitieboek",
    "Pen",
    "Kussen",
    "Plaid",
    "Vaas",
    "Schort",
    "Onderzetter",
    "Lamp",
    "Klok",
    "Poster",
    "Muts",
    "Handschoenen",
    "Sokken",
    "Koffie",
    "Thee",
    "Chocolade",
    "Honing",
    "Jam",
    "Boek",
    "Puzzel",
)
_ADJECTIVES = (
    "Groene",
    "Blauwe",
    "Rode",
    "Linnen",
    "Katoenen",
    "Houten",
    "Grote",
    "Kleine",
    "Klassieke",
    "Moderne",
    "Zachte",
    "Stevige",
    "Retro",
    "Biologische",
    "Handgemaakte",
)
# Food and books carry the reduced rate; a few items are zero-rated (e.g. gift cards, exports).
_REDUCED = {"Koffie", "Thee", "Chocolade", "Honing", "Jam", "Boek"}


@dataclass(frozen=True)
class CatalogueItem:
    sku: str
    ean: str  # EAN-13 with a valid check digit
    name: str
    price_excl: Decimal  # unit price excluding VAT, 2 decimals
    vat_rate: Decimal  # percentage: 21, 9 or 0


def ean13_check_digit(first12: str) -> str:
    """The GS1 check digit for the first 12 digits of an EAN-13."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def is_valid_ean13(code: str) -> bool:
    return len(code) == 13 and code.isdigit() and ean13_check_digit(code[:12]) == code[12]


def catalogue_item(seed: int, index: int) -> CatalogueItem:
    """Item number `index` of the catalogue for `seed`."""
    rng = random.Random(f"koppel-catalogue:{seed}:{index}")
    noun = rng.choice(_NOUNS)
    name = f"{rng.choice(_ADJECTIVES)} {noun.lower()}"
    if noun in _REDUCED:
        vat_rate = VAT_RATES[1]
    elif rng.random() < 0.05:
        vat_rate = VAT_RATES[2]
    else:
        vat_rate = VAT_RATES[0]
    cents = rng.randint(195, 12995)
    first12 = f"87{seed % 100:02d}{index:08d}"[:12]
    return CatalogueItem(
        sku=f"KP-{seed % 1000:03d}-{index + 1:05d}",
        ean=first12 + ean13_check_digit(first12),
        name=name,
        price_excl=(Decimal(cents) / 100).quantize(Decimal("0.01")),
        vat_rate=vat_rate,
    )


def catalogue(seed: int, size: int) -> list[CatalogueItem]:
    """The first `size` items of the catalogue for `seed`."""
    return [catalogue_item(seed, i) for i in range(size)]
