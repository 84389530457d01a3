"""The stock flow's test world: the orders flow's world (tests/flows/world.py: both sandboxes seeded from
one catalogue, clients over real HTTP, links in memory), plus what stock tests do to it: AccountView stock
changed the way a warehouse changes it (the change date left alone), the products flow's links made by
hand, and the shop's stock and calls read back."""

from __future__ import annotations

from typing import Any, cast

from koppel.flows.links import MemoryLinks
from koppel.flows.stock import STOCK, StockFlow
from koppel.flows.stock_settings import StockSettings
from koppel.sync.runner import Result, run_here
from tests.flows.world import World


def stock_flow(world: World, **settings: Any) -> StockFlow:
    """A fresh cycle of the stock flow on the world's links, with these settings."""
    return StockFlow(world.shop, world.books, StockSettings.model_validate(settings), world.links)


def sync_stock(flow: StockFlow, *, full: bool = False) -> list[Result]:
    """One cycle through the runner, in this process; the summary record is left out."""
    summary = run_here(STOCK, flow, cast(MemoryLinks, flow.links), full=full)
    assert not summary.error, summary.error
    return [r for r in summary.results if not r.key.startswith("(cycle)")]


def cycle_summary(world: World) -> str:
    record = world.links.latest("(cycle)", entity="stock")
    return record.reason if record else ""


def by_code(results: list[Result]) -> dict[str, Result]:
    return {r.key.partition("#")[0]: r for r in results}


def set_books_stock(world: World, code: str, **columns: Any) -> None:
    """Change an AccountView article's columns in place (QTY_AVAIL=…, STOCK_ART=…), its change date
    untouched: stock moves without the article changing."""
    state = world.books_sandbox.state
    with state.lock:
        row = state.tables["ARTICLE"][code]
        row.update(columns)
        state.changed()  # reads cache their rows per version: a listing after this must see the change


def books_article(world: World, code: str) -> dict[str, Any]:
    return dict(world.books_sandbox.state.tables["ARTICLE"][code])


def add_books_article(world: World, code: str, *, like: str, **columns: Any) -> None:
    """A new AccountView article, a copy of `like` with its own code and these columns."""
    state = world.books_sandbox.state
    with state.lock:
        row = {**state.tables["ARTICLE"][like], "ART_CODE": code, **columns}
        state.tables["ARTICLE"][code] = row
        state.changed()


def shop_article(world: World, sku: str) -> dict[str, Any]:
    return next(a for a in world.shop_sandbox.state.articles.values() if a.get("sku") == sku)


def add_shop_article(world: World, *, like: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A new shop article, a copy of `like` (new id, created now) with these changes."""
    fresh = {k: v for k, v in like.items() if k not in _ASSIGNED}
    return world.shop_sandbox.add_article({**fresh, **changes})


_ASSIGNED = ("id", "uuid", "created_date", "created_time", "updated_date", "updated_time")


def shop_stock(world: World, article_id: int, variant_id: int | None = None) -> int | None:
    article = world.shop_sandbox.state.articles[article_id]
    if variant_id is None:
        return cast(int | None, article["stock"])
    return cast(int | None, next(v for v in article["variants"] if v["id"] == variant_id)["stock"])


def set_shop_stock(world: World, article_id: int, stock: int | None) -> None:
    with world.shop_sandbox.state.lock:
        world.shop_sandbox.state.articles[article_id]["stock"] = stock


def simple_articles(world: World) -> list[dict[str, Any]]:
    """Shop articles without variants whose SKU is an AccountView article code."""
    codes = world.books_sandbox.state.tables["ARTICLE"]
    return [a for a in world.shop_sandbox.state.articles.values() if not a["variants"] and a["sku"] in codes]


def variant_article(world: World) -> dict[str, Any]:
    return next(a for a in world.shop_sandbox.state.articles.values() if a["variants"])


def shop_writes(world: World) -> int:
    """PATCH calls the shop received since the last reset."""
    return sum(n for route, n in world.shop_sandbox.limits.calls.items() if route.startswith("PATCH"))


def shop_reads(world: World) -> int:
    return sum(n for route, n in world.shop_sandbox.limits.calls.items() if route.startswith("GET"))


def books_reads(world: World) -> int:
    return world.books_sandbox.limits.calls_json()["total"]  # type: ignore[no-any-return]


def reset_calls(world: World) -> None:
    world.shop_sandbox.limits.reset_calls()
    world.books_sandbox.limits.reset_calls()


def expected(world: World, code: str) -> int:
    """The default formula by hand: available − reserved, floored, never below 0."""
    row = books_article(world, code)
    available, reserved = float(row["QTY_AVAIL"] or 0), float(row["QTY_RSRV"] or 0)
    return max(0, int(available - reserved) if available >= reserved else 0)
