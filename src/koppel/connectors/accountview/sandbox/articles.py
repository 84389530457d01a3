"""Articles in the sandbox: seeded in bulk from the shared catalogue, added or edited one at a time the way
a user of AccountView would, and bad data put in on purpose for the flows' tests.

Three ways in, on purpose different:
- `add_article(values)` writes through the API's own path (validated; `CNG_DATE` set);
- `change_article(code, values)` is an edit in AccountView: validated, and it moves `CNG_DATE`;
- `force_values(code, values)` stores values as given, unvalidated, without touching `CNG_DATE`: data a real
  administration may hold that our assumed dictionary would refuse (a 300-character name, `"veel"` in a
  stock field, an empty stock figure). `add_bad_articles(cases)` builds the named bad-input cases with them.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from decimal import Decimal
from itertools import islice
from typing import TYPE_CHECKING

from koppel.connectors.accountview.profile import AccountViewProfile
from koppel.connectors.accountview.sandbox import stock
from koppel.connectors.accountview.sandbox.columns import format_when
from koppel.connectors.accountview.sandbox.errors import ApiError
from koppel.connectors.accountview.wire import write_body
from koppel.connectors.sandbox_catalogue import CatalogueItem, catalogue_image, ean13_check_digit

if TYPE_CHECKING:
    from koppel.connectors.accountview.sandbox.state import Row, Sandbox

VAT_BY_RATE = {Decimal("21"): "H1", Decimal("9"): "L1", Decimal("0"): "N0"}


def encode_image(data: bytes, profile: AccountViewProfile) -> str:
    """Image bytes as `IMG_M_DATA` carries them under the profile's `article_image_encoding`."""
    return data.hex() if profile.article_image_encoding == "hex" else base64.b64encode(data).decode("ascii")


def catalogue_values(item: CatalogueItem, profile: AccountViewProfile, *, technical: int, managed: bool = True) -> Row:
    """The ARTICLE columns of a catalogue item under the profile's field names, as the columns hold them
    (numbers as floats): what the write path would store for them."""
    image = catalogue_image(item)
    return {
        "ART_CODE": item.sku,
        "ART_DESC1": item.name,
        profile.article_short_description_field: item.short_description,
        profile.article_long_description_field: item.long_description,
        "AG_CODE": item.group_code,
        "ART_UNIT": "ST",
        "PX_SELL": float(item.price_excl),
        "COST_PX": float((item.price_excl * Decimal("0.55")).quantize(Decimal("0.01"))),
        profile.article_vat_field: VAT_BY_RATE.get(item.vat_rate, "H1"),
        profile.article_ean_field: item.ean,
        profile.article_weight_field: float(item.weight),
        profile.article_webshop_field: item.webshop,
        profile.article_parent_field: item.parent_sku,
        profile.article_size_field: item.size,
        profile.article_colour_field: item.colour,
        "CNT_ORIG": item.origin,
        profile.article_image_name_field: item.image_name,
        profile.article_image_data_field: encode_image(image, profile) if image else "",
        profile.article_available_field: float(technical),
        profile.article_technical_field: float(technical),
        profile.article_stock_managed_field: managed,
    }


def seed_articles(sandbox: Sandbox, rows: Iterable[Row]) -> int:
    """Store catalogue rows directly, as the API's write path would store them (a test holds the two
    equal): 100,000 articles in seconds, where the write path would take minutes. The rows' values must be
    what the columns hold already, as `catalogue_values` gives them."""
    now = format_when(sandbox.clock())
    template = sandbox.new_row("ARTICLE") | {"INP_DATE": now, "CNG_DATE": now}
    count = 0
    with sandbox.lock:
        table = sandbox.tables["ARTICLE"]
        for values in rows:
            row = template | values
            stock.refresh_free(sandbox, row)
            table[row["ART_CODE"]] = row
            count += 1
        sandbox.changed()
    return count


def add_article(sandbox: Sandbox, values: Row) -> Row:
    """A new article through the API's write path (validated like any POST)."""
    return _write(sandbox, values, update=False)


def change_article(sandbox: Sandbox, code: str, values: Row) -> Row:
    """An edit of the article in AccountView (validated; moves `CNG_DATE`, as every edit does)."""
    return _write(sandbox, {**values, "ART_CODE": code}, update=True)


def _write(sandbox: Sandbox, values: Row, *, update: bool) -> Row:
    bo = sandbox.business_object(sandbox.profile.article_bo)
    body = write_body(sandbox.dictionary, bo.code, bo.header, values, {}, book_date=None)
    row = sandbox.write(body, update=update)[bo.header][0]
    with sandbox.lock:
        stock.refresh_free(sandbox, sandbox.tables["ARTICLE"][row["ART_CODE"]])
        return dict(sandbox.tables["ARTICLE"][row["ART_CODE"]])


def force_values(sandbox: Sandbox, code: str, values: Row, *, create: bool = False) -> Row:
    """Store `values` on the article exactly as given, unvalidated, without touching `CNG_DATE` (bad data
    on purpose). With `create`, a new article with the dictionary's defaults is made first."""
    with sandbox.lock:
        table = sandbox.tables["ARTICLE"]
        if code not in table:
            if not create:
                raise ApiError(f"article {code!r} does not exist", status=404)
            now = format_when(sandbox.clock())
            table[code] = sandbox.new_row("ARTICLE") | {"ART_CODE": code, "INP_DATE": now, "CNG_DATE": now}
        table[code].update(values)
        sandbox.changed()
        return dict(table[code])


