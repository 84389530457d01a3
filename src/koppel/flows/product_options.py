"""Attributes as MijnWebwinkel option lists: each attribute's list found by name (or by the id the settings
give), its options found by name or added once and reused, and the variants' prices expressed the way the
API can: a base price on the article plus a surcharge per option.

The API cannot create an option list (no POST /articlelists): a missing list parks the product, saying to
make it in the shop's admin once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from decimal import Decimal

from koppel.connectors.mijnwebwinkel.catalogue import match_key
from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.errors import NeedsAttention
from koppel.flows.product_grouping import Place
from koppel.flows.products_settings import Grouping
from koppel.reasons import reason

CENT = Decimal("0.01")  # prices incl. VAT rounded per variant may differ this much from base + surcharges


class OptionLists:
    """The shop's option lists of one run: ids by name, and option ids by list and name."""

    def __init__(self, shop: MijnWebwinkelClient, grouping: Grouping, find_list: Callable[[str], int | None]) -> None:
        self.shop = shop
        self.grouping = grouping
        self.find_list = find_list  # the shop's list id for a name (one scan of the shop per run)
        self._options: dict[int, dict[str, int]] = {}
        self._lock = threading.Lock()  # adding options is GET then POST: one at a time, never twice

    def list_id(self, name: str) -> int:
        attribute = next(a for a in self.grouping.attributes if a.list_name == name)
        found = attribute.list_id or self.find_list(name)
        if found is None:
            raise NeedsAttention(
                reason("The shop has no option list named {list}, and the API can't make one. Create it once in "
                       "MijnWebwinkel's admin (an option list on any article), or give its id in the products "
                       "settings (variants.attributes.list_id), then retry.", list=repr(name)),
                field="variants.attributes.list_name",
                value=name,
            )
        return found

    def option_ids(self, list_id: int, names: Sequence[str]) -> dict[str, int]:
        """{name: option id} for every name, adding the ones the list lacks (1 GET + 1 POST when some are
        new; nothing once a run has seen them)."""
        with self._lock:
            known = self._options.get(list_id, {})
            if any(match_key(n) not in known for n in names):
                current = self.shop.ensure_list_options(list_id, {n: None for n in names})
                known = {match_key(o.name): o.id for o in current.options if o.id is not None}
                self._options[list_id] = known
        missing = [n for n in names if match_key(n) not in known]
        if missing:
            raise NeedsAttention(reason("option list {list} did not take the options {missing}", list=list_id,
                                        missing=str(missing)), field="lists")
        return {n: known[match_key(n)] for n in names}


def surcharges(key: str, grouping: Grouping, prices: Sequence[tuple[str, Place, Decimal]]
               ) -> tuple[Decimal, dict[tuple[str, str], Decimal], list[str]]:
    """The base price and a surcharge per (option list, value) that give every variant its own price, and
    the variants that end a cent off (prices incl. VAT are rounded per article, surcharges once); or
    NeedsAttention naming the variants whose prices no such split gives (the API prices options, not
    combinations). `prices`: (article code, place, shop price) per variant."""
    base = min(price for _, _, price in prices)
    extra: dict[tuple[str, str], Decimal] = {}
    for index, attribute in enumerate(grouping.attributes):  # each list takes what the earlier ones left
        earlier = grouping.attributes[:index]
        for _, place, price in prices:
            rest = price - base - sum((extra[(a.list_name, place.options[a.list_name])] for a in earlier), Decimal(0))
            option = (attribute.list_name, place.options[attribute.list_name])
            extra[option] = min(extra.get(option, rest), rest)
    off = {code: base + sum(extra[(n, v)] for n, v in place.options.items()) - price for code, place, price in prices}
    wrong = [f"{code} ({price})" for code, _, price in prices if abs(off[code]) > CENT]
    if wrong:
        raise NeedsAttention(
            reason("Variant product {product}: the shop prices a variant as the base price plus a surcharge per "
                   "option, and no such surcharges give these variants their AccountView price: {variants}. Make the "
                   "price differences per option (e.g. every XL costs the same more), then retry.",
                   product=key, variants=", ".join(wrong)),
            field="ARTICLE.PX_SELL",
            value=key,
        )
    return base, extra, sorted(code for code, difference in off.items() if difference)
