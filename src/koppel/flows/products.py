"""The products flow: AccountView articles into the MijnWebwinkel shop, simple and variant, with categories,
images, attributes and features.

The recipe (`ProductsFlow`):
 1. fetch: the article groups whose category is new or changed (their units go first), then the articles
    changed since the cursor (all with --full), page by page, only the columns the maps read; an article
    whose mapped record hashes to what was last sent is no unit at all (an unchanged catalogue writes
    nothing and reads only list pages);
 2. group: each article goes to its shop product: a simple article is its own, a variant article its
    parent's (the settings' grouping rule); a variant product is checked whole before anything is written;
 3. skip: an article blocked in AccountView, left the selection or gone is hidden in the shop (a setting:
    hide or leave; never deleted); a variant blocked (under "hide"), gone (seen by a full read, or by the read
    of its whole group) or moved to another product leaves its combination unorderable (no stock, no
    backorder: the API can't delete or switch off a variant) and, unless blocked, its link retired; under
    "leave" a blocked variant's shop variant stays as it is; up to date? skip;
 4. dependencies: the category of its article group (made now if it has none yet), the option lists and
    options of its attributes (found by name, options added once);
 5. map through the one mapper (`product_mapping.py`) and validate everything (EAN, price, lengths, image,
    the group's combinations and prices) before the first write: a parked product leaves nothing behind;
 6. write: linked → update what the merchant has not taken over (update-product-info switch, only_create);
    not linked → found in the shop by SKU (or EAN) and linked, else created (a lost answer is found again by
    SKU, never created twice); its image uploaded when its content changed, our previous one removed;
 7. link (products, variants "<article id>/<variant id>", categories, images), record the activity, and
    the runner moves the cursor only past what was processed.

Running it is the runner's: this module declares the flow (`PRODUCTS`, entity "product"), `koppel sync
products` runs it. Units are product keys (an article code, or a variant product's parent code) and
`category:<AG_CODE>` for categories; what the runner stores between steps is keys and outcomes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any, cast

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import Article, ArticleSelection
from koppel.connectors.mijnwebwinkel.catalogue import ArticleIndex
from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.connectors.mijnwebwinkel.images import check_image, content_hash, image_filename
from koppel.connectors.mijnwebwinkel.models import Article as ShopArticle
from koppel.connectors.mijnwebwinkel.models import ArticleInput, VariantInput
from koppel.errors import NeedsAttention, Outcome, RetryableError
from koppel.flows.links import Link, Record
from koppel.flows.product_articles import BooksArticles
from koppel.flows.product_categories import CATEGORY, Categories, links_by_key
from koppel.flows.product_grouping import Grouper, Place, check_group
from koppel.flows.product_mapping import ProductMaps, body, payload_hash, starting_stock
from koppel.flows.product_options import OptionLists, surcharges
from koppel.flows.products_settings import ProductsSettings
from koppel.mapping import Mode
from koppel.reasons import Reason, fixed_in, joined, reason
from koppel.sync.clients import IntegrationClients
from koppel.sync.links import BulkLinks, Links, SourceKeys, TargetLinks
from koppel.sync.runner import Flow, declare

ENTITY = "product"  # source: article code, or a variant product's parent code; target: shop article id
VARIANT = "variant"  # source: a variant's article code; target: "<article id>/<variant id>"
VARIANT_PRODUCT = "variant-product"  # source: parent code of a product made of variants; target: article id
IMAGE = "image"  # source: product key; target: our image's file name on the article; hash: its content's
HIDDEN = "hidden"  # source: product key of a product we hid (blocked, left the selection, gone)
CATEGORY_UNIT = "category:"
NO_CODE = "(no code)"  # the unit of AccountView articles without a code: nothing can link them
PAGE = 1000  # articles looked at together in fetch (one links read each)
# Settings that change when runs happen, not what a product becomes: changing them re-sends nothing.
_NOT_HASHED = {"enabled", "interval_seconds", "overlap_minutes"}
HALF = 32  # a link's hash: what AccountView held (first half), what an update sends (second half)


def _pages(articles: Iterator[Article], size: int) -> Iterator[list[Article]]:
    while page := list(islice(articles, size)):
        yield page


class ProductsFlow:
    """One run of the products flow for one integration: the recipe, and the reference data it reads once."""

    def __init__(self, shop: MijnWebwinkelClient, books: AccountViewClient, settings: ProductsSettings, links: Links,
                 *, mapping_overrides: dict[str, Any] | None = None) -> None:
        self.shop = shop
        self.books = books
        self.settings = settings
        self.links = cast(BulkLinks, links)
        self.grouper = Grouper(settings.variants)
        kind = "webshop" if settings.select == "flag" else settings.select
        self.selection = ArticleSelection(kind=kind, groups=tuple(settings.groups))
        self.overrides = mapping_overrides or {}
        self.options = OptionLists(shop, settings.variants, lambda name: self._shop_index().option_list_id(name))
        self._ready = False
        self._index: ArticleIndex | None = None
        self._unlinked: set[str] = set()
        self._variant_keys: set[str] = set()
        self._duplicate_eans: dict[str, str] = {}
        self._duplicate_codes: dict[str, list[str]] = {}
        self._codeless: list[str] = []
        self._maybe_made: set[str] = set()
        self._moments: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- reference data, read once per run --------------------------------------------------------------

    def _prepare(self) -> None:
        with self._lock:
            if self._ready:
                return
            store = self.shop.store()
            rates = {v.code: v.percentage for v in self.books.vat_codes()}
            self.maps = ProductMaps(self.settings, self.overrides,
                                    prices_include_tax=store.prices_include_tax, vat_rates=rates)
            self.categories = Categories(self.shop, self.links, self.settings, self.maps, self.books.article_groups())
            # Image data is read with the list pages only when an update may send images (the switch): it makes
            # pages heavy; without the switch a product gets its image when it is created, read then.
            self.images_in_fetch = self.settings.images and self.settings.update_product_info
            self.articles = BooksArticles(self.books, self.grouper, self.maps.columns(), images=self.images_in_fetch)
            profile = self.books.profile
            stock = {profile.article_available_field, profile.article_reserved_field, profile.article_free_field,
                     profile.article_technical_field, "CNG_DATE"}
            self.hashed_columns = [c for c in self.articles.fields if c.upper() not in stock]
            self.maps_print = payload_hash([self.maps.article_map.model_dump(mode="json"),
                                            self.maps.category_map.model_dump(mode="json"),
                                            self.settings.model_dump(mode="json", exclude=_NOT_HASHED),
                                            store.prices_include_tax,
                                            sorted((k, str(v)) for k, v in rates.items())])
            self._ready = True

    # -- 1. fetch -------------------------------------------------------------------------------------------

    def fetch(self, cursor: str | None) -> list[tuple[str, str]]:
        """Changed categories first, then the products with an article changed since `cursor` whose mapped
        record differs from what was last sent (oldest first)."""
        self._prepare()
        since = None
        if cursor:
            since = datetime.fromisoformat(cursor) - timedelta(minutes=self.settings.overlap_minutes)
        units = [(CATEGORY_UNIT + code, cursor or "") for code in self.categories.changed()]
        changed: dict[str, str] = {}
        seen = _Seen()
        for page in _pages(self.articles.changed(since), PAGE):
            self._look_at(page, changed, seen)
        self._duplicate_eans, self._duplicate_codes = seen.shared, seen.twins
        if cursor is None:  # a full read saw every article: a linked product or variant it did not see was removed
            for key in self._removed(seen, changed):
                changed[key] = ""
            for key in self._lost_a_variant(seen):
                changed.setdefault(key, "")
        for key in {k for codes in self._duplicate_codes.values() for k in codes} | set(self._duplicate_eans):
            changed.setdefault(key.upper(), cursor or "")
        templates = links_by_key(self.links, VARIANT_PRODUCT, [k for k in changed if k not in self._variant_keys])
        self._variant_keys |= set(templates)
        linked = links_by_key(self.links, ENTITY, list(changed))
        self._unlinked = {k for k in changed if k not in linked}
        products = sorted(changed.items(), key=lambda item: (item[1], item[0]))
        self.articles.expect([key for key, _ in products])
        if self._codeless:
            products.append((NO_CODE, products[-1][1] if products else cursor or ""))
        return units + products

    def _removed(self, seen: _Seen, changed: dict[str, str]) -> list[str]:
        """Linked products none of whose articles AccountView has any more (and not hidden yet)."""
        linked = cast(SourceKeys, self.links).source_keys(ENTITY)
        hidden = set(links_by_key(self.links, HIDDEN, linked))
        return [k for k in linked if k not in seen.codes and k not in seen.products and k not in changed
                and k not in hidden]

    def _lost_a_variant(self, seen: _Seen) -> list[str]:
        """Variant products with a linked variant whose article a full read did not see (removed from
        AccountView): each is rebuilt from a read of its whole group, which retires that variant."""
        gone = [code for code in cast(SourceKeys, self.links).source_keys(VARIANT) if code.upper() not in seen.codes]
        articles = {link.target_key.partition("/")[0] for link in links_by_key(self.links, VARIANT, gone).values()}
        owners = [cast(TargetLinks, self.links).find_by_target(VARIANT_PRODUCT, a) for a in sorted(articles)]
        found = [owner.source_key for owner in owners if owner is not None]
        self._variant_keys |= set(found)
        return found

    def _look_at(self, page: list[Article], changed: dict[str, str], seen: _Seen) -> None:
        codes = [a.code for a in page if a.code]
        as_product, as_variant = links_by_key(self.links, ENTITY, codes), links_by_key(self.links, VARIANT, codes)
        leaving: list[tuple[str, Place, str]] = []  # (shop article a linked variant was in, its place now, moment)
        for article in page:
            if not article.code:
                self._codeless.append(article.description or "(no name)")
                continue
            place = self.grouper.place(article.row)
            seen.add(article, place)
            link = as_variant.get(article.code) if place.variant else as_product.get(article.code)
            reshaped = article.code in (as_product if place.variant else as_variant)
            if link is None and not reshaped and not self._wanted(article):
                continue  # never in the shop, and not meant to be
            if link is not None and not reshaped and link.payload_hash[:HALF] == self._fingerprint(article, place):
                continue  # as last sent
            moment = article.changed_at.isoformat() if article.changed_at else ""
            moment = self._moments.setdefault(moment, moment)  # many articles share a moment: one string
            changed[place.product] = max(changed.get(place.product, ""), moment)
            if place.variant:
                self._variant_keys.add(place.product)
            if article.code in as_variant:
                leaving.append((as_variant[article.code].target_key.partition("/")[0], place, moment))
        if leaving:
            self._old_products_of(leaving, changed)

    def _old_products_of(self, leaving: list[tuple[str, Place, str]], changed: dict[str, str]) -> None:
        """A variant that moved to another parent (or became a simple article) leaves its old product: that
        product is rebuilt too, in the same run, so the variant is never in both."""
        owners = links_by_key(self.links, ENTITY, [place.product for _, place, _ in leaving if place.variant])
        for article_id, place, moment in leaving:
            owner = owners.get(place.product) if place.variant else None
            if owner is not None and owner.target_key == article_id:
                continue  # still in the same product
            old = cast(TargetLinks, self.links).find_by_target(VARIANT_PRODUCT, article_id)
            if old is not None and old.source_key != place.product:
                changed[old.source_key] = max(changed.get(old.source_key, ""), moment)
                self._variant_keys.add(old.source_key)

    def _fingerprint(self, article: Article, place: Place) -> str:
        """The hash of what the maps read of an article (stock figures and its change date left out), where
        it goes, and the maps and settings themselves: the same hash means the same mapped record, as the
        mapping is pure. Half a link's hash; cheap enough for every article of a full run."""
        row = {name: article.row.get(name) for name in self.hashed_columns}
        image = article.image.content_hash if self.images_in_fetch and article.image else None
        return payload_hash({"row": row, "image": image, "place": [place.product, place.options],
                             "maps": self.maps_print})[:HALF]

    def _wanted(self, article: Article) -> bool:
        return not article.blocked and self.selection.matches(article)

    def _problems(self, article: Article) -> dict[str, str]:
        """Values AccountView holds that are not what their field holds, except stock figures (the stock
        flow's)."""
        profile = self.books.profile
        stock = {f"ARTICLE.{f}" for f in (profile.article_available_field, profile.article_reserved_field,
                                          profile.article_free_field, profile.article_technical_field)}
        return {where: why for where, why in article.problems.items() if where not in stock}

    # -- one unit -------------------------------------------------------------------------------------------

    def sync(self, key: str, *, claimer: str = "") -> Record:
        """Send, skip or park one product (or category), and say what happened."""
        self._prepare()
        with self.categories.claiming_as(claimer):  # a category made now is claimed by this unit
            return self._sync(key)

    def _sync(self, key: str) -> Record:
        if key.startswith(CATEGORY_UNIT):
            return self.categories.sync(key.removeprefix(CATEGORY_UNIT))
        if key == NO_CODE:
            return self._codeless_articles()
        articles: list[Article] = []
        try:
            lead = self.articles.article(key)
            members = self.articles.members(key) if self._may_have_variants(key) else []
            articles = [a for a in [lead, *members] if a is not None]
            if members:
                return self._send_variant_product(key, lead, members)
            if lead is None:
                return self._gone(key)
            return self._send_simple(lead)
        except NeedsAttention as error:  # a field that is a setting (variants, category_parents): it fixes it
            setting = error.field if error.field in ProductsSettings.model_fields else None
            return Record(ENTITY, key, error.outcome, fixed_in(setting, str(error)),
                          payload_in=self._payload_in(articles))

    def _may_have_variants(self, key: str) -> bool:
        return self.grouper.enabled and (key in self._variant_keys or not self.articles.expected(key))

    # -- a simple product -----------------------------------------------------------------------------------

    def _send_simple(self, article: Article) -> Record:
        key = article.code.upper()
        payload_in = self._payload_in([article])
        notes = self._leave_variant_product(key)
        link = self.links.find(ENTITY, key)
        fingerprint = self._fingerprint(article, Place(key))
        # 3. skip
        if not self._wanted(article):
            return self._hide(key, link, self._why_not_wanted(article), fingerprint, payload_in)
        if link is not None and link.payload_hash[:HALF] == fingerprint and not notes and not self._hidden(key):
            return Record(ENTITY, key, Outcome.SKIPPED, _UP_TO_DATE, link.target_key, payload_in=payload_in)
        # 4.–5. dependencies, map and validate: nothing is written before all is known to fit
        self._check(article)
        image = self._image(article)
        target = link.target_key if link is not None else self._found_in_shop(key, article.ean)
        mode: Mode = "update" if target else "create"
        mapped = self.maps.article(article, sku=key, variant_product=False, mode=mode)
        sent = body(mapped)
        category = self._category_id(article) if mode == "create" or self.settings.update_product_info else None
        sent_print = self._sent_print(article, Place(key), key, category, image, variant_product=False)
        if (link is not None and link.payload_hash[HALF:] == sent_print and not notes and not self._hidden(key)
                and not self._image_due(key, image)):
            self.links.remember_sent(ENTITY, key, fingerprint + sent_print)
            return Record(ENTITY, key, Outcome.SKIPPED, _OWNED, link.target_key, payload_in=payload_in)
        # 6. write
        shop_article: ShopArticle | None
        if target is None:
            shop_article = self._create(key, sent, category)
            how = reason("created")
        else:
            shop_article = self._update(int(target), sent, category)
            how = reason("updated") if link is not None else reason("found in the shop by its SKU and linked,")
        article_id = str(shop_article.id) if shop_article else str(target)
        # 7. link, then what hangs on it
        self.links.write(ENTITY, key, article_id)  # its hash follows once all that hangs on it is done
        notes += self._send_image(key, int(article_id), image, fresh=target is None)
        notes += self._show_again(key, int(article_id))
        self.links.remember_sent(ENTITY, key, fingerprint + sent_print)
        sent_reason = reason("{how} shop article {article}{notes}", how=how, article=article_id,
                             notes=joined(notes + mapped.warnings, "", before="; "))
        return Record(ENTITY, key, Outcome.SENT, sent_reason, article_id, payload_in=payload_in,
                      payload_out=self._payload_out(sent, category, image), link=True)

    def _sent_print(self, lead: Article, place: Place, key: str, category: int | None, image: bytes | None, *,
                    variant_product: bool, extra: Any = None) -> str:
        """The hash of what an update sends (the other half of a link's hash): when AccountView changed only
        fields the shop owns, an update would send the same, so nothing is sent."""
        update = self.maps.article(lead, sku=key, variant_product=variant_product, mode="update").row
        owned = self.settings.update_product_info
        return payload_hash({"update": update, "extra": extra, "wanted": self._wanted(lead),
                             "category": category if owned else None,
                             "image": content_hash(image) if owned and image else None})[:HALF]

    def _codeless_articles(self) -> Record:
        names = ", ".join(repr(n) for n in self._codeless[:5]) + (" …" if len(self._codeless) > 5 else "")
        return Record(ENTITY, NO_CODE, Outcome.NEEDS_ATTENTION,
                      reason("AccountView has {count} article(s) without a code (ARTICLE.ART_CODE): {names}. The code "
                             "is the shop's SKU and what links the article: give each one a code in AccountView.",
                             count=len(self._codeless), names=names))

    def _check(self, article: Article) -> None:
        problems = self._problems(article)
        if problems:
            listed = "; ".join(f"{where}: {why}" for where, why in problems.items())
            raise NeedsAttention(reason("Article {article}: {problems}. Correct the article in AccountView.",
                                        article=article.code, problems=listed),
                                 field=next(iter(problems)), value=article.code)
        twins = self._duplicate_codes.get(article.code.upper())
        if twins:
            raise NeedsAttention(
                reason("Article code {code} is in AccountView {count} times ({twins}): the code is the shop's SKU, "
                       "one article each. Correct the codes (ARTICLE.ART_CODE) in AccountView.",
                       code=article.code.upper(), count=len(twins), twins=", ".join(twins)),
                field="ARTICLE.ART_CODE",
                value=article.code,
            )
        other = self._duplicate_eans.get(article.code)
        if other:
            raise NeedsAttention(
                reason("Article {article}: its EAN {ean} (ARTICLE.{field}) is also on article {other}; an EAN names "
                       "one article. Correct one of them in AccountView.", article=article.code, ean=article.ean,
                       field=self.books.profile.article_ean_field, other=other),
                field=f"ARTICLE.{self.books.profile.article_ean_field}",
                value=article.ean,
            )

    def _image(self, article: Article) -> bytes | None:
        """The article's image bytes, checked (an image, not too large) before anything is written."""
        if not self.settings.images or article.image is None:
            return None
        try:
            check_image(article.image.data, reason("the image of article {article}", article=article.code),
                        max_bytes=self.settings.max_image_bytes)
        except NeedsAttention as error:
            field = f"ARTICLE.{self.books.profile.article_image_data_field}"
            raise NeedsAttention(reason("{problem} ({field}). Correct the image in AccountView, then retry.",
                                        problem=str(error), field=field),
                                 field=field, value=article.code) from None
        return article.image.data

    def _category_id(self, article: Article) -> int:
        if article.group_code:
            return self.categories.category_id(article.group_code.strip().upper())
        if self.settings.default_category is not None:
            return self.settings.default_category
        raise NeedsAttention(
            reason("Article {article} has no article group (ARTICLE.AG_CODE), and the shop puts every article on a "
                   "category page. Give it a group in AccountView, or set a default category in the products "
                   "settings.", article=article.code),
            field="ARTICLE.AG_CODE",
            value=article.code,
        )

    def _create(self, key: str, sent: dict[str, Any], category: int | None) -> ShopArticle:
        """POST the article. A try whose answer was lost and not found by the client may still have made it:
        the next try in this run looks for it by SKU first (a 429 refused the call: nothing to look for)."""
        if key in self._maybe_made:
            found = self.shop.find_articles_by_sku([key], created_since=datetime.now() - timedelta(days=1)).get(key)
            if found and len(found) == 1:
                return self.shop.get_article(found[0].id)
        new = dict(sent, categories=[{"category_id": category, "is_main": True, "is_active": True}])
        try:
            return self.shop.create_article(ArticleInput.model_validate(new))
        except RetryableError as error:
            if error.status != 429:
                with self._lock:
                    self._maybe_made.add(key)
            raise

    def _update(self, article_id: int, sent: dict[str, Any], category: int | None) -> ShopArticle | None:
        """PATCH what changed hands; with the update-product-info switch, also put the article on its
        group's category page, off our other categories, leaving the merchant's own pages as they are."""
        shop_article = self.shop.update_article(article_id, ArticleInput.model_validate(sent)) if sent else None
        if category is not None:
            current = shop_article or self.shop.get_article(article_id)
            ours = {int(link.target_key) for link in self._category_links().values()}
            self.shop.set_categories(current, add=[category], remove=ours - {category}, main=category)
        return shop_article

    def _category_links(self) -> dict[str, Link]:
        return links_by_key(self.links, CATEGORY, list(self.categories.groups))

    def _found_in_shop(self, key: str, ean: str) -> str | None:
        """A product the shop has already (first sync, or a write whose link was lost): by SKU or EAN."""
        if self._unlinked and key not in self._unlinked:  # fetch saw it linked, and the link went since
            found_now = self.shop.find_articles_by_sku([key]).get(key) or []
            return str(found_now[0].id) if len(found_now) == 1 else None
        index = self._shop_index()
        if self.settings.match_on == "ean" and ean:
            found = index.article_id(ean=ean) or index.article_id(sku=key)
        else:
            found = index.article_id(sku=key)
        return None if found is None else str(found)

    def _shop_index(self) -> ArticleIndex:
        """One scan of the shop per run: its articles by SKU/EAN (only the ones this run may create) and its
        option lists by name."""
        with self._lock:
            if self._index is None:
                skus = self._unlinked or None
                eans: set[str] | None = None if self.settings.match_on == "ean" else set()
                self._index = self.shop.index_articles(skus=skus, eans=eans)
            return self._index

    def _image_due(self, key: str, image: bytes | None) -> bool:
        """An image goes when the product has none from us yet; a changed one replaces ours only with the
        update-product-info switch (images are the shop's to curate otherwise)."""
        if image is None:
            return False
        link = self.links.find(IMAGE, key)
        return link is None or (self.settings.update_product_info and link.payload_hash != content_hash(image))

    def _send_image(self, key: str, article_id: int, image: bytes | None, *, fresh: bool) -> list[str]:
        """Upload the image when it is due; remove the one we sent before. Images the merchant added stay.
        `fresh`: the article was created by this try, so it has no image of ours yet."""
        if image is None or not self._image_due(key, image):
            return []
        link = self.links.find(IMAGE, key)
        if link is None and fresh:  # the upload finds its own lost answer by the file name
            name = image_filename(key, image)
            self.shop.upload_image(article_id, name, image)
        else:  # an earlier try may have uploaded it and stopped before linking it: look on the article first
            name = self.shop.replace_image(article_id, key, image, previous=link.target_key if link else None)
        self.links.forget(IMAGE, key)
        self.links.write(IMAGE, key, name, content_hash(image))
        if link is None:
            return [reason("image {name} uploaded", name=name)]
        return [reason("image {name} uploaded, replacing {previous}", name=name, previous=link.target_key)]

    # -- visibility -----------------------------------------------------------------------------------------

    def _why_not_wanted(self, article: Article) -> Reason:
        if article.blocked:
            return reason("article {article} is blocked in AccountView", article=article.code)
        return reason("article {article} is no longer in the shop's selection ({select})", article=article.code,
                      select=self.settings.select)

    def _hidden(self, key: str) -> bool:
        return self.links.find(HIDDEN, key) is not None

    def _hide(self, key: str, link: Link | None, why: str, fingerprint: str, payload_in: Any) -> Record:
        if link is None:
            return Record(ENTITY, key, Outcome.SKIPPED, reason("{why}: not sent to the shop", why=why),
                          payload_in=payload_in)
        if self.settings.blocked == "leave":
            self.links.remember_sent(ENTITY, key, fingerprint + link.payload_hash[HALF:])
            return Record(ENTITY, key, Outcome.SKIPPED,
                          reason("{why}; the shop article is left as it is (settings)", why=why),
                          link.target_key, payload_in=payload_in)
        if not self._hidden(key):
            self.shop.set_visible(int(link.target_key), False)
            self.links.write(HIDDEN, key, link.target_key)
        self.links.remember_sent(ENTITY, key, fingerprint + link.payload_hash[HALF:])
        return Record(ENTITY, key, Outcome.SENT,
                      reason("{why}: shop article {article} hidden (not deleted)", why=why, article=link.target_key),
                      link.target_key, payload_in=payload_in, payload_out={"visible": False})

    def _show_again(self, key: str, article_id: int) -> list[str]:
        if not self._hidden(key):
            return []
        self.shop.set_visible(article_id, True)
        self.links.forget(HIDDEN, key)
        return [reason("shown again")]

    def _gone(self, key: str) -> Record:
        link = self.links.find(ENTITY, key)
        why = reason("article {article} is not in AccountView (any more)", article=key)
        if link is not None and self.links.find(VARIANT_PRODUCT, key) is not None:
            retired = self._retire_variants(self._strays(link.target_key, []))
            if retired:
                why = joined([why, *retired])
        return self._hide(key, link, why, "", None)

    # -- a variant product ----------------------------------------------------------------------------------

    def _send_variant_product(self, key: str, own: Article | None, members: list[Article]) -> Record:
        everyone = [a for a in [own, *members] if a is not None]
        payload_in = self._payload_in(everyone)
        places = {m.code: self.grouper.place(m.row) for m in members}
        active = [m for m in members if self._wanted(m)]
        link = self.links.find(ENTITY, key)
        own_print = self._fingerprint(own, Place(key)) if own is not None else ""
        if own is not None and self._wanted(own):
            lead = own
        elif active:  # no article of its own: the first variant, its option values taken out of its name
            lead = without_options(active[0], places[active[0].code])
        else:
            return self._hide(key, link, reason("every variant of {product} is blocked or left the selection",
                                                product=key), own_print, payload_in)
        prints = {m.code: self._fingerprint(m, places[m.code]) for m in members}
        variant_links = links_by_key(self.links, VARIANT, list(prints))
        was_simple = self._simple_products_among(members)
        moved = [m.code for m in members if m.code in variant_links and link is not None
                 and variant_links[m.code].target_key.split("/")[0] != link.target_key]
        shape = payload_hash(sorted(m.code for m in members))[:HALF]
        strays = self._shape_changed(key, link, members, shape)
        settled = link is not None and not was_simple and not moved and not strays and not self._hidden(key) and all(
            c in variant_links and variant_links[c].payload_hash == p for c, p in prints.items())
        if settled and link is not None and link.payload_hash[:HALF] == own_print:
            return Record(ENTITY, key, Outcome.SKIPPED, _UP_TO_DATE, link.target_key, payload_in=payload_in)
        # 5. validate the whole group before anything is written
        for article in everyone:
            self._check(article)
        check_group(key, self.settings.variants, [(m.code, places[m.code]) for m in active])
        image = self._image(lead)
        target = link.target_key if link is not None else self._found_in_shop(key, "")
        mode: Mode = "update" if target else "create"
        mapped = self.maps.article(lead, sku=key, variant_product=True, mode=mode)
        prices = [(m.code, places[m.code], self._shop_price(m)) for m in active]
        base, extra, rounded = surcharges(key, self.settings.variants, prices)
        kept, kept_surcharges = self._left_as_they_are(link, members, active, places, variant_links)
        for option, surcharge in kept_surcharges.items():
            extra.setdefault(option, surcharge)  # an option only left variants have keeps its surcharge
        lists = self._lists([*active, *(m for m in members if m.code in kept)], places, extra)
        sent = body(mapped)
        sent.setdefault("price", {})["default"] = str(base)
        sent["lists"] = lists
        category = self._category_id(lead) if mode == "create" or self.settings.update_product_info else None
        sent_print = self._sent_print(lead, Place(key), key, category, image, variant_product=True,
                                      extra=[str(base), lists])
        if settled and link is not None and link.payload_hash[HALF:] == sent_print and not self._image_due(key, image):
            self.links.remember_sent(ENTITY, key, own_print + sent_print)
            return Record(ENTITY, key, Outcome.SKIPPED, _OWNED, link.target_key, payload_in=payload_in)
        # 6. write: the former simple products among its variants hidden, the product, its variants' links and stock
        notes = [n for code, old in was_simple.items() for n in self._leave_simple_product(code, old)]
        if target is None:
            shop_article = self._create(key, sent, category)
            how = "created"
        else:
            shop_article = self._update(int(target), sent, category) or self.shop.get_article(int(target))
            how = "updated" if link is not None else "found in the shop by its SKU and linked,"
        article_id = shop_article.id
        self.links.write(ENTITY, key, str(article_id))  # its hash follows once all that hangs on it is done
        self.links.write(VARIANT_PRODUCT, key, str(article_id))
        notes += self._link_variants(shop_article, active, members, places, prints, variant_links, kept)
        notes += self._retire_variants(strays)
        self.links.remember_sent(VARIANT_PRODUCT, key, shape)
        notes += self._send_image(key, article_id, image, fresh=target is None)
        notes += self._show_again(key, article_id)
        self.links.remember_sent(ENTITY, key, own_print + sent_print)
        if rounded:
            notes.append(reason("a cent of rounding in the shop price of {articles}", articles=", ".join(rounded)))
        sent_reason = reason("{how} shop article {article} with {count} variants{notes}", how=how, article=article_id,
                             count=len(active), notes=joined(notes + mapped.warnings, "", before="; "))
        return Record(ENTITY, key, Outcome.SENT, sent_reason, str(article_id), payload_in=payload_in,
                      payload_out=self._payload_out(sent, category, image), link=True)

    def _shop_price(self, article: Article) -> Decimal:
        row = self.maps.article(article, sku=article.code, variant_product=True, mode="create").row
        return Decimal(str(row["price.default"]))

    def _lists(self, active: list[Article], places: dict[str, Place], extra: dict[tuple[str, str], Decimal]
               ) -> list[dict[str, Any]]:
        """The article's option lists with exactly the options its variants use, each with its surcharge."""
        lists = []
        for attribute in self.settings.variants.attributes:
            name = attribute.list_name
            values = list(dict.fromkeys(places[m.code].options[name] for m in active))
            list_id = self.options.list_id(name)
            ids = self.options.option_ids(list_id, values)
            lists.append({"id": list_id, "options": [
                {"id": ids[v], "image_ids": [], "price": str(extra[(name, v)])} for v in values]})
        return lists

    def _link_variants(self, shop_article: ShopArticle, active: list[Article], members: list[Article],
                       places: dict[str, Place], prints: dict[str, str], variant_links: dict[str, Link],
                       kept: dict[str, int]) -> list[str]:
        """Link each variant article to its shop variant; a new variant starts with AccountView's stock, a
        combination no active article has (blocked, or missing from the group) gets none, except a blocked
        variant the settings leave as it is (`kept`: its code → its shop variant).

        The shop is written before the links: a worker stopped in between finds the variants unlinked next
        time and writes their starting stock again; linked first, it would take them for settled and their
        stock would never be written."""
        options = self._option_ids_of(shop_article)
        targets: dict[str, str] = {}
        stocks: dict[int, int | None] = {}
        notes: list[str] = []
        for member in active:
            chosen = {options[(name, value)][0]: options[(name, value)][1]
                      for name, value in places[member.code].options.items()}
            variant = shop_article.variant_for(chosen)
            if variant is None:
                raise NeedsAttention(reason("the shop made no variant for {article} ({options})", article=member.code,
                                            options=str(places[member.code].options)),
                                     field="variants", value=member.code)
            targets[member.code] = target = f"{shop_article.id}/{variant.id}"
            old = variant_links.get(member.code)
            if old is not None and old.target_key != target:
                notes += self._zero_old_variant(member.code, old, now_in=shop_article.id)
            if old is None or old.target_key != target:
                stocks[variant.id] = starting_stock(member)
        matched = {int(target.partition("/")[2]) for target in targets.values()}
        left = {code: variant for code, variant in kept.items() if variant not in matched}
        # A combination no active article has can't be ordered: no stock, no backorder (the API can't delete
        # or switch off a variant). Only a blocked variant the settings leave keeps what it has; a variant
        # removed from AccountView or moved to another product never does, under either setting: an order of
        # the first could not be booked (the article is gone), and the second is sold, and its stock kept, in
        # its new product (its links went there), so its old combination's stock would never go down.
        unavailable = [VariantInput(id=v.id, stock=0, can_backorder=False) for v in shop_article.variants
                       if v.id not in matched and v.id not in left.values() and (v.stock != 0 or v.can_backorder)]
        changes = [VariantInput(id=i, stock=s) for i, s in stocks.items()] + unavailable
        if changes:
            self.shop.update_article(shop_article.id, ArticleInput(variants=changes))
        for member in active:
            self._link_variant(member.code, targets[member.code], prints[member.code], variant_links.get(member.code))
        for member in members:
            if member not in active and member.code in variant_links:
                self.links.remember_sent(VARIANT, member.code, prints[member.code])
                if member.code in left:
                    notes.append(reason("variant {article} is blocked or left the selection: its shop variant is "
                                        "left as it is (settings)", article=member.code))
                else:
                    notes.append(reason("variant {article} is blocked or left the selection: no stock in the shop",
                                        article=member.code))
        return notes

    def _link_variant(self, code: str, target: str, fingerprint: str, old: Link | None) -> None:
        """Link one variant article to its shop variant (`target`), or relink it from where it was (`old`)."""
        if old is not None and old.target_key == target:
            self.links.remember_sent(VARIANT, code, fingerprint)
            return
        if old is not None:  # only the link we read: one another worker made since stands, and is found below
            self.links.forget_if(VARIANT, code, target_key=old.target_key)
        linked = self.links.write(VARIANT, code, target, fingerprint)
        if linked.target_key != target:
            raise RetryableError(reason("variant {article} was linked to shop variant {other} by another worker at "
                                        "the same time; tried again", article=code, other=linked.target_key))

    def _left_as_they_are(self, link: Link | None, members: list[Article], active: list[Article],
                          places: dict[str, Place], variant_links: dict[str, Link]
                          ) -> tuple[dict[str, int], dict[tuple[str, str], Decimal]]:
        """With `blocked = "leave"`: the linked variants blocked in AccountView (or out of the selection) that
        stay as they are in the shop, code → shop variant id, and the surcharges their options have there
        now. Their options stay on the article (dropped, the shop would drop their combinations); their
        stock and backorder are not touched. One read of the shop article, only when there are some."""
        if self.settings.blocked != "leave" or link is None:
            return {}, {}
        inside = f"{link.target_key}/"
        candidates = [m for m in members if m not in active and m.code in variant_links
                      and variant_links[m.code].target_key.startswith(inside)]
        if not candidates:
            return {}, {}
        current = self.shop.get_article(int(link.target_key))
        options = self._option_ids_of(current)
        charged = {(entry.id, option.id): option.price for entry in current.lists for option in entry.options}
        kept: dict[str, int] = {}
        surcharges_now: dict[tuple[str, str], Decimal] = {}
        for member in candidates:
            values = places[member.code].options
            try:
                chosen = dict(options[(name, value)] for name, value in values.items())
            except NeedsAttention:
                continue  # an option of it is gone from the shop article, and its combination with it
            variant = current.variant_for(chosen)
            if variant is None or variant_links[member.code].target_key != f"{inside}{variant.id}":
                continue  # its linked combination is not in the shop any more: nothing to leave
            kept[member.code] = variant.id
            for name, value in values.items():
                surcharges_now[(name, value)] = charged.get(options[(name, value)]) or Decimal(0)
        return kept, surcharges_now

    @staticmethod
    def _option_ids_of(shop_article: ShopArticle) -> dict[tuple[str, str], tuple[int, int]]:
        """(list name, option name) → (list id, option id), case-insensitive on the names."""
        found: dict[tuple[str, str], tuple[int, int]] = {}
        for entry in shop_article.lists:
            for option in entry.options:
                if entry.id is not None and option.id is not None:
                    found[(entry.name, option.name)] = (entry.id, option.id)
        return _CaseFolded(found)

    # -- a group that changes shape -------------------------------------------------------------------------

    def _leave_variant_product(self, code: str) -> list[str]:
        """A former variant that is now a simple product: its old shop variant gets no stock, and its link goes."""
        old = self.links.find(VARIANT, code)
        if old is None:
            return []
        notes = self._zero_old_variant(code, old, now_in=None)
        self.links.forget_if(VARIANT, code, target_key=old.target_key)  # a product that took it since keeps it
        return notes

    def _simple_products_among(self, members: list[Article]) -> dict[str, Link]:
        """The variants that were simple products until now (not a variant product's own article): code → the
        link of their own shop article."""
        codes = [m.code for m in members]
        own = links_by_key(self.links, ENTITY, codes)
        templates = links_by_key(self.links, VARIANT_PRODUCT, list(own))
        return {code: link for code, link in own.items() if code not in templates}

    def _leave_simple_product(self, code: str, old: Link) -> list[str]:
        """A former simple product that is now a variant: its own shop article is hidden, and remembered as
        hidden (should the article be simple again, it is found by its SKU and shown again), its link goes."""
        self.shop.set_visible(int(old.target_key), False)
        self.links.write(HIDDEN, code, old.target_key)
        self.links.forget_if(ENTITY, code, target_key=old.target_key)
        return [reason("{code} became a variant: its own shop article {article} is hidden (not deleted)", code=code,
                       article=old.target_key)]

    def _zero_old_variant(self, code: str, old: Link, *, now_in: int | None) -> list[str]:
        """The variant an article had in a shop article it left can't be ordered any more (when the shop still
        has it: the old product, rebuilt first, may have dropped its option)."""
        article_id, _, variant_id = old.target_key.partition("/")
        if not variant_id or int(article_id) == now_in:
            return []  # a combination the same product regenerated: nothing left behind
        there = self.shop.get_article(int(article_id))
        if any(v.id == int(variant_id) and (v.stock != 0 or v.can_backorder) for v in there.variants):
            self.shop.update_article(int(article_id), ArticleInput(
                variants=[VariantInput(id=int(variant_id), stock=0, can_backorder=False)]))
        return [reason("{code} moved from shop article {article}: its variant there has no stock now", code=code,
                       article=article_id)]

    def _shape_changed(self, key: str, link: Link | None, members: list[Article], shape: str) -> list[Link]:
        """When the group is not the one last linked (its codes' hash differs): the variant links of its shop
        article whose articles are no longer in the group (removed from AccountView, or moved)."""
        if link is None:
            return []
        last = self.links.find(VARIANT_PRODUCT, key)
        if last is not None and last.payload_hash == shape:
            return []
        strays = self._strays(link.target_key, members)
        if not strays and last is not None:
            self.links.remember_sent(VARIANT_PRODUCT, key, shape)
        return strays

    def _strays(self, article_id: str, members: list[Article]) -> list[Link]:
        codes = {m.code for m in members}
        linked = cast(TargetLinks, self.links).find_by_target_prefix(VARIANT, f"{article_id}/")
        return [variant for variant in linked if variant.source_key not in codes]

    def _retire_variants(self, strays: list[Link]) -> list[str]:
        """Retire the links of variants that left their product (their combinations got no stock with the
        product's other unused ones), saying where each went: gone from AccountView, or to another product."""
        if not strays:
            return []
        now = self.books.get_articles([s.source_key for s in strays])
        notes: list[str] = []
        for stray in strays:
            # one conditional delete, not a read then a delete: its new product may relink it at any instant
            self.links.forget_if(VARIANT, stray.source_key, target_key=stray.target_key)
            article = now.get(stray.source_key)
            if article is None:
                notes.append(reason("variant {code} is not in AccountView any more: its combination can't be ordered "
                                    "and its link is retired", code=stray.source_key))
                continue
            place = self.grouper.place(article.row)
            notes.append(reason("variant {code} moved to {product}: its combination here can't be ordered and its "
                                "link is retired", code=stray.source_key,
                                product=place.product if place.variant else reason("a simple product")))
        return notes

    # -- the activity -----------------------------------------------------------------------------------------

    @staticmethod
    def _payload_in(articles: Iterable[Article]) -> list[dict[str, Any]]:
        return [a.model_dump(mode="json", exclude={"image"}) for a in articles]

    @staticmethod
    def _payload_out(sent: dict[str, Any], category: int | None, image: bytes | None) -> dict[str, Any]:
        """What was sent, as the activity log keeps it (JSON: amounts as text; the image by its size)."""
        out = dict(sent)
        if category is not None:
            out["category"] = category
        if image is not None:
            out["image"] = f"{len(image)} bytes"
        return cast(dict[str, Any], json.loads(json.dumps(out, default=str)))


