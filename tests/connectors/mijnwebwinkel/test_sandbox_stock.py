"""Stock on orders in the sandbox: where an order line's stock is kept (the chosen variant, else the article)
and what an article's `stock: null` means for its variants, under both readings the reference leaves open
(default: a variant keeps its own stock; quirk `article_stock_null_frees_variants`: it is unlimited too).
Everything goes through the sandbox's HTTP API, with articles made for each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from koppel.connectors.mijnwebwinkel.sandbox import MijnWebwinkelSandbox, SandboxInfo

DEBTOR = {"email": "tote@example.nl", "address": {"invoice": {"name": "Tessa Tas", "zipcode": "3511AB"}}}
FREES = "article_stock_null_frees_variants"


@pytest.fixture
def http(info: SandboxInfo) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=info.url, timeout=5, params={"token": info.token, "partner_token": info.partner_token}
    ) as client:
        yield client


@pytest.fixture
def colours(sandbox: MijnWebwinkelSandbox) -> dict[str, Any]:
    return sandbox.add_option_list("Colour", [{"name": "Natural", "price": "0.00"}, {"name": "Black", "price": "2.00"}])


def make_tote(
    sandbox: MijnWebwinkelSandbox,
    http: httpx.Client,
    colours: dict[str, Any],
    *,
    stock: int | None,
    natural: int | None,
    black: int | None,
    can_backorder: bool = False,
) -> dict[str, Any]:
    """NOTES §8.3's canvas tote: an article with its own stock and one variant per colour, with theirs.
    A variant's `None` needs the quirk `variant_stock_unlimited` to be accepted."""
    category = next(iter(sandbox.state.categories))
    made = http.post(
        "/v1/articles",
        json={
            "name": "Canvas tote",
            "price": {"default": "24.95"},
            "stock": stock,
            "can_backorder": can_backorder,
            "categories": [{"category_id": category, "is_main": True, "is_active": True}],
            "lists": [{"id": colours["id"], "options": [{"id": o["id"]} for o in colours["options"]]}],
        },
    )
    assert made.status_code == 200, made.text
    article = made.json()
    by_name = {v["options"][0]["name"]: v["id"] for v in article["variants"]}
    patched = http.patch(
        f"/v1/articles/{article['id']}",
        json={"variants": [{"id": by_name["Natural"], "stock": natural}, {"id": by_name["Black"], "stock": black}]},
    )
    assert patched.status_code == 200, patched.text
    return patched.json()


def option(colours: dict[str, Any], name: str) -> int:
    return next(o["id"] for o in colours["options"] if o["name"] == name)


def line(article: dict[str, Any], quantity: int, *option_ids: int) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": article["id"]}
    if option_ids:
        entry["options"] = [{"list_option_id": o} for o in option_ids]
    return {"type": "article", "quantity": quantity, "articles": [entry]}


def order(http: httpx.Client, *lines: dict[str, Any], **params: str) -> httpx.Response:
    return http.post("/v1/orders", json={"debtor": DEBTOR, "orderlines": list(lines)}, params=params)


