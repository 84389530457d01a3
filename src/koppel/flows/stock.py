"""The stock flow: AccountView's stock into MijnWebwinkel, a minute behind, writing only what changed.

The recipe, once per cycle (`StockFlow.fetch`), then per changed article (`StockFlow.sync`):
 1. read the stock fields of every AccountView article, a thousand a page: AccountView's change date does
    not move when stock does (sales orders, deliveries), so nothing narrower would be complete;
 2. find the article's place in the shop: the products flow's "variant" or "product" link, else the stock
    flow's own "stock" link, else (`match_on_sku`) the shop article whose SKU is the article code;
 3. compute the formula: managed or unlimited, the unit factor, floored, never below 0 (`stock_formula`);
    a variant's own stock is what the shop counts, whatever its article's (the article's unlimited covers
    orders without a variant), and the shop has no unlimited variant: an unmanaged one keeps its own figures,
    said once;
 4. compare with the value last sent (the "stock" link's payload hash), or with the shop's current stock
    (the first run, `--full`, or `compare_with = "shop"`); only what differs becomes a unit of work,
    unchanged articles are counted in the cycle's one summary record;
 5. per changed article: write the shop's stock (1 PATCH), remember the value sent, record from → to with
    the formula's inputs. A bad article (an empty or absurd figure, a SKU twice, a shop article gone) is
    parked naming it, and the stock setting that decides it where one does (the dashboard links there: the
    formula or expression for a figure, managed, unit factors, max_stock, match_on_sku); the others go on.

Why the value last sent, and not the shop's own, by default (measured with bench/stock.py, both sides at
10 calls/s): comparing with the shop means reading its whole catalogue every cycle, 1 count call + 1 call
per 100 articles. At 10,000 articles that is 101 shop reads a cycle besides AccountView's 11 pages, and a
cycle with nothing changed took 15.1 s instead of 2.6 s; at 100,000 articles it would be 1,001 shop reads,
100 s a cycle at that rate, longer than the 60 s poll, where last-sent read 101 AccountView pages and no
shop page at all. Comparing with the shop would also be wrong at the worst moment: an order placed in the
shop lowers the shop's stock at once, while AccountView's reservation rises only when the orders flow books
it; comparing with the shop would put the old, higher figure back in between (overselling), comparing with
what we sent leaves the shop's lower figure alone until AccountView has caught up. What last-sent cannot
see is stock edited by hand in the shop: the first run, `koppel sync stock --full`, and `compare_with =
"shop"` compare with the shop's own figures and correct it.

An article blocked in AccountView gets no stock from AccountView while the products flow's rule for it holds
(its setting `blocked`, read from the integration's products settings; ProductsSettings' default when the
products flow is not set up): under "hide" its shop article or variant is made unorderable (stock 0, no
backorder; one read of the shop article, and a write only when it takes orders), under "leave" nothing is
written. Each is said once: the "stock" link remembers the rule's mark (`BLOCKED_MARKS`) instead of a value
sent, so a blocked article's stock changing in AccountView is no change, and unblocking it (a value, not
the mark) sends AccountView's stock again. A shop read (the first run, --full, `compare_with = "shop"`) also
stops orders again of a hidden one someone made orderable in the shop.

A unit's key is the article code and the cycle (`CODE#20261130T181500123456`): the engine runs a unit id
once, and the same article may change again next minute. A unit whose cycle's figures are gone (its worker
restarted, a retry by hand) writes nothing and leaves the article to the next cycle, which compares again.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from itertools import islice
from typing import Any, cast, get_args

import structlog

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import ArticleStock
from koppel.connectors.mijnwebwinkel.catalogue import match_key
from koppel.connectors.mijnwebwinkel.client import MijnWebwinkelClient
from koppel.errors import NeedsAttention, Outcome
from koppel.flows.links import Link, Links, Record
from koppel.flows.products_settings import ProductsSettings
from koppel.flows.stock_formula import FIGURES, Computed, Formula, StockProblem, parse_factor
from koppel.flows.stock_settings import StockSettings
from koppel.flows.stock_shop import UNLIMITED, ShopStock, Target, as_text, stop_orders, write_stock
from koppel.reasons import fixed_in, reason
from koppel.sync.clients import IntegrationClients
from koppel.sync.links import BulkLinks
from koppel.sync.runner import Flow, declare

ENTITY = "stock"
SUMMARY = "(cycle)"  # the key of each cycle's summary record (AccountView article codes are upper case)
SHOP_ONLY = "shop:"  # key prefix of a shop article no AccountView article stands for
PAGE = 1000  # AccountView articles looked at together: one links query per page
PLACES = ("variant", "product", ENTITY)  # the links that say where an article's stock goes, first found wins
# The products flow's rules for an article blocked in AccountView, its default, and what a "stock" link holds
# instead of a value sent once the rule was applied to a blocked article (never a stock value: unblocking differs).
BLOCKED_RULES: tuple[str, ...] = get_args(ProductsSettings.model_fields["blocked"].annotation)
DEFAULT_BLOCKED = str(ProductsSettings.model_fields["blocked"].default)
BLOCKED_MARKS = {"hide": "0 (blocked)", "leave": "left (blocked)"}
BLOCKED_SETTING = "products.blocked"  # the setting that decides, in the products flow's settings

ONE = Fraction(1)
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Plan:
    """What a cycle decided for one AccountView article: the value to send and why, or why it can't."""

    code: str
    target: Target | None
    via: str  # how the article was found in the shop: "variant link", "product link", "stock link", "SKU"
    value: int | None = None  # None: unlimited
    before: str = ""  # the value compared with ("" when none was sent before)
    computed: Computed | None = None  # None: not managed (or a problem)
    unmanaged: str = ""  # why AccountView's stock is not managed (the shop's unlimited for an article)
    problem: str = ""
    blocked: str = ""  # blocked in AccountView: the products flow's rule that applies ("hide", "leave")

    @property
    def inputs(self) -> dict[str, str]:
        return self.computed.inputs if self.computed else {"managed": "no"}

    @property
    def explanation(self) -> str:
        if self.computed:
            return self.computed.explanation
        return reason("stock not managed ({why}): unlimited in the shop", why=self.unmanaged)

    @property
    def unmanaged_variant(self) -> bool:
        """Not managed, for a variant: the shop has no unlimited stock for one, so its own is left as it is."""
        return bool(self.unmanaged) and self.target is not None and self.target.variant_id is not None


