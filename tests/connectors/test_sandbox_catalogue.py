"""The shared demo catalogue: deterministic, the same items whatever the size, variant groups a products
flow can group (by parent code or by code pattern), valid and unique EANs, a group tree, real images."""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections import defaultdict

from koppel.connectors.sandbox_catalogue import (
    GROUPS,
    catalogue,
    catalogue_image,
    catalogue_item,
    ean13_check_digit,
    is_valid_ean13,
    iter_catalogue,
)


def test_known_check_digits() -> None:
    assert ean13_check_digit("400638133393") == "1"  # a published EAN-13: 4006381333931
    assert ean13_check_digit("978030640615") == "7"  # ISBN-13 9780306406157
    assert is_valid_ean13("4006381333931") and not is_valid_ean13("4006381333932")
    assert not is_valid_ean13("400638133393") and not is_valid_ean13("40063813339a1")


def test_deterministic_and_independent_of_size() -> None:
    small, large = catalogue(4, 70), catalogue(4, 700)
    assert small == catalogue(4, 70) and large[:70] == small
    assert catalogue(5, 70) != small
    assert catalogue_item(4, 65) == large[65]
    assert catalogue(1, 1)[0].sku == "KP-001-00001"  # the orders flow's tests name it


def test_ten_percent_are_variants_in_groups_of_six_with_distinct_combinations() -> None:
    items = catalogue(2, 600)
    groups: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for item in items:
        if item.parent_sku:
            groups[item.parent_sku].append((item.sku, item.size, item.colour))
    assert sum(len(v) for v in groups.values()) == 60 and len(groups) == 10
    for parent, variants in groups.items():
        assert len({(size, colour) for _, size, colour in variants}) == 6
        for sku, size, colour in variants:
            # the code pattern: parent, colour, size, separated by "-" (SHIRT-0001-ROOD-M)
            assert sku.rsplit("-", 2) == [parent, colour.upper(), size]
    simple = [i for i in items if not i.parent_sku]
    assert all(not i.size and not i.colour for i in simple)
    assert all(i.sku.startswith("KP-") for i in simple)  # a code pattern never mistakes a simple article


def test_variant_prices_differ_only_by_the_size_surcharge() -> None:
    shirts = [i for i in catalogue(3, 60) if i.parent_sku]
    by_size = {i.size: i.price_excl for i in shirts if i.colour == "rood"}
    assert by_size["M"] == by_size["S"] and by_size["L"] - by_size["S"] == 1.5
    assert len({i.name.rsplit(" ", 2)[0] for i in shirts}) == 1  # one product name for the group


def test_eans_valid_and_unique_skus_unique() -> None:
    items = catalogue(9, 3000)
    assert all(is_valid_ean13(i.ean) for i in items)
    assert len({i.ean for i in items}) == len({i.sku for i in items}) == 3000


def test_groups_form_a_tree_and_every_item_has_a_known_group() -> None:
    codes = {g.code for g in GROUPS}
    assert all(g.parent in codes for g in GROUPS if g.parent)
    assert any(g.parent for g in GROUPS) and any(not g.parent for g in GROUPS)
    assert {i.group_code for i in catalogue(1, 600)} <= codes


def test_images_are_valid_pngs_of_their_own() -> None:
    items = catalogue(1, 80)
    with_image = [i for i in items if i.image_name]
    assert 0.7 < len(with_image) / len(items) < 0.85
    assert catalogue_image(next(i for i in items if not i.image_name)) == b""
    hashes = set()
    for item in with_image:
        png = catalogue_image(item)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and item.sku.encode() in png
        hashes.add(hashlib.sha256(png).hexdigest())
        _check_png_chunks(png)
    assert len(hashes) == len(with_image)


def _check_png_chunks(png: bytes) -> None:
    at, kinds = 8, []
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + data)
        if kind == b"IDAT":
            assert len(zlib.decompress(data)) == 8 * (1 + 8 * 3)
        kinds.append(kind)
        at += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"tEXt", b"IEND"]


def test_demo_size_has_a_full_variant_product_images_and_webshop_exceptions() -> None:
    demo = catalogue(1, 40)  # `koppel demo`'s size
    assert sum(1 for i in demo if i.parent_sku == "SHIRT-0001") == 6
    assert any(i.image_name for i in demo) and any(not i.webshop for i in demo)


def test_a_large_catalogue_streams() -> None:
    stream = iter_catalogue(1, 100_000)
    first = next(stream)
    assert first.sku == "KP-001-00001" and not isinstance(stream, list)