_OWNED = reason("changed in AccountView only in fields the shop owns (update product information is off): "
                "nothing to send")
_UP_TO_DATE = reason("up to date")


class _Seen:
    """The codes and EANs of the articles a run reads, to find a code or an EAN used twice. Kept small: a
    full run of a large catalogue holds one entry per article, its code string shared with the article's."""

    def __init__(self) -> None:
        self.codes: set[str] = set()
        self.eans: dict[int, str] = {}  # EAN (as a number: half the memory of its text) → first article code
        self.products: set[str] = set()  # variant products' keys (their articles' codes are in `codes`)
        self.twins: dict[str, list[str]] = {}  # code → the codes (as written) that are it, when more than one
        self.shared: dict[str, str] = {}  # article code → another article code with the same EAN
        self._written: dict[str, str] = {}  # code → as written, for the few not written in capitals

    def add(self, article: Article, place: Place) -> None:
        code = article.code.upper()
        if code in self.codes:
            self.twins.setdefault(code, [self._written.get(code, code)]).append(article.code)
        self.codes.add(code)
        if article.code != code:
            self._written[code] = article.code
        if place.variant:
            self.products.add(place.product)
        elif article.ean.isdigit():
            first = self.eans.setdefault(int(article.ean), code)
            if first != code:
                self.shared[code] = first
                self.shared.setdefault(first, code)


