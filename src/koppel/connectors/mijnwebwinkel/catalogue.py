"""The shop's catalogue as the sync flows look at it: articles found by SKU or EAN (the API has no such
filter, so a scan builds a small index), option lists found by name, and an article's category links
changed without touching the ones the merchant made."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from koppel.connectors.mijnwebwinkel.errors import SYSTEM
from koppel.connectors.mijnwebwinkel.models import ArticleCategoryInput, ArticleSummary
from koppel.errors import NeedsAttention
from koppel.reasons import reason


def match_key(value: str | None) -> str:
    """How SKUs, EANs and names are compared: trimmed, case-insensitive (AccountView codes are upper
    case, shops are typed by hand)."""
    return (value or "").strip().upper()


@dataclass
class ArticleIndex:
    """Article ids by SKU and by EAN (several when the shop has a key twice: the API does not enforce
    uniqueness), and option list ids by name, from one scan. Only ids are kept, so the index of a
    100,000-article shop stays a few MB."""

    by_sku: dict[str, list[int]] = field(default_factory=dict)
    by_ean: dict[str, list[int]] = field(default_factory=dict)
    option_lists: dict[str, int] = field(default_factory=dict)
    articles_read: int = 0

    def add(self, article: ArticleSummary, skus: set[str] | None, eans: set[str] | None) -> None:
        self.articles_read += 1
        sku, ean = match_key(article.sku), match_key(article.ean)
        if sku and (skus is None or sku in skus):
            self.by_sku.setdefault(sku, []).append(article.id)
        if ean and (eans is None or ean in eans):
            self.by_ean.setdefault(ean, []).append(article.id)
        for entry in article.lists:
            if entry.id is not None and entry.name:
                self.option_lists.setdefault(match_key(entry.name), entry.id)

    def article_id(self, *, sku: str | None = None, ean: str | None = None) -> int | None:
        """The one article with this SKU (else, when given, this EAN), or None; NeedsAttention when the
        shop has the key on several articles, naming them."""
        for kind, key, table in (("SKU", sku, self.by_sku), ("EAN", ean, self.by_ean)):
            ids = table.get(match_key(key)) if key else None
            if ids and len(ids) > 1:
                raise NeedsAttention(
                    reason("the shop has {kind} {key} on {count} articles ({articles}): remove the duplicates in "
                           "MijnWebwinkel", kind=kind, key=key, count=len(ids), articles=", ".join(map(str, ids))),
                    system=SYSTEM,
                    field="sku" if kind == "SKU" else "extra.barcode",
                    value=key,
                )
            if ids:
                return ids[0]
        return None

    def option_list_id(self, name: str) -> int | None:
        """The id of the option list called `name` on some article of the shop, or None."""
        return self.option_lists.get(match_key(name))


def changed_category_links(
    article: ArticleSummary, *, add: Iterable[int] = (), remove: Iterable[int] = (), main: int | None = None
) -> list[ArticleCategoryInput] | None:
    """The article's category links with `add` added and `remove` removed, every other link (the
    merchant's) kept as it is, with its `article_url_id`; `main` becomes the main page. None when
    nothing changes. New links are active unless the article is hidden."""
    removed = set(remove)
    links = [
        ArticleCategoryInput(
            category_id=link.category_id,
            is_main=bool(link.is_main),
            is_active=link.is_active is not False,
            **({"article_url_id": link.article_url_id} if link.article_url_id is not None else {}),
        )
        for link in article.categories
        if link.category_id not in removed
    ]
    present = {link.category_id for link in links}
    active = article.visible or not article.categories
    for category_id in dict.fromkeys(add):
        if category_id not in present:
            links.append(ArticleCategoryInput(category_id=category_id, is_main=False, is_active=active))
            present.add(category_id)
    if main is not None and main in present:
        for link in links:
            link.is_main = link.category_id == main
    if links and not any(link.is_main for link in links):
        links[0].is_main = True
    if not links:
        raise NeedsAttention(
            reason("article {article} would be left without a category page", article=article.id), system=SYSTEM,
            field="categories",
        )
    before = [(c.category_id, bool(c.is_main), c.is_active is not False) for c in article.categories]
    after = [(c.category_id, bool(c.is_main), bool(c.is_active)) for c in links]
    return None if before == after else links