@dataclass
class Cycle:
    """What one cycle found so far: the plans of articles to send or park, articles no link names (by
    SKU match key), the shop articles linked, codes listed twice, and the counts of the rest."""

    shop: ShopStock | None  # the shop's current stock, when this cycle compares with it
    plans: dict[str, Plan] = field(default_factory=dict)
    unlinked: dict[str, list[Plan]] = field(default_factory=dict)
    linked: set[int] = field(default_factory=set)
    twice: set[str] = field(default_factory=set)
    agreed: list[Link] = field(default_factory=list)  # right in the shop already: to remember as sent
    previous: str = ""
    unchanged: int = 0
    not_in_shop: int = 0
    shop_only: int = 0

    def remember_agreed(self, links: BulkLinks) -> None:
        if self.agreed:
            links.remember_many(self.agreed)
            self.agreed = []


class StockFlow:
    """One run (a cycle) of the stock flow for one integration."""

    def __init__(self, shop: MijnWebwinkelClient, books: AccountViewClient, settings: StockSettings,
                 links: Links, *, blocked: str = DEFAULT_BLOCKED) -> None:
        """`blocked`: the products flow's setting of that name, what it makes of an article blocked in
        AccountView; the stock flow keeps to it."""
        assert blocked in BLOCKED_RULES, blocked  # products_blocked() reads it from the settings
        self.shop, self.books, self.settings, self.blocked = shop, books, settings, blocked
        # A cycle looks at every article: the engine's links, the tests' and the dry run's all read and write
        # many at a time.
        self.links = cast(BulkLinks, links)
        self.formula = Formula.of(settings)
        profile = books.profile
        self.columns = {"available": profile.article_available_field, "reserved": profile.article_reserved_field,
                        "free": profile.article_free_field, "technical": profile.article_technical_field,
                        "managed": profile.article_stock_managed_field}
        self.labels: dict[str, str] = {
            name: reason("{figure} stock (ARTICLE.{field})", figure=name, field=self.columns[name]) for name in FIGURES}
        self._plans: dict[str, Plan] = {}
        self._shop_only: dict[str, str] = {}
        self._summary = ""
        self._lock = threading.Lock()

    # -- the cycle ---------------------------------------------------------------------------------------

    def fetch(self, cursor: str | None) -> list[tuple[str, str]]:
        """Every article whose shop stock must change, as units of work; the unchanged ones counted."""
        moment = datetime.now(UTC)
        stamp, position = moment.strftime("%Y%m%dT%H%M%S%f"), moment.isoformat()
        with_shop = cursor is None or self.settings.compare_with == "shop"
        cycle = Cycle(ShopStock.read(self.shop) if with_shop else None)
        for page in _pages(self._article_stock(), PAGE):
            self._look_at(page, cycle)
            cycle.remember_agreed(self.links)
        if cycle.unlinked:
            since = None if cursor is None else datetime.fromisoformat(cursor) - timedelta(
                minutes=self.settings.sku_overlap_minutes)
            self._match_skus(cycle, since)
            cycle.remember_agreed(self.links)
        for code in cycle.twice:
            cycle.plans[code] = Plan(code, None, "", problem=reason(
                "AccountView lists article code {code} twice; the shop's stock is left as it is until the code is "
                "unique in AccountView", code=code))
        if cursor is None and cycle.shop is not None:
            self._find_shop_only(cycle)
        self._summary = self._describe(cycle, with_shop)
        with self._lock:
            self._plans.update(cycle.plans)
        keys = [*(f"{code}#{stamp}" for code in cycle.plans), *(f"{key}#{stamp}" for key in self._shop_only),
                f"{SUMMARY}#{stamp}"]
        return [(key, position) for key in keys]

    def _article_stock(self) -> Iterator[ArticleStock]:
        extra = [self.settings.unit_factor_field] if self.settings.unit_factor_field else []
        return self.books.iter_article_stock(extra_fields=extra)

    def _look_at(self, page: list[ArticleStock], cycle: Cycle) -> None:
        """Plan one page of articles, their links read together."""
        found_links = _find_many(self.links, PLACES, [stock.code for stock in page])
        variants, products, sent = (found_links[entity] for entity in PLACES)
        for stock in page:
            if stock.code == cycle.previous:  # the listing is in code order: a code twice is two rows in a row
                cycle.twice.add(stock.code)
                continue
            cycle.previous = stock.code
            found = _place(stock.code, variants, products, sent)
            if found is None:
                if self.settings.match_on_sku:
                    cycle.unlinked.setdefault(match_key(stock.code), []).append(self._plan(stock, None, "SKU"))
                else:
                    cycle.not_in_shop += 1
                continue
            target, via = found
            cycle.linked.add(target.article_id)
            link = sent.get(stock.code)
            last = link.payload_hash if link and link.target_key == target.key else None
            self._decide(self._plan(stock, target, via), last, cycle, cycle.shop)

    def _plan(self, stock: ArticleStock, target: Target | None, via: str) -> Plan:
        """The article's stock as the formula has it, or why it can't be computed; for a blocked article,
        the products flow's rule instead (its figures are not AccountView's to send, nor to park it for)."""
        if stock.blocked:
            return Plan(stock.code, target, via, blocked=self.blocked)
        try:
            computed = self._compute(stock)
        except StockProblem as problem:
            return Plan(stock.code, target, via, problem=fixed_in(problem.setting, reason(
                "AccountView article {code}: {problem}; its shop stock is left as it is", code=stock.code,
                problem=problem)))
        if isinstance(computed, str):
            return Plan(stock.code, target, via, None, unmanaged=computed)
        return Plan(stock.code, target, via, computed.value, computed=computed)

    def _decide(self, plan: Plan, sent: str | None, cycle: Cycle, shop: ShopStock | None) -> None:
        """Keep the plan when the shop must change: its value differs from the shop's current stock (when
        the shop was read), else from the value last sent. When the shop shows the value already but it
        was not sent by us (or not lately), it is remembered as sent."""
        if plan.problem or plan.target is None:
            cycle.plans[plan.code] = plan
            return
        if plan.blocked:
            # Said once; under "hide" again when the shop (read this cycle) takes orders of it after all.
            if sent != BLOCKED_MARKS[plan.blocked] or (
                    plan.blocked == "hide" and shop is not None and shop.orderable(plan.target)):
                cycle.plans[plan.code] = plan
            else:
                cycle.unchanged += 1
            return
        if plan.unmanaged_variant:
            # Said once, like a blocked article's rule: nothing in the shop (read or not) is compared with it.
            if sent == UNLIMITED:
                cycle.unchanged += 1
            else:
                cycle.plans[plan.code] = plan
            return
        wanted = as_text(plan.value)
        if shop is None:
            if sent == wanted:
                cycle.unchanged += 1
            else:
                cycle.plans[plan.code] = replace(plan, before=sent or "")
            return
        current = shop.stock.get(plan.target.key)
        if current is None:
            cycle.plans[plan.code] = replace(plan, problem=reason(
                "{target} ({via} of AccountView article {code}) is not in the shop: run the products flow, or forget "
                "the link so the article is matched again", target=plan.target.describe(), via=plan.via,
                code=plan.code))
        elif current != wanted:
            cycle.plans[plan.code] = replace(plan, before=current)
        else:
            cycle.unchanged += 1
            if sent != wanted:
                cycle.agreed.append(Link(ENTITY, plan.code, plan.target.key, wanted))

    def _compute(self, stock: ArticleStock) -> Computed | str:
        """The formula's result, or (stock not managed) why not."""
        column = self.columns["managed"]
        managed = {"all": True, "none": False}.get(self.settings.managed, stock.managed)
        if managed is None:
            detail = stock.problems.get(f"ARTICLE.{column}") or reason("is empty")
            raise StockProblem(reason("whether AccountView keeps its stock (ARTICLE.{field}) {detail}", field=column,
                                      detail=detail), setting="managed")
        if not managed:
            return (reason("all unlimited (managed = none)") if self.settings.managed == "none"
                    else f"ARTICLE.{column} false")
        figures: dict[str, Any] = {}
        for name in self.formula.fields:
            figures[name] = getattr(stock, name)
            problem = stock.problems.get(f"ARTICLE.{self.columns[name]}")
            if figures[name] is None and problem:
                raise StockProblem(reason("the {label} {problem}", label=self.labels[name], problem=problem),
                                   setting=self.formula.setting)
        return self.formula.shop_stock(figures, self._factor(stock), labels=self.labels)

    def _factor(self, stock: ArticleStock) -> Fraction:
        given = self.settings.unit_factors.get(stock.code)
        if given:
            return _factor_of("unit_factors", given, f"unit_factors[{stock.code}]")
        column = self.settings.unit_factor_field
        if not column:
            return ONE
        raw = stock.figures.get(column)
        if raw is None and f"ARTICLE.{column}" in stock.problems:
            raise StockProblem(reason("the unit factor (ARTICLE.{field}) {problem}", field=column,
                                      problem=stock.problems[f"ARTICLE.{column}"]), setting="unit_factor_field")
        if raw is None or raw == 0:
            return ONE
        return _factor_of("unit_factor_field", raw, reason("the unit factor (ARTICLE.{field})", field=column))

    def _match_skus(self, cycle: Cycle, since: datetime | None) -> None:
        """Articles no link names, matched on SKU among the shop's articles (all of them when the shop was
        read, else those created since the last cycle), unless another article is linked there."""
        shop = cycle.shop
        if shop is None:
            shop = ShopStock()
            for found in self.shop.find_articles_by_sku(list(cycle.unlinked), created_since=since).values():
                for article in found:
                    shop.add(article)
        matched: set[int] = set()
        for key, candidates in cycle.unlinked.items():
            ids = shop.by_sku.get(key, [])
            if not ids:
                cycle.not_in_shop += len(candidates)
                continue
            matched.update(ids)
            for plan in candidates:
                problem = self._sku_problem(key, [c.code for c in candidates], ids, cycle.linked, shop)
                # Only matching on SKU brings these about: its setting is where the fix link goes.
                plan = replace(plan, target=Target(ids[0]), problem=fixed_in("match_on_sku", problem) or plan.problem)
                self._decide(plan, None, cycle, shop)
        cycle.linked.update(matched)

    @staticmethod
    def _sku_problem(key: str, codes: list[str], ids: list[int], linked: set[int], shop: ShopStock) -> str:
        """Why a SKU match can't be used ("" when it can)."""
        if len(codes) > 1:
            return reason("SKU {sku} matches {count} AccountView articles ({codes}): the shop's stock is left as it "
                          "is until one code is changed", sku=key, count=len(codes), codes=", ".join(codes))
        if len(ids) > 1:
            return reason("the shop has SKU {sku} on {count} articles ({articles}): AccountView article {code}'s "
                          "stock is not sent until the duplicates are gone", sku=key, count=len(ids),
                          articles=", ".join(map(str, ids)), code=codes[0])
        if ids[0] in linked:
            return reason("shop article {article} (SKU {sku}) is linked to another AccountView article; {code} is "
                          "not sent there", article=ids[0], sku=key, code=codes[0])
        if ids[0] in shop.with_variants:
            return reason("shop article {article} (SKU {sku}) has variants, whose stock comes from the products "
                          "flow's variant links: run the products flow", article=ids[0], sku=key)
        return ""

    def _find_shop_only(self, cycle: Cycle) -> None:
        """Shop articles no AccountView article stands for (a full cycle looks): each said once, left alone."""
        assert cycle.shop is not None
        for article_id, sku in cycle.shop.skus.items():
            if article_id in cycle.linked:
                continue
            cycle.shop_only += 1
            named = reason("SKU {sku}", sku=sku) if sku else reason("no SKU")
            self._shop_only[f"{SHOP_ONLY}{article_id}"] = reason(
                "shop article {article} ({named}): no AccountView article is linked to it or has its SKU; its "
                "stock is left as the shop has it", article=article_id, named=named)

    def _describe(self, cycle: Cycle, with_shop: bool) -> str:
        parked = sum(1 for plan in cycle.plans.values() if plan.problem)
        changed = len(cycle.plans) - parked
        log.info("stock.cycle", unchanged=cycle.unchanged, changed=changed, parked=parked,
                 not_in_shop=cycle.not_in_shop, shop_only=cycle.shop_only)
        compared = reason("the shop's current stock") if with_shop else reason("the values last sent")
        # Worded without a setting's name ("formula"): a reason that names none is read for the names in its text
        # (`record_actions.settings_to_fix`), and no setting fixes a summary.
        return reason("{unchanged} articles unchanged, {changed} changed, {parked} parked, {not_in_shop} not linked "
                      "to a shop article, {shop_only} shop articles without an AccountView article; shop stock = "
                      "{formula}, compared with {compared}", unchanged=f"{cycle.unchanged:,}", changed=f"{changed:,}",
                      parked=f"{parked:,}", not_in_shop=f"{cycle.not_in_shop:,}", shop_only=f"{cycle.shop_only:,}",
                      formula=self.formula.label, compared=compared)

    # -- one article -------------------------------------------------------------------------------------

    def sync(self, key: str, *, claimer: str = "") -> Record:
        """Write one article's stock to the shop, or park it, and say what happened."""
        name = key.partition("#")[0]
        if name == SUMMARY:
            return Record(ENTITY, SUMMARY, Outcome.SKIPPED, self._summary or reason("the cycle's figures are gone"))
        if name.startswith(SHOP_ONLY):
            return Record(ENTITY, name, Outcome.SKIPPED,
                          self._shop_only.get(name) or reason("no AccountView article"))
        with self._lock:
            plan = self._plans.pop(name, None)
        if plan is None:
            return Record(ENTITY, name, Outcome.SKIPPED, reason(
                "this cycle's figures are gone (its worker restarted, or a retry by hand): the next stock cycle "
                "compares the article again and sends it if it still differs"))
        if plan.blocked and plan.target is not None and not plan.problem:
            return self._keep_blocked(plan, plan.target)
        payload_in = {"article": plan.code, "formula": self.formula.label, **plan.inputs}
        if plan.problem or plan.target is None:
            return Record(ENTITY, plan.code, Outcome.NEEDS_ATTENTION, plan.problem, payload_in=payload_in)
        if plan.unmanaged_variant:
            return self._leave_unmanaged_variant(plan, plan.target, payload_in)
        target, wanted = plan.target, as_text(plan.value)
        try:
            write_stock(self.shop, target, plan.value)
        except NeedsAttention as error:
            if error.status != 404:
                raise
            raise NeedsAttention(reason(
                "{target} ({via} of AccountView article {code}) is gone from the shop: run the products flow, or "
                "forget the link so the article is matched again", target=target.describe(), via=plan.via,
                code=plan.code), system=error.system,
                status=404) from None
        self.links.remember_many([Link(ENTITY, plan.code, target.key, wanted)])
        before = plan.before or reason("never sent")
        return Record(ENTITY, plan.code, Outcome.SENT,
                      reason("stock {before} → {wanted} ({explanation}; {target}, by {via})", before=before,
                             wanted=wanted, explanation=plan.explanation, target=target.describe(), via=plan.via),
                      target_key=target.key, payload_in=payload_in,
                      payload_out={"target": target.key, "stock": plan.value})

    def _keep_blocked(self, plan: Plan, target: Target) -> Record:
        """A blocked article gets no stock from AccountView: under "hide" its target is made unorderable when
        the shop takes orders of it, under "leave" nothing is written; the link remembers the rule's mark."""
        payload_in = {"article": plan.code, "blocked": "yes", BLOCKED_SETTING: plan.blocked}
        payload_out: dict[str, Any] | None = None
        if plan.blocked == "leave":
            done = reason("{target} is left as it is", target=target.describe())
        else:
            stopped = stop_orders(self.shop, target)
            if not stopped.found:
                done = reason("{target} is not in the shop (any more), so nothing of it can be ordered",
                              target=target.describe())
            elif not stopped.before:
                done = reason("{target} could not be ordered already (stock 0, no backorder)",
                              target=target.describe())
            else:
                done = reason("{target} can't be ordered now: stock {before} → 0, no backorder",
                              target=target.describe(), before=stopped.before)
            if stopped.article_unlimited:
                # The shop counts the variant's own figures (the MijnWebwinkel sandbox README's "Stock"); a shop
                # reading an unlimited article as every variant's would not, and the API does not tell which it is.
                done = reason("{done}, unless the shop counts the unlimited stock of shop article {article} for "
                              "every variant", done=done, article=target.article_id)
            if stopped.before:
                payload_out = {"target": target.key, "stock": 0, "can_backorder": False}
        self.links.remember_many([Link(ENTITY, plan.code, target.key, BLOCKED_MARKS[plan.blocked])])
        why = fixed_in(BLOCKED_SETTING, reason(
            "AccountView article {code} is blocked: no stock sent; {done} (products setting blocked: {rule})",
            code=plan.code, done=done, rule=plan.blocked))
        return Record(ENTITY, plan.code, Outcome.SENT if payload_out else Outcome.SKIPPED, why,
                      target_key=target.key, payload_in=payload_in, payload_out=payload_out)

    def _leave_unmanaged_variant(self, plan: Plan, target: Target, payload_in: dict[str, Any]) -> Record:
        """AccountView does not manage the stock of an article that is a shop variant: the shop has no unlimited
        stock for a variant (its article's covers orders without one), so the variant keeps its own figures,
        said once (the link remembers "unlimited"); managed again, AccountView's stock is sent again."""
        self.links.remember_many([Link(ENTITY, plan.code, target.key, UNLIMITED)])
        why = fixed_in("managed", reason(
            "AccountView article {code}'s stock is not managed ({why}), but the shop has no unlimited stock for a "
            "variant: {target} keeps its own (allow it backorder in the shop to take orders beyond it)",
            code=plan.code, why=plan.unmanaged, target=target.describe()))
        return Record(ENTITY, plan.code, Outcome.SKIPPED, why, target_key=target.key, payload_in=payload_in)