# --- bad input on purpose ------------------------------------------------------------------------------------

BAD_CASES = {
    "missing_code": "an article without a code (no SKU)",
    "duplicate_code": "a second article whose code differs from an existing one only in case",
    "duplicate_ean": "an article with the EAN of another article",
    "invalid_ean": "an EAN-13 whose check digit is wrong",
    "long_name": "a name of 300 characters (longer than the shop takes)",
    "negative_price": "a sales price of -5.00",
    "absurd_price": "a sales price of 99,999,999.99",
    "not_an_image": "image data that decodes, but to text, not an image",
    "undecodable_image": "image data that is not valid in the profile's encoding",
    "huge_image": "a 20 MB image (a PNG header followed by 20 MB)",
    "stock_empty": "available stock empty (null)",
    "stock_text": "available stock 'veel' (not a number)",
    "stock_absurd": "available stock 1e12",
    "variant_missing_size": "a variant of a group without a size",
    "variant_duplicate": "a variant with the same size and colour as another of its group",
}


def add_bad_articles(sandbox: Sandbox, cases: Iterable[str] | None = None) -> dict[str, list[str]]:
    """One article per named case of `BAD_CASES` (all when None); returns case → the article codes it
    made (codes `BAD-<CASE>`; a variant case adds to its own group `BADGROUP-<n>`)."""
    wanted = list(BAD_CASES) if cases is None else list(cases)
    unknown = [c for c in wanted if c not in BAD_CASES]
    if unknown:
        raise ApiError(f"unknown bad-input case(s) {', '.join(unknown)}; known: {', '.join(BAD_CASES)}")
    made: dict[str, list[str]] = {}
    for number, case in enumerate(wanted, start=1):
        made[case] = _bad(sandbox, case, number)
    return made


def _bad(sandbox: Sandbox, case: str, number: int) -> list[str]:
    profile = sandbox.profile
    code = f"BAD-{case.upper().replace('_', '-')}"[:20]
    first12 = f"20{number:010d}"
    base: Row = {
        "ART_CODE": code,
        "ART_DESC1": f"Testartikel {case}"[:40],
        "AG_CODE": "WONEN",
        "PX_SELL": Decimal("10.00"),
        profile.article_vat_field: "H1",
        profile.article_ean_field: first12 + ean13_check_digit(first12),
        profile.article_webshop_field: True,
        profile.article_stock_managed_field: True,
        profile.article_available_field: 5,
        profile.article_technical_field: 5,
    }
    # duplicate_code copies the first article, duplicate_ean the second's EAN: each case a duplicate of one
    existing, second = (list(islice(sandbox.tables["ARTICLE"].values(), 2)) + [None, None])[:2]
    if case == "missing_code":
        force_values(sandbox, "", {**_stored(base), "ART_CODE": ""}, create=True)
        return [""]
    if case == "duplicate_code":
        if existing is None:
            raise ApiError("duplicate_code needs an article to copy: seed first", status=409)
        twin = str(existing["ART_CODE"]).lower()
        force_values(sandbox, twin, {**existing, "ART_CODE": twin}, create=True)
        return [twin]
    if case in ("huge_image", "not_an_image", "undecodable_image"):
        data = {
            "huge_image": b"\x89PNG\r\n\x1a\n" + bytes(20 * 1024 * 1024),
            "not_an_image": b"Dit is geen afbeelding, maar tekst.",
        }.get(case)
        encoded = encode_image(data, profile) if data is not None else "!!! geen base64 !!!"
        force_values(sandbox, code, {**_stored(base), profile.article_image_name_field: f"{case}.png",
                                     profile.article_image_data_field: encoded}, create=True)
        return [code]
    if case.startswith("variant_"):
        return _bad_variants(sandbox, base, case, number)
    changes: dict[str, Row] = {
        "duplicate_ean": {profile.article_ean_field: str((second or base)[profile.article_ean_field])},
        "invalid_ean": {profile.article_ean_field: first12 + str((int(ean13_check_digit(first12)) + 1) % 10)},
        "long_name": {"ART_DESC1": ("Een heel erg lange artikelnaam " * 10)[:300]},
        "negative_price": {"PX_SELL": -5.0},
        "absurd_price": {"PX_SELL": 99_999_999.99},
        "stock_empty": {profile.article_available_field: None},
        "stock_text": {profile.article_available_field: "veel"},
        "stock_absurd": {profile.article_available_field: 1e12},
    }
    force_values(sandbox, code, {**_stored(base), **changes[case]}, create=True)
    return [code]


def _bad_variants(sandbox: Sandbox, base: Row, case: str, number: int) -> list[str]:
    """A variant group of two good variants and the bad one."""
    profile = sandbox.profile
    parent = f"BADGROUP-{number}"
    variants = [("S", "rood"), ("M", "rood"), ("" if case == "variant_missing_size" else "S", "rood")]
    codes = []
    for index, (size, colour) in enumerate(variants):
        code = f"{parent}-{index + 1}"
        first12 = f"21{number:05d}{index:05d}"
        add_article(sandbox, {
            **base,
            "ART_CODE": code,
            "ART_DESC1": f"Testshirt {colour} {size}".strip(),
            "AG_CODE": "SHIRTS",
            profile.article_ean_field: first12 + ean13_check_digit(first12),
            profile.article_parent_field: parent,
            profile.article_size_field: size,
            profile.article_colour_field: colour,
        })
        codes.append(code)
    return codes


def _stored(values: Row) -> Row:
    """Values as a row stores them (numbers as floats), for rows made with `force_values`."""
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in values.items()}