def without_options(article: Article, place: Place) -> Article:
    """The article with its option values taken off the end of its name ("Shirt rood M" → "Shirt"): the
    name of a variant product that has no article of its own."""
    words = article.description.split()
    values = {v.casefold() for v in place.options.values()}
    while len(words) > 1 and words[-1].casefold() in values:
        words.pop()
    return article.model_copy(update={"description": " ".join(words)})


class _CaseFolded(dict[tuple[str, str], tuple[int, int]]):
    """Option ids by (list name, option name), found whatever the case of the names."""

    def __init__(self, found: dict[tuple[str, str], tuple[int, int]]) -> None:
        super().__init__({(a.casefold(), b.casefold()): v for (a, b), v in found.items()})

    def __getitem__(self, key: tuple[str, str]) -> tuple[int, int]:
        try:
            return super().__getitem__((key[0].casefold(), key[1].casefold()))
        except KeyError:
            raise NeedsAttention(reason("the shop article has no option {option} in list {list}", option=repr(key[1]),
                                        list=repr(key[0])),
                                 field="lists", value=key) from None


def _open(integration: IntegrationClients, settings: ProductsSettings, links: Links) -> ProductsFlow:
    return ProductsFlow(integration.shop, integration.books, settings, links,
                        mapping_overrides=integration.mapping_overrides)


PRODUCTS = declare(Flow(name="products", entity=ENTITY, settings=ProductsSettings, open=_open))
