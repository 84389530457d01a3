"""The shared demo catalogue both sandboxes seed from, so MijnWebwinkel and AccountView demo data match.

Pure and deterministic: the same (seed, size) always gives the same items, and a larger size only
appends items (item i does not depend on size), so sandboxes of different sizes agree on what they share.
Items come one at a time (`iter_catalogue`), so 100,000 of them are never held at once.

What it has, for the products and stock flows:
- article groups forming a small tree (`GROUPS`: AccountView's groups are flat, the parent is for the
  products flow's group → category mapping table);
- simple articles (`KP-<seed>-<n>`) and, in every block of 60 items, one variant group of 6 articles
  (items 10–15 of the block: 10 % of the catalogue), codes `SHIRT-<group>-<COLOUR>-<SIZE>` with
  `parent_sku` `SHIRT-<group>`, sizes S/M/L (L costs 1.50 more) and two colours;
- descriptions (short and long), weight, country of origin, the webshop flag (false on every tenth
  item), and a small PNG image on three items in four (`catalogue_image(item)`, made on demand, in a
  colour per adjective or variant colour, with the SKU written into it so every image has its own bytes
  and hash).
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from itertools import islice
from typing import NamedTuple

VAT_RATES = (Decimal("21"), Decimal("9"), Decimal("0"))


@dataclass(frozen=True)
class CatalogueGroup:
    code: str  # AccountView AG_CODE
    description: str  # AG_DESC
    parent: str | None = None  # the parent group's code, for a category tree


GROUPS = (
    CatalogueGroup("WONEN", "Wonen en decoratie"),
    CatalogueGroup("KEUKEN", "Keuken", "WONEN"),
    CatalogueGroup("TEXTIEL", "Textiel en mode"),
    CatalogueGroup("SHIRTS", "Shirts", "TEXTIEL"),
    CatalogueGroup("PAPIER", "Papier en schrijfwaren"),
    CatalogueGroup("ETEN", "Eten en drinken"),
    CatalogueGroup("SPEL", "Boeken en spellen"),
)

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
_GROUP_OF = {
    "tas": "TEXTIEL",
    "sjaal": "TEXTIEL",
    "schort": "TEXTIEL",
    "muts": "TEXTIEL",
    "handschoenen": "TEXTIEL",
    "sokken": "TEXTIEL",
    "theedoek": "KEUKEN",
    "mok": "KEUKEN",
    "onderzetter": "KEUKEN",
    "notitieboek": "PAPIER",
    "pen": "PAPIER",
    "poster": "PAPIER",
    "koffie": "ETEN",
    "thee": "ETEN",
    "chocolade": "ETEN",
    "honing": "ETEN",
    "jam": "ETEN",
    "boek": "SPEL",
    "puzzel": "SPEL",
}
_MATERIALS = ("katoen", "linnen", "eikenhout", "keramiek", "gerecycled papier", "wol", "glas")
_ORIGINS = ("NL", "NL", "NL", "BE", "DE", "PT", "IN")
_COLOURS = (("ROOD", "rood", len(_ADJECTIVES)), ("BLAUW", "blauw", len(_ADJECTIVES) + 1))  # code, name, colour
_VARIANT_RGB = ((200, 40, 40), (40, 70, 200))
_SIZES = (("S", Decimal("0.00")), ("M", Decimal("0.00")), ("L", Decimal("1.50")))
BLOCK, VARIANTS_AT = 60, 10  # per block of 60 items, items 10..15 are one variant group (10 %)


class CatalogueItem(NamedTuple):
    """One article. A named tuple: made a hundred thousand times per large seed, and cheap to make."""

    sku: str
    ean: str  # EAN-13 with a valid check digit
    name: str
    price_excl: Decimal  # unit price excluding VAT, 2 decimals
    vat_rate: Decimal  # percentage: 21, 9 or 0
    group_code: str = "WONEN"  # an AG_CODE of GROUPS
    short_description: str = ""
    long_description: str = ""
    weight: Decimal = Decimal("0")  # kg, 3 decimals
    origin: str = "NL"  # country of origin, ISO code
    webshop: bool = True  # belongs in the shop
    parent_sku: str = ""  # the variant group's code; empty: a simple article
    size: str = ""
    colour: str = ""
    image_name: str = ""  # empty: no image
    image_colour: int = 0  # the image's colour, an index into the sandbox's palette


def ean13_check_digit(first12: str) -> str:
    """The GS1 check digit for the first 12 digits of an EAN-13 (weights 1, 3, 1, 3, …), by three lookups
    in a table of 4-digit chunks: a large seed makes 100,000 of them."""
    total = sum(_CHUNK_WEIGHTS[int(first12[i : i + 4])] for i in (0, 4, 8))
    return str((10 - total % 10) % 10)


def is_valid_ean13(code: str) -> bool:
    return len(code) == 13 and code.isdigit() and ean13_check_digit(code[:12]) == code[12]


def iter_catalogue(seed: int, size: int) -> Iterator[CatalogueItem]:
    """The first `size` items of the catalogue for `seed`, one at a time. One random stream per seed, drawn
    in item order: item i depends on the items before it, never on `size`."""
    rng = random.Random(f"koppel-catalogue:{seed}")
    prefix = f"87{seed % 100:02d}"
    for index in range(size):
        digits = f"{prefix}{index:08d}"[:12]
        ean = digits + ean13_check_digit(digits)
        block, place = divmod(index, BLOCK)
        if VARIANTS_AT <= place < VARIANTS_AT + len(_COLOURS) * len(_SIZES):
            yield _variant(rng, ean, block, place - VARIANTS_AT)
        else:
            yield _simple(rng, ean, f"KP-{seed % 1000:03d}-{index + 1:05d}", index)


def catalogue(seed: int, size: int) -> list[CatalogueItem]:
    """The first `size` items of the catalogue for `seed`."""
    return list(iter_catalogue(seed, size))


def catalogue_item(seed: int, index: int) -> CatalogueItem:
    """Item number `index` of the catalogue for `seed` (made by making the ones before it)."""
    return next(islice(iter_catalogue(seed, index + 1), index, None))


def _simple(rng: random.Random, ean: str, sku: str, index: int) -> CatalogueItem:
    noun = rng.choice(_NOUNS)
    adjective = rng.randrange(len(_ADJECTIVES))
    name = f"{_ADJECTIVES[adjective]} {noun.lower()}"
    zero_rated = rng.random() < 0.05
    vat_rate = VAT_RATES[1] if noun in _REDUCED else VAT_RATES[2] if zero_rated else VAT_RATES[0]
    material = rng.choice(_MATERIALS)
    return CatalogueItem(
        sku=sku,
        ean=ean,
        name=name,
        price_excl=_cents(rng.randint(195, 12995)),
        vat_rate=vat_rate,
        group_code=_GROUP_OF.get(noun.lower(), "WONEN"),
        short_description=f"{noun} van {material}"[:40],
        long_description=f"{name} van {material}.\nOntworpen in Nederland, met zorg gemaakt.",
        weight=Decimal(rng.randint(50, 2500)) / 1000,
        origin=rng.choice(_ORIGINS),
        webshop=index % 10 != 9,
        image_name="" if index % 4 == 3 else f"{sku.lower()}.png",
        image_colour=adjective,
    )


def _variant(rng: random.Random, ean: str, block: int, number: int) -> CatalogueItem:
    """Variant `number` (0..5) of the variant group of `block`: a shirt in a colour and a size."""
    code, colour, palette = _COLOURS[number // len(_SIZES)]
    size, surcharge = _SIZES[number % len(_SIZES)]
    group = random.Random(f"koppel-catalogue-group:{block}")  # the same for every variant of the group
    adjective = group.choice(_ADJECTIVES)
    parent = f"SHIRT-{block + 1:04d}"
    sku = f"{parent}-{code}-{size}"
    material = "katoen" if block % 2 else "biologisch katoen"
    return CatalogueItem(
        sku=sku,
        ean=ean,
        name=f"{adjective} shirt {colour} {size}",
        price_excl=_cents(group.randint(1495, 3995)) + surcharge,
        vat_rate=VAT_RATES[0],
        group_code="SHIRTS",
        short_description=f"Shirt van {material}",
        long_description=f"{adjective} shirt van {material}, in rood en blauw, maten S, M en L.",
        weight=Decimal(rng.randint(150, 400)) / 1000,
        origin=rng.choice(_ORIGINS),
        webshop=True,
        parent_sku=parent,
        size=size,
        colour=colour,
        image_name=f"{sku.lower()}.png",
        image_colour=palette,
    )


def _cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


# Weighted digit sums (1, 3, 1, 3) of every 4-digit chunk: an EAN-13's first 12 digits are three chunks.
_CHUNK_WEIGHTS = [int(c[0]) + 3 * int(c[1]) + int(c[2]) + 3 * int(c[3]) for c in (f"{n:04d}" for n in range(10_000))]


# One colour per adjective (simple items) or per variant colour; the image's pixel data per colour is made
# once, so an image costs a text chunk.
_PALETTE = tuple((37 * i % 256, 91 * i % 256, 53 * (i + 3) % 256) for i in range(len(_ADJECTIVES)))


@cache
def _pixels(colour: int) -> bytes:
    rgb = _VARIANT_RGB[colour - len(_PALETTE)] if colour >= len(_PALETTE) else _PALETTE[colour]
    raw = b"".join(b"\x00" + bytes(rgb) * 8 for _ in range(8))
    return _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)) + _png_chunk(b"IDAT", zlib.compress(raw))


def catalogue_image(item: CatalogueItem) -> bytes:
    """The item's image: an 8×8 PNG in its colour, with its SKU in a text chunk (so each image's bytes, and
    hash, are its own). Empty bytes for an item without an image."""
    if not item.image_name:
        return b""
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _pixels(item.image_colour),
            _png_chunk(b"tEXt", b"Title\x00" + item.sku.encode("ascii")),
            _PNG_END,
        ]
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


_PNG_END = _png_chunk(b"IEND", b"")