def stocks(http: httpx.Client, article: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The article's stock and its variants' by option name, as the API shows them now."""
    now = http.get(f"/v1/articles/{article['id']}").json()
    return now["stock"], {v["options"][0]["name"]: v["stock"] for v in now["variants"]}


@pytest.mark.parametrize("frees", [False, True], ids=["default", FREES])
def test_a_sold_out_variant_of_an_unmanaged_article_is_refused_unless_the_quirk_frees_it(
    sandbox: MijnWebwinkelSandbox, http: httpx.Client, colours: dict[str, Any], frees: bool
) -> None:
    sandbox.state.quirks.update({FREES: frees})
    tote = make_tote(sandbox, http, colours, stock=None, natural=12, black=0)
    black = option(colours, "Black")
    answer = order(http, line(tote, 1, black))
    if frees:
        assert answer.status_code == 200, answer.text
    else:
        assert answer.status_code == 422
        variant = next(v["id"] for v in tote["variants"] if v["options"][0]["name"] == "Black")
        detail = answer.json()["detail"]
        assert detail.startswith("Insufficient stock") and f"variant {variant}" in detail and "0 in stock" in detail
    # Either way nothing is taken: refused, or unlimited under the quirk.
    assert stocks(http, tote) == (None, {"Natural": 12, "Black": 0})


@pytest.mark.parametrize("frees", [False, True], ids=["default", FREES])
def test_an_order_takes_a_variants_stock_and_its_credit_order_returns_it(
    sandbox: MijnWebwinkelSandbox, http: httpx.Client, colours: dict[str, Any], frees: bool
) -> None:
    sandbox.state.quirks.update({FREES: frees})
    tote = make_tote(sandbox, http, colours, stock=None, natural=3, black=5)
    natural = option(colours, "Natural")
    made = order(http, line(tote, 2, natural))
    assert made.status_code == 200, made.text
    taken = 3 if frees else 1  # under the quirk the article's null leaves every variant untouched
    assert stocks(http, tote) == (None, {"Natural": taken, "Black": 5})
    if not frees:
        assert order(http, line(tote, 2, natural)).status_code == 422  # 1 left
    credit = http.post(
        "/v1/orders/credit",
        json={
            "credited_order_number": str(made.json()["number"]),
            "status": 10,
            "orderlines": [line(tote, 2, natural)],
        },
    )
    assert credit.status_code == 200, credit.text
    assert stocks(http, tote) == (None, {"Natural": 3, "Black": 5})


def test_a_credit_order_without_stock_mutation_returns_nothing(
    sandbox: MijnWebwinkelSandbox, http: httpx.Client, colours: dict[str, Any]
) -> None:
    tote = make_tote(sandbox, http, colours, stock=None, natural=3, black=5)
    made = order(http, line(tote, 2, option(colours, "Black")))
    credit = http.post(
        "/v1/orders/credit",
        json={
            "credited_order_number": str(made.json()["number"]),
            "status": 10,
            "orderlines": [line(tote, 2, option(colours, "Black"))],
        },
        params={"mutate_stock": "false"},
    )
    assert credit.status_code == 200, credit.text
    assert stocks(http, tote) == (None, {"Natural": 3, "Black": 3})


def test_backorder_on_the_variant_lets_it_be_ordered_beyond_its_stock(
    sandbox: MijnWebwinkelSandbox, http: httpx.Client, colours: dict[str, Any]
) -> None:
    tote = make_tote(sandbox, http, colours, stock=None, natural=0, black=0)
    natural = next(v["id"] for v in tote["variants"] if v["options"][0]["name"] == "Natural")
    backorder = http.patch(f"/v1/articles/{tote['id']}", json={"variants": [{"id": natural, "can_backorder": True}]})
    assert backorder.status_code == 200, backorder.text
    assert order(http, line(tote, 2, option(colours, "Natural"))).status_code == 200
    # Backorder takes the stock below zero, as override_stock does ("mutations are still applied").
    assert stocks(http, tote) == (None, {"Natural": -2, "Black": 0})
    assert order(http, line(tote, 1, option(colours, "Black"))).status_code == 422


def test_the_articles_backorder_does_not_free_a_variant(
    sandbox: MijnWebwinkelSandbox, http: httpx.Client, colours: dict[str, Any]
) -> None:
    tote = make_tote(sandbox, http, colours, stock=None, natural=0, black=0, can_backorder=True)
    assert order(http, line(tote, 1, option(colours, "Black"))).status_code == 422
    assert order(http, line(tote, 1)).status_code == 200  # a line without a variant: the article's null


@pytest.mark.parametrize("frees", [False, True], ids=["default", FREES])
def test_a_managed_articles_variants_keep_their_own_stock_under_both_readings(
    sandbox: MijnWebwinkelSandbox, http: httpx.Client, colours: dict[str, Any], frees: bool
) -> None:
    sandbox.state.quirks.update({FREES: frees})
    tote = make_tote(sandbox, http, colours, stock=15, natural=3, black=0)
    assert order(http, line(tote, 1, option(colours, "Black"))).status_code == 422
    assert order(http, line(tote, 3, option(colours, "Natural"))).status_code == 200
    assert stocks(http, tote) == (15, {"Natural": 0, "Black": 0})  # the article's own figure is not touched
    assert order(http, line(tote, 4)).status_code == 200  # a line without a variant takes the article's
    assert stocks(http, tote) == (11, {"Natural": 0, "Black": 0})


def test_lines_of_one_variant_count_together_and_a_refused_order_takes_nothing(
    sandbox: MijnWebwinkelSandbox, http: httpx.Client, colours: dict[str, Any]
) -> None:
    tote = make_tote(sandbox, http, colours, stock=None, natural=3, black=5)
    natural, black = option(colours, "Natural"), option(colours, "Black")
    refused = order(http, line(tote, 1, black), line(tote, 2, natural), line(tote, 2, natural))
    assert refused.status_code == 422 and "4 ordered" in refused.json()["detail"]
    assert stocks(http, tote) == (None, {"Natural": 3, "Black": 5})
    assert order(http, line(tote, 1, black), line(tote, 2, natural), line(tote, 1, natural)).status_code == 200
    assert stocks(http, tote) == (None, {"Natural": 0, "Black": 4})


def test_override_stock_accepts_and_still_takes_it(
    sandbox: MijnWebwinkelSandbox, http: httpx.Client, colours: dict[str, Any]
) -> None:
    tote = make_tote(sandbox, http, colours, stock=None, natural=1, black=0)
    assert order(http, line(tote, 2, option(colours, "Black")), override_stock="true").status_code == 200
    assert stocks(http, tote) == (None, {"Natural": 1, "Black": -2})


def test_a_variant_with_its_own_unlimited_stock_takes_orders_without_a_count(
    sandbox: MijnWebwinkelSandbox, http: httpx.Client, colours: dict[str, Any]
) -> None:
    sandbox.state.quirks.update({"variant_stock_unlimited": True})
    tote = make_tote(sandbox, http, colours, stock=5, natural=None, black=0)
    assert order(http, line(tote, 9, option(colours, "Natural"))).status_code == 200
    assert order(http, line(tote, 1, option(colours, "Black"))).status_code == 422
    assert stocks(http, tote) == (5, {"Natural": None, "Black": 0})
