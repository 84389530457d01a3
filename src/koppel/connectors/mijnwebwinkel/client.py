"""The MijnWebwinkel (MyOnlineStore Connect) client: the only code that speaks this API.

Typed calls for what the flows need, on the connector kit (`koppel.connectors.http`): lazy offset paging
cross-checked against the API's count endpoints, the short retry policy for idempotent calls only, a rate
limiter per store, and tokens redacted from every log line and error. Failures arrive as Koppel's error
vocabulary (see `errors.py`).
"""

from __future__ import annotations

import base64
import datetime as dt
import time
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import structlog
from pydantic import BaseModel, ValidationError

from koppel.connectors.http import (
    OffsetPaginator,
    RateLimiter,
    Redactor,
    RetryPolicy,
    account_key,
    process_rate_limiter,
)
from koppel.connectors.mijnwebwinkel.catalogue import ArticleIndex, changed_category_links, match_key
from koppel.connectors.mijnwebwinkel.errors import (
    SYSTEM,
    error_for_body,
    error_for_response,
    error_for_transport,
)
from koppel.connectors.mijnwebwinkel.images import MAX_IMAGE_BYTES, check_image, image_filename
from koppel.connectors.mijnwebwinkel.models import (
    Article,
    ArticleCategoryInput,
    ArticleInput,
    ArticleOptionList,
    ArticleSummary,
    Category,
    CategoryArticle,
    CategoryInput,
    ImageInput,
    ListOptionCreate,
    Order,
    OrderStatus,
    ShippingMethod,
    Store,
    TaxRegion,
    VariantInput,
)
from koppel.errors import KoppelError, NeedsAttention, RetryableError
from koppel.reasons import reason

DEFAULT_BASE_URL = "https://api.myonlinestore.com"
LEGACY_BASE_URL = "https://api.mijnwebwinkel.nl"
PAGE_SIZE = 100  # the API's maximum

log = structlog.get_logger("koppel.connectors.mijnwebwinkel")
M = TypeVar("M", bound=BaseModel)


