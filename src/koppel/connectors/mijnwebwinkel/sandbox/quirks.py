"""The live-API quirks (NOTES §7.3, §8.1) as switches, applied only when the sandbox serialises a response.

State is always kept in the spec's shape; each switch bends one thing on the way out, so a client can be
tested against both the documented and the observed shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from koppel.connectors.sandboxkit import QuirkSwitches


@dataclass
class Quirks(QuirkSwitches):
    number_as_string: bool = True  # order `number` "1042" instead of 1042
    single_tax_as_object: bool = True  # `price.tax` / line `price` with one rate as an object, not a list
    empty_map_as_list: bool = True  # empty maps (`extra.visible`, `shipping[].country`) as []
    omit_empty_images: bool = True  # articles without images have no `images` key
    variant_options_as_map: bool = False  # variant `options` as {"<list_id>": "<name>"} (official example)
    wrap_tax_regions: bool = True  # GET /tax-policy/regions as {"regions": […]} (seen live)
    test_number_marker: bool = True  # a test order's `number` "T-1042" (NOTES §7.9, S10) instead of 1042
    # Behaviour the references leave open or contradict, switchable so clients pass under both readings:
    variant_stock_unlimited: bool = False  # variants accept and show `stock: null` (changelog 1.0.2; not the spec)
    images_patch_merges: bool = False  # PATCH `images` keeps images it does not name (NOTES §10.9: unknown)
    # An article's `stock: null` makes its variants unlimited too, whatever their own stock; off (the
    # reading of NOTES §8.3's example and "stock is per variants[] entry"): a variant keeps its own stock.
    article_stock_null_frees_variants: bool = False

    # -------------------------------------------------------------------------------- applying

    def _empty_map(self) -> Any:
        return [] if self.empty_map_as_list else {}

    def _prices(self, parts: list[dict[str, Any]]) -> Any:
        if self.single_tax_as_object and len(parts) == 1:
            return parts[0]
        return parts

    def article(self, article: dict[str, Any]) -> dict[str, Any]:
        extra = article.get("extra") or {}
        article["extra"] = {bucket: (extra.get(bucket) or self._empty_map()) for bucket in ("visible", "invisible")}
        if not article.get("images"):
            if self.omit_empty_images:
                article.pop("images", None)
            else:
                article["images"] = []
        if self.variant_options_as_map:
            for variant in article.get("variants", []):
                variant["options"] = {str(o["list_id"]): o["name"] for o in variant["options"]}
        return article

    def order(self, order: dict[str, Any]) -> dict[str, Any]:
        number = order["number"]
        if isinstance(number, str) and number[:2] == "T-" and number[2:].isdigit() and not self.test_number_marker:
            order["number"] = int(number[2:])  # test orders are kept as "T-1042"; the spec says integer
        elif self.number_as_string:
            order["number"] = str(number)
        price = order.get("price")
        if price is not None:
            price["tax"] = self._prices(price["tax"])
        for line in order.get("orderlines", []):
            line["price"] = self._prices(line["price"])
        for entry in order.get("shipping", []):
            if not entry.get("country"):
                entry["country"] = self._empty_map()
        return order

    def tax_regions(self, regions: list[dict[str, Any]]) -> Any:
        return {"regions": regions} if self.wrap_tax_regions else regions