def products_blocked(products: dict[str, Any] | None) -> str:
    """The products flow's `blocked` setting among an integration's products settings: read on its own, so
    the products settings' other problems (which stop that flow, not this one) leave the merchant's choice
    standing; ProductsSettings' default when it is not set (or the products flow not set up)."""
    chosen = (products or {}).get("blocked", DEFAULT_BLOCKED)
    return chosen if isinstance(chosen, str) and chosen in BLOCKED_RULES else DEFAULT_BLOCKED


def _factor_of(setting: str, raw: Any, what: str) -> Fraction:
    """A unit factor, or StockProblem naming the setting it came from."""
    try:
        return parse_factor(raw, what=what)
    except StockProblem as problem:
        problem.setting = setting
        raise


def _place(code: str, variants: dict[str, Link], products: dict[str, Link],
           sent: dict[str, Link]) -> tuple[Target, str] | None:
    """Where the article's stock goes: its variant, its product, or where the stock flow matched it."""
    for found, via in ((variants, reason("variant link")), (products, reason("product link")),
                       (sent, reason("stock link"))):
        link = found.get(code)
        target = Target.parse(link.target_key) if link else None
        if target is not None:
            return target, via
    return None


def _pages(items: Iterable[ArticleStock], size: int) -> Iterator[list[ArticleStock]]:
    """The articles a page at a time, the next page read while this one is looked at: AccountView's time to
    answer (and the rate limit's wait) then overlaps with the flow's work instead of adding to it. At most
    two pages are held besides the one in hand, so memory stays flat."""
    pages: queue.Queue[list[ArticleStock] | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def read() -> None:
        iterator = iter(items)
        try:
            while not stop.is_set() and (page := list(islice(iterator, size))):
                _offer(pages, page, stop)
            _offer(pages, None, stop)
        except BaseException as error:  # handed to the reader, which raises it
            _offer(pages, error, stop)

    reader = threading.Thread(target=read, name="stock-pages", daemon=True)
    reader.start()
    try:
        while (page := pages.get()) is not None:
            if isinstance(page, BaseException):
                raise page
            yield page
    finally:
        stop.set()
        reader.join()


def _offer(pages: queue.Queue[Any], item: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            pages.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def _find_many(links: BulkLinks, entities: tuple[str, ...], keys: list[str]) -> dict[str, dict[str, Link]]:
    """Links of many records in one read: entity → source key → link."""
    found: dict[str, dict[str, Link]] = {entity: {} for entity in entities}
    for link in links.find_many(entities, keys):
        found[link.entity][link.source_key] = link
    return found


def _open(integration: IntegrationClients, settings: StockSettings, links: Links) -> StockFlow:
    return StockFlow(integration.shop, integration.books, settings, links,
                     blocked=products_blocked(integration.flows.get("products")))


STOCK = declare(Flow(name="stock", entity=ENTITY, settings=StockSettings, open=_open))
__all__ = ["ENTITY", "STOCK", "UNLIMITED", "StockFlow"]