def _day(value: dt.date | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d")


def _moment(value: dt.datetime | dt.date | None) -> str | None:
    """`yyyy-mm-dd hh:mm:ss` as the API's datetime filters want it (store-local time, no zone)."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(0))
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


class MijnWebwinkelClient:
    """A connection to one MijnWebwinkel store.

    `rate_per_second` (None: off) limits calls per store across all clients in this process, in bursts of
    `rate_burst`; pass `rate_limiter` instead to share the limit wider (e.g. a `PostgresRateLimiter` across
    workers). `retry_attempts`, `retry_wait_initial`, `retry_wait_max` and `max_retry_after` bound the
    short retry layer: a `Retry-After` longer than `max_retry_after` is not waited for here but raised as
    `RetryableError(retry_after=…)` for the durable layer to reschedule. `max_image_bytes` bounds uploads.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        token: str = "",
        partner_token: str = "",
        *,
        api_version: str = "1",
        language: str = "nl_NL",
        rate_per_second: float | None = 5.0,
        rate_burst: int = 5,
        timeout: float = 30.0,
        retry_attempts: int = 3,
        retry_wait_initial: float = 0.5,
        retry_wait_max: float = 5.0,
        max_retry_after: float = 30.0,
        page_size: int = PAGE_SIZE,
        max_image_bytes: int = MAX_IMAGE_BYTES,
        transport: httpx.BaseTransport | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        if not token or not partner_token:
            raise ValueError(reason("MijnWebwinkel needs a store token and a partner token"))
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.language = language
        self.max_image_bytes = max_image_bytes
        self._paginator = OffsetPaginator(min(max(1, page_size), PAGE_SIZE))
        self._token = token
        self._partner_token = partner_token
        self._redactor = Redactor([token, partner_token])
        self._limiter = rate_limiter or process_rate_limiter(
            account_key(self.base_url, token), rate_per_second, rate_burst
        )
        self._retry = RetryPolicy(
            attempts=retry_attempts,
            wait_initial=retry_wait_initial,
            wait_max=retry_wait_max,
            max_retry_after=max_retry_after,
        )
        self._http = httpx.Client(
            base_url=f"{self.base_url}/v{api_version}",
            timeout=httpx.Timeout(timeout),
            headers={"Accept": "application/json"},
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"MijnWebwinkelClient({self.base_url!r}, api_version={self.api_version!r}, token=***)"

    def redact(self, value: Any) -> Any:
        """`value` (text or JSON-like data, e.g. an activity payload) without this connection's tokens."""
        return self._redactor.data(value)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MijnWebwinkelClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------- transport

    def _params(self, params: Mapping[str, Any] | None, *, partner_only: bool) -> dict[str, Any]:
        query: dict[str, Any] = {
            "format": "json",
            "language": self.language,
            "partner_token": self._partner_token,
        }
        if not partner_only:
            query["token"] = self._token
        for key, value in (params or {}).items():
            if value is not None:
                query[key] = value
        return query

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotent: bool = True,
        partner_only: bool = False,
    ) -> Any:
        """One API call, retried briefly when `idempotent`; returns the decoded JSON (or None when empty)."""
        operation = f"{method} {path}"

        def send() -> Any:
            return self._send(method, path, params, body, operation, partner_only)

        return self._retry.call(send) if idempotent else send()

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        operation: str,
        partner_only: bool,
    ) -> Any:
        self._limiter.wait()
        started = time.monotonic()
        try:
            response = self._http.request(
                method, path, params=self._params(params, partner_only=partner_only), json=body
            )
        except httpx.HTTPError as exc:
            # Not logged here: the retry policy logs a retry in one line, the caller records a failure.
            raise error_for_transport(exc, operation, self._redactor) from None
        log.debug(
            "mww.request",
            operation=operation,
            url=self._redactor.text(str(response.request.url)),
            status=response.status_code,
            ms=round((time.monotonic() - started) * 1000),
        )
        if not response.is_success:
            raise error_for_response(response, operation, self._redactor)
        if not response.content or response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError:
            raise error_for_body(operation, response.text, self._redactor) from None

    def _decode(self, model: type[M], data: Any, what: str) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise NeedsAttention(
                reason("MijnWebwinkel sent an unreadable {what}: {field}: {problem}", what=what, field=field,
                       problem=first["msg"]),
                system=SYSTEM,
                field=field,
                value=first.get("input"),
            ) from None

    def _list(self, data: Any, key: str | None = None) -> list[Any]:
        if isinstance(data, dict) and key is not None and key in data:
            data = data[key]
        if data is None or data == {}:
            return []
        if not isinstance(data, list):
            raise RetryableError(
                reason("MijnWebwinkel sent {kind} where a list was expected", kind=type(data).__name__), system=SYSTEM)
        return data

    @property
    def page_size(self) -> int:
        return self._paginator.page_size

    def _pages(
        self, path: str, params: Mapping[str, Any], *, count_params: Mapping[str, Any] | None = None
    ) -> Iterator[Any]:
        """Items of a legacy list endpoint, page by page (`limit`/`offset`). The API clamps `limit`
        silently, so a short page proves nothing: with `count_params` the listing ends when `…/count`'s
        total is read (and fewer at the end is a RetryableError), otherwise on an empty page."""
        expected = None if count_params is None else self._count(f"{path}/count", count_params)

        def fetch(offset: int) -> list[Any]:
            page_params = {**params, "limit": self.page_size, "offset": offset}
            return self._list(self._call("GET", path, params=page_params))

        yield from self._paginator.items(
            fetch, identity=_item_key, expected=expected, what=path.strip("/"), system=SYSTEM
        )

    def _count(self, path: str, params: Mapping[str, Any]) -> int:
        data = self._call("GET", path, params=params)
        if not isinstance(data, dict) or "count" not in data:
            raise error_for_body(f"GET {path}", str(data), self._redactor)
        return int(data["count"])

    # ------------------------------------------------------------------------------------------ store

    def store(self) -> Store:
        return self._decode(Store, self._call("GET", "/store"), "store")

    def check_connection(self) -> Store:
        """For the wizard's "test this connection": the store, or BrokenConnection/RetryableError."""
        return self.store()

    # ----------------------------------------------------------------------------------------- orders

    @staticmethod
    def _order_filters(
        status: int | None,
        archived: bool | None,
        created_since: dt.date | None,
        created_until: dt.date | None,
        changed_since: dt.datetime | dt.date | None,
        changed_until: dt.datetime | dt.date | None,
        include_test: bool,
    ) -> dict[str, Any]:
        return {
            "status_id": status,
            "archived": _flag(archived),
            "start_date": _day(created_since),
            "end_date": _day(created_until),
            "status_changed_start_date": _moment(changed_since),
            "status_changed_end_date": _moment(changed_until),
            "test": _flag(include_test or None),
        }

    def iter_orders(
        self,
        *,
        statuses: Iterable[int] | None = None,
        archived: bool | None = None,
        created_since: dt.date | None = None,
        created_until: dt.date | None = None,
        changed_since: dt.datetime | dt.date | None = None,
        changed_until: dt.datetime | dt.date | None = None,
        debtor_email: str | None = None,
        include_test: bool = False,
        ordering: str = "asc",
    ) -> Iterator[Order]:
        """Orders matching the filters, lazily, page by page.

        `changed_since`/`changed_until` filter on the status-change moment (the API has no other change
        date for orders); `created_*` on the order date. The API filters one status at a time, so each of
        `statuses` is a separate pass, in the given order.

        Paging is by offset: if you change what you filter on (e.g. PATCH the status of orders listed by
        status) while iterating, later pages shift and orders are skipped. Collect the numbers first, or
        re-read from the start; an order may also show up twice when it changes status between passes.
        """
        for status in list(statuses) if statuses is not None else [None]:
            filters = self._order_filters(
                status, archived, created_since, created_until, changed_since, changed_until, include_test
            )
            params = {**filters, "debtor_email": debtor_email, "ordering": ordering}
            # /orders/count knows no debtor filter: without one, the count cross-checks the listing.
            count = None if debtor_email else filters
            for item in self._pages("/orders", params, count_params=count):
                number = item.get("number") if isinstance(item, dict) else ""
                yield self._decode(Order, item, reason("order {number}", number=number))

    def count_orders(
        self,
        *,
        statuses: Iterable[int] | None = None,
        archived: bool | None = None,
        created_since: dt.date | None = None,
        created_until: dt.date | None = None,
        changed_since: dt.datetime | dt.date | None = None,
        changed_until: dt.datetime | dt.date | None = None,
        include_test: bool = False,
    ) -> int:
        return sum(
            self._count(
                "/orders/count",
                self._order_filters(
                    status, archived, created_since, created_until, changed_since, changed_until, include_test
                ),
            )
            for status in (list(statuses) if statuses is not None else [None])
        )

    def get_order(self, number: str | int) -> Order:
        return self._decode(Order, self._call("GET", f"/orders/{number}"), reason("order {number}", number=number))

    def update_order(
        self,
        number: str | int,
        *,
        status: int | None = None,
        archived: bool | None = None,
        internal_comment: str | None = None,
        reference: str | None = None,
    ) -> Order:
        """PATCH status/archived/internal comment/reference; safe to repeat, so it is retried."""
        body: dict[str, Any] = {}
        if status is not None:
            body["status"] = status
        if archived is not None:
            body["archived"] = archived
        if internal_comment is not None:
            body["comments"] = {"internal": internal_comment}
        if reference is not None:
            body["reference"] = reference
        if not body:
            raise ValueError("update_order needs at least one change")
        answer = self._call("PATCH", f"/orders/{number}", body=body)
        return self._decode(Order, answer, reason("order {number}", number=number))

    def order_statuses(self) -> list[OrderStatus]:
        """The store's status table (partner token only): map ids by description, they are opaque."""
        data = self._call("GET", "/orderstatuses", partner_only=True)
        return [self._decode(OrderStatus, item, reason("order status")) for item in self._list(data)]

    # --------------------------------------------------------------------------------------- articles
    #
    # The API has no SKU/EAN filter and no field selection (NOTES §6.2, openapi.yaml): finding by SKU and
    # reading shop stock in bulk both mean reading the article list, 100 per page, plus one count call.

    @staticmethod
    def _change_filters(
        created_since: dt.datetime | dt.date | None,
        created_until: dt.datetime | dt.date | None,
        changed_since: dt.datetime | dt.date | None,
        changed_until: dt.datetime | dt.date | None,
    ) -> dict[str, Any]:
        return {
            "created_start_date": _moment(created_since),
            "created_end_date": _moment(created_until),
            "changed_start_date": _moment(changed_since),
            "changed_end_date": _moment(changed_until),
        }

    def _article_items(
        self,
        ids: Iterable[int] | None,
        uuids: Iterable[str] | None,
        created_since: dt.datetime | dt.date | None,
        created_until: dt.datetime | dt.date | None,
        changed_since: dt.datetime | dt.date | None,
        changed_until: dt.datetime | dt.date | None,
    ) -> Iterator[Any]:
        filters = self._change_filters(created_since, created_until, changed_since, changed_until)
        params = dict(filters)
        if ids is not None:
            params["ids"] = ",".join(str(i) for i in ids)
        if uuids is not None:
            params["uuids"] = ",".join(uuids)
        # /articles/count knows no ids/uuids filter: without one, the count cross-checks the listing.
        count = filters if ids is None and uuids is None else None
        yield from self._pages("/articles", params, count_params=count)

    def iter_articles(
        self,
        *,
        ids: Iterable[int] | None = None,
        uuids: Iterable[str] | None = None,
        created_since: dt.datetime | dt.date | None = None,
        created_until: dt.datetime | dt.date | None = None,
        changed_since: dt.datetime | dt.date | None = None,
        changed_until: dt.datetime | dt.date | None = None,
    ) -> Iterator[Article]:
        """Articles, lazily, page by page: 1 count call + one call per 100 articles."""
        for item in self._article_items(ids, uuids, created_since, created_until, changed_since, changed_until):
            yield self._decode(Article, item, "article")

    def count_articles(
        self,
        *,
        created_since: dt.datetime | dt.date | None = None,
        created_until: dt.datetime | dt.date | None = None,
        changed_since: dt.datetime | dt.date | None = None,
        changed_until: dt.datetime | dt.date | None = None,
    ) -> int:
        return self._count(
            "/articles/count",
            self._change_filters(created_since, created_until, changed_since, changed_until),
        )

    def iter_article_summaries(
        self,
        *,
        created_since: dt.datetime | dt.date | None = None,
        changed_since: dt.datetime | dt.date | None = None,
    ) -> Iterator[ArticleSummary]:
        """Every article's keys, stock, variants, option lists and category links, decoded without the
        rest: the bulk read of shop stock and the scan behind SKU/EAN lookups. 1 count call + one call per
        100 articles; memory stays one page."""
        for item in self._article_items(None, None, created_since, None, changed_since, None):
            yield self._decode(ArticleSummary, item, "article")

    def get_articles(self, ids: Iterable[int]) -> list[Article]:
        """The articles with these ids (unknown ids are simply absent): one call per 100 ids."""
        wanted = list(dict.fromkeys(ids))
        found: list[Article] = []
        for start in range(0, len(wanted), PAGE_SIZE):
            # At most a page of ids, so one page holds every match: no count, no trailing empty page.
            chunk = ",".join(str(i) for i in wanted[start : start + PAGE_SIZE])
            data = self._call("GET", "/articles", params={"ids": chunk, "limit": PAGE_SIZE, "offset": 0})
            found += (self._decode(Article, item, "article") for item in self._list(data))
        return found

    def index_articles(self, *, skus: Iterable[str] | None = None, eans: Iterable[str] | None = None) -> ArticleIndex:
        """One scan of the shop: article ids by SKU and EAN (only the wanted ones when given), and option
        list ids by name. Cost: 1 count call + one call per 100 articles in the shop."""
        wanted_skus = None if skus is None else {match_key(s) for s in skus}
        wanted_eans = None if eans is None else {match_key(e) for e in eans}
        index = ArticleIndex()
        for article in self.iter_article_summaries():
            index.add(article, wanted_skus, wanted_eans)
        return index

    def find_articles_by_sku(
        self, skus: Iterable[str], *, created_since: dt.datetime | dt.date | None = None
    ) -> dict[str, list[ArticleSummary]]:
        """The articles carrying each of `skus` (keys as given; several when the shop has a SKU twice,
        none when it has not). A scan: 1 count call + one call per 100 articles created since
        `created_since` (all when None)."""
        wanted: dict[str, str] = {match_key(sku): sku for sku in skus}
        found: dict[str, list[ArticleSummary]] = {}
        for article in self.iter_article_summaries(created_since=created_since):
            sku = wanted.get(match_key(article.sku))
            if sku is not None:
                found.setdefault(sku, []).append(article)
        return found

    def get_article(self, article_id: int, *, use_url_id: bool = False) -> Article:
        data = self._call("GET", f"/articles/{article_id}", params={"use_url_id": _flag(use_url_id)})
        return self._decode(Article, data, reason("article {article}", article=article_id))

    def create_article(self, article: ArticleInput) -> Article:
        """POST a new article (1 call; needs `name` and `categories`). Not retried. When its answer is
        lost (connection cut, timeout, 5xx), the article is looked for by its SKU among the articles
        created since yesterday (a short scan) and returned when the shop made it; otherwise the
        RetryableError goes up, and the next attempt should again look up the SKU before creating."""
        try:
            data = self._call("POST", "/articles", body=article.to_body(), idempotent=False)
        except RetryableError as exc:
            if not _maybe_done(exc) or not article.sku:
                raise
            made = self._find_lost(article.sku, exc)
            log.warning("mww.lost_answer_found", operation="POST /articles", sku=article.sku, article=made)
            return self.get_article(made)
        return self._decode(Article, data, "created article")

    def _find_lost(self, sku: str, exc: RetryableError) -> int:
        """The id of the one article with `sku` created since yesterday, or `exc` again."""
        since = dt.date.today() - dt.timedelta(days=1)  # store-local time is unknown: a day covers any zone
        found = self.find_articles_by_sku([sku], created_since=since).get(sku, [])
        if len(found) != 1:
            raise exc
        return found[0].id

    def update_article(self, article_id: int, changes: ArticleInput) -> Article:
        """PATCH (1 call): top-level fields merge; `lists[].options` replace; variants update by id;
        `stock=None` means unmanaged; `categories` replace (see `set_categories`). Retried, unless it
        attaches images by URL (that would attach them twice). Whether `images` replace or merge is not
        documented: prefer `upload_image`/`delete_image`, which mean the same under both."""
        body = changes.to_body()
        idempotent = not any(image.get("url") and not image.get("id") for image in body.get("images", []))
        data = self._call(
            "PATCH",
            f"/articles/{article_id}",
            params={"use_url_id": "false"},
            body=body,
            idempotent=idempotent,
        )
        return self._decode(Article, data, reason("article {article}", article=article_id))

    def delete_article(self, article_id: int) -> None:
        self._call("DELETE", f"/articles/{article_id}", params={"use_url_id": "false"})

    # stock

    def set_stock(self, article_id: int, stock: int | None, *, variant_id: int | None = None) -> Article:
        """Set the article's stock (None: unmanaged, i.e. unlimited), or one variant's stock: 1 PATCH.
        A variant keeps its own stock whatever its article's: the article's None covers orders of the article
        without a variant, not its variants (sandbox README "Stock"; the other reading is the sandbox quirk
        `article_stock_null_frees_variants`). Unlimited exists only at article level in the spec: a variant's
        None is refused there (422 → NeedsAttention) unless the shop accepts it (changelog 1.0.2; sandbox quirk
        `variant_stock_unlimited`)."""
        if variant_id is not None:
            return self.set_variant_stocks(article_id, {variant_id: stock})
        return self.update_article(article_id, ArticleInput(stock=stock))

    def set_variant_stocks(self, article_id: int, stocks: Mapping[int, int | None]) -> Article:
        """Set the stock of several variants of one article in 1 PATCH ({variant id: stock})."""
        if not stocks:
            raise ValueError("set_variant_stocks needs at least one variant")
        variants = [VariantInput(id=variant_id, stock=stock) for variant_id, stock in stocks.items()]
        return self.update_article(article_id, ArticleInput(variants=variants))

    # categories of an article, and visibility

    def _current(self, article: ArticleSummary | int) -> ArticleSummary:
        return self.get_article(article) if isinstance(article, int) else article

    def set_categories(
        self,
        article: ArticleSummary | int,
        *,
        add: Iterable[int] = (),
        remove: Iterable[int] = (),
        main: int | None = None,
    ) -> bool:
        """Put the article on the `add` category pages and take it off `remove`, keeping every other
        link (the merchant's) as it is; `main` becomes its main page. PATCH replaces the whole list, so the
        current links are needed: pass the article you have (1 call), or its id (GET + PATCH = 2 calls).
        No write when nothing changes; returns whether it wrote."""
        current = self._current(article)
        links = changed_category_links(current, add=add, remove=remove, main=main)
        if links is None:
            return False
        self.update_article(current.id, ArticleInput(categories=links))
        return True

    def set_visible(self, article: ArticleSummary | int, visible: bool) -> bool:
        """Show or hide the article: MijnWebwinkel shows an article on each category page whose link is
        active, so hiding deactivates every link and showing activates every link. Same cost as
        `set_categories`; no write when already so."""
        current = self._current(article)
        if not current.categories:
            raise NeedsAttention(
                reason("article {article} is on no category page, so it cannot be shown or hidden",
                       article=current.id),
                system=SYSTEM,
                field="categories",
            )
        if all((link.is_active is not False) == visible for link in current.categories):
            return False
        links = [
            ArticleCategoryInput(
                category_id=link.category_id,
                is_main=bool(link.is_main),
                is_active=visible,
                **({"article_url_id": link.article_url_id} if link.article_url_id is not None else {}),
            )
            for link in current.categories
        ]
        self.update_article(current.id, ArticleInput(categories=links))
        return True

    # extra fields ("features": EAN as `barcode`, `weight`, merchant fields)

    def set_extra_fields(self, article_id: int, fields: Mapping[str, str], *, visible: bool = False) -> Article:
        """Add or overwrite merchant article fields (1 call); `visible` picks the bucket shoppers see."""
        data = self._call(
            "POST",
            f"/articlefields/{article_id}",
            body=dict(fields),
            params={"visible": _flag(visible), "use_url_id": "false"},
        )
        return self._decode(Article, data, reason("article {article}", article=article_id))

    def remove_extra_fields(self, article_id: int, names: Iterable[str], *, visible: bool = False) -> Article:
        data = self._call(
            "DELETE",
            f"/articlefields/{article_id}",
            body=list(names),
            params={"visible": _flag(visible), "use_url_id": "false"},
        )
        return self._decode(Article, data, reason("article {article}", article=article_id))

    # option lists and variants
    #
    # The API cannot create an option list (there is no POST /articlelists, and no listing of lists): a
    # list is made once by the merchant in MijnWebwinkel's admin; we find it by name on the shop's
    # articles (`index_articles().option_list_id(name)`) or by id, and add the options it lacks.

    def get_option_list(self, list_id: int) -> ArticleOptionList:
        return self._decode(ArticleOptionList, self._call("GET", f"/articlelists/{list_id}"),
                            reason("option list {list}", list=list_id))

    def attach_option_lists(self, article_id: int, list_ids: Iterable[int]) -> Article:
        data = self._call("POST", f"/articlelists/{article_id}", body=list(list_ids), params={"use_url_id": "false"})
        return self._decode(Article, data, reason("article {article}", article=article_id))

    def detach_option_lists(self, article_id: int, list_ids: Iterable[int]) -> Article:
        data = self._call("DELETE", f"/articlelists/{article_id}", body=list(list_ids), params={"use_url_id": "false"})
        return self._decode(Article, data, reason("article {article}", article=article_id))

    def add_list_options(self, list_id: int, options: Iterable[ListOptionCreate]) -> ArticleOptionList:
        """Add options to a list. Not retried: a lost answer would add them twice (see ensure_list_options)."""
        data = self._call(
            "POST", f"/articlelistoptions/{list_id}", body=[o.to_body() for o in options], idempotent=False
        )
        return self._decode(ArticleOptionList, data, reason("option list {list}", list=list_id))

    def ensure_list_options(self, list_id: int, options: Mapping[str, Decimal | None]) -> ArticleOptionList:
        """The list with every option in `options` ({name: default surcharge}) present, found by name
        (case-insensitive) or added once: 1 GET, plus 1 POST when some are missing. Existing options keep
        their price (per-article prices go on the article's `lists[].options[].price`). A lost POST
        answer is checked by reading the list again, never by adding twice."""
        current = self.get_option_list(list_id)
        have = {match_key(option.name) for option in current.options}
        missing = [
            ListOptionCreate(name=name, price=price) for name, price in options.items() if match_key(name) not in have
        ]
        if not missing:
            return current
        try:
            return self.add_list_options(list_id, missing)
        except RetryableError as exc:
            if not _maybe_done(exc):
                raise
            again = self.get_option_list(list_id)
            if {match_key(o.name) for o in missing} - {match_key(o.name) for o in again.options}:
                raise
            return again

    def remove_list_options(self, list_id: int, names: Iterable[str]) -> ArticleOptionList:
        data = self._call("DELETE", f"/articlelistoptions/{list_id}", body=list(names))
        return self._decode(ArticleOptionList, data, reason("option list {list}", list=list_id))

    # images

    def attach_image_url(self, article_id: int, url: str, position: int | None = None) -> Article:
        """Attach an image the shop downloads from `url` (positions 1–15)."""
        return self.update_article(article_id, ArticleInput(images=[ImageInput(url=url, position=position)]))

    def upload_image(self, article_id: int, filename: str, content: bytes, position: int | None = None) -> str:
        """Upload image bytes (base64 JSON, 1 call); returns the API's answer text (the sandbox: the new
        image's id). Checked first: no call for bytes that are no image or exceed `max_image_bytes`
        (NeedsAttention, field "image"). Not retried; a lost answer is looked for on the article by
        `filename` (1 GET): name files with `image_filename(stem, content)` so the name is unique."""
        check_image(content, reason("image {image} of article {article}", image=filename, article=article_id),
                    max_bytes=self.max_image_bytes)
        body: dict[str, Any] = {"filename": filename, "content": base64.b64encode(content).decode()}
        if position is not None:
            body["position"] = position
        try:
            data = self._call("POST", f"/articles/uploadImage/{article_id}", body=body, idempotent=False)
        except RetryableError as exc:
            if not _maybe_done(exc):
                raise
            image = self.get_article(article_id).image_named(filename)
            if image is None:
                raise
            return image.id
        return "" if data is None else str(data)

    def replace_image(
        self,
        article_id: int,
        stem: str,
        content: bytes,
        *,
        previous: str | None = None,
        position: int | None = None,
    ) -> str:
        """Make `content` the article's image named after `stem` and its content hash, and remove our
        `previous` one (a file name this returned before); images the merchant added stay. Returns the
        new file name, to remember. 1 GET, + 1 upload when the image is not there yet, + 1 delete when
        the previous one is."""
        filename = image_filename(stem, content)
        check_image(content, reason("image {image} of article {article}", image=filename, article=article_id),
                    max_bytes=self.max_image_bytes)
        article = self.get_article(article_id)
        if article.image_named(filename) is None:
            self.upload_image(article_id, filename, content, position)
        old = article.image_named(previous) if previous and previous != filename else None
        if old is not None:
            self.delete_image(old.id)
        return filename

    def delete_image(self, image_id: str) -> bool:
        """Delete an image (1 call); False when it was already gone (e.g. a retried delete)."""
        try:
            self._call("DELETE", f"/deleteImage/{image_id}")
        except NeedsAttention as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # ------------------------------------------------------------------------------------- categories

    def category_tree(self, *, max_depth: int = 5) -> list[Category]:
        """All categories as a tree (roots with nested `leafs`); the API ignores paging here."""
        data = self._call("GET", "/categories", params={"as_tree": "true", "max_depth": max_depth})
        return [self._decode(Category, item, "category") for item in self._list(data)]

    def iter_categories(
        self,
        *,
        created_since: dt.datetime | dt.date | None = None,
        changed_since: dt.datetime | dt.date | None = None,
    ) -> Iterator[Category]:
        filters = self._change_filters(created_since, None, changed_since, None)
        for item in self._pages("/categories", {**filters, "as_tree": "false"}, count_params=filters):
            yield self._decode(Category, item, "category")

    def count_categories(self) -> int:
        return self._count("/categories/count", {})

    def get_category(self, category_id: int) -> Category:
        return self._decode(Category, self._call("GET", f"/categories/{category_id}"),
                            reason("category {category}", category=category_id))

    def category_articles(self, category_id: int) -> Iterator[CategoryArticle]:
        for item in self._pages(f"/categories/{category_id}/articles", {}):
            yield self._decode(CategoryArticle, item, "category article")

    def create_category(self, category: CategoryInput) -> Category:
        """POST a category (1 call; needs `title`). Not retried; when its answer is lost, the category is
        looked for by title and parent among those created since yesterday (a short scan) and returned
        when the shop made it, else the RetryableError goes up."""
        try:
            data = self._call("POST", "/categories", body=category.to_body(), idempotent=False)
        except RetryableError as exc:
            if not _maybe_done(exc) or not category.title:
                raise
            since = dt.date.today() - dt.timedelta(days=1)
            made = [
                c
                for c in self.iter_categories(created_since=since)
                if c.title == category.title and c.parent_category_id == category.parent_category_id
            ]
            if len(made) != 1:
                raise
            return made[0]
        return self._decode(Category, data, "created category")

    def update_category(self, category_id: int, changes: CategoryInput) -> Category:
        data = self._call("PATCH", f"/categories/{category_id}", body=changes.to_body())
        return self._decode(Category, data, reason("category {category}", category=category_id))

    # ------------------------------------------------------------------------------- shipping and tax

    def shipping_methods(self) -> list[ShippingMethod]:
        data = self._call("GET", "/shipping/methods")
        return [self._decode(ShippingMethod, item, "shipping method") for item in self._list(data)]

    def tax_regions(self) -> list[TaxRegion]:
        """Tax regions; the spec says a bare array, the live API wraps it as {"regions": […]}: both work."""
        data = self._call("GET", "/tax-policy/regions")
        return [self._decode(TaxRegion, item, "tax region") for item in self._list(data, "regions")]

    def tax_region(self, code: str) -> TaxRegion:
        data = self._call("GET", f"/tax-policy/regions/{code.upper()}")
        if isinstance(data, dict) and "region" in data:
            data = data["region"]
        return self._decode(TaxRegion, data, reason("tax region {region}", region=code))


def _maybe_done(exc: RetryableError) -> bool:
    """Whether a failed write may have happened all the same: the answer was lost (no status), timed out
    or the server failed (5xx) — not a 429, which refuses the call before acting on it."""
    return exc.status != 429


def _item_key(item: Any) -> Any:
    """An item's id (orders: number), or the whole item when it has none."""
    if isinstance(item, dict):
        for key in ("id", "number", "uuid"):
            if item.get(key) is not None:
                return (key, str(item[key]))
    return repr(item)


__all__ = ["DEFAULT_BASE_URL", "LEGACY_BASE_URL", "KoppelError", "MijnWebwinkelClient"]
