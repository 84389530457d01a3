"""How the sandbox composes an order (POST /orders, POST /orders/credit, and the seed): line totals and VAT
with Decimal (see `money.py` for the rounding rule), shipping, payment-cost and discount lines, the tax
strategy, and stock mutations.

A line's `price` is the line TOTAL (NOTES §7.7): {amount excl. VAT (6 decimals), amount_including_tax,
rate}, one part per VAT rate. Shipping is taxed as the tax region says (`shippingTaxMethod`: a fixed rate, or
pro rata over the article lines' rates); payment costs and discounts are split pro rata over the rates of
the article lines (so they may carry several parts). A sale to a consumer in another EU country whose tax
region the store has enabled (one-stop shop) is taxed at that country's rates.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from koppel.connectors.mijnwebwinkel.money import (
    HUNDRED,
    cents,
    excl_from_incl,
    fmt_cents,
    fmt_excl,
    fmt_rate,
    incl_from_excl,
    micros,
    split_pro_rata,
    to_decimal,
)
from koppel.connectors.mijnwebwinkel.sandbox.state import SandboxError, SandboxState

EU = {
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
}
COUNTRY_NAMES = {
    "NL": "Nederland",
    "BE": "België",
    "DE": "Duitsland",
    "FR": "Frankrijk",
    "GB": "Verenigd Koninkrijk",
    "US": "Verenigde Staten",
}
SHIPPING_RATE = Decimal(21)
ACTION_PRICE = "Action price"
NO_SHIPPING_LINE = {5, 6, 8}  # pickup at location, pickup at store, delivery without costs


def part(excl: Decimal, incl: Decimal, rate: Decimal) -> dict[str, str]:
    return {"amount": fmt_excl(excl), "amount_including_tax": fmt_cents(incl), "rate": fmt_rate(rate)}


def _money(value: Any, what: str) -> Decimal:
    try:
        return to_decimal(value)
    except ValueError:
        raise SandboxError(422, f"{what}: not an amount: {value!r}") from None


def destination_region(state: SandboxState, strategy: str, country: str) -> dict[str, Any] | None:
    """The destination's tax region when the store charges that country's VAT (EU one-stop shop): a sale
    without a zero-rating strategy to another country whose region the store has tax-enabled."""
    if strategy or country == state.store.get("region_code", "NL"):
        return None
    return next((r for r in state.tax_regions if r.get("regionCode") == country and r.get("taxEnabled")), None)


def home_region(state: SandboxState) -> dict[str, Any]:
    home = state.store.get("region_code", "NL")
    return next((r for r in state.tax_regions if r.get("regionCode") == home), {})


def _percent(fraction: Any, default: Decimal) -> Decimal:
    """A region's rate as a percentage: "0.21" → 21."""
    return to_decimal(fraction) * HUNDRED if fraction not in (None, "") else default


def region_rate(region: dict[str, Any], article: dict[str, Any]) -> Decimal:
    """An article's VAT rate in a tax region: its override (reduced rates), else the region's rate."""
    if article.get("taxable") is False:
        return Decimal(0)
    for override in region.get("overrides") or []:
        for item in override.get("items") or []:
            if item.get("type") == "product" and article.get("uuid") in (item.get("references") or []):
                return _percent(override.get("taxRate"), SHIPPING_RATE)
    return _percent(region.get("taxRate"), SHIPPING_RATE)


def tax_strategy(state: SandboxState, business_model: str, invoice: dict[str, Any], country: str) -> str:
    home = state.store.get("region_code", "NL")
    if country == home:
        return ""
    if (country in EU) != (home in EU):
        return "zero_percent"
    if business_model == "B2B" and invoice.get("taxnumber") and country in EU:
        return "reverse_charged_vat"
    return ""


class _Lines:
    """Collects lines and, per VAT rate, the totals the order's `price` is made from."""

    def __init__(
        self,
        state: SandboxState,
        prices_include_tax: bool,
        zero_rated: bool,
        region: dict[str, Any] | None = None,
    ) -> None:
        self.state = state
        self.prices_include_tax = prices_include_tax
        self.zero_rated = zero_rated
        self.region = region  # the destination's tax region (one-stop shop); None: the store's own rates
        self.lines: list[dict[str, Any]] = []
        self.article_incl: dict[Decimal, Decimal] = {}
        self.weight = Decimal(0)

    def amounts(self, unit: Decimal, quantity: int, rate: Decimal, *, unit_includes_tax: bool) -> tuple:
        """(excl, incl, rate) for `quantity` units at `unit`, honouring a zero-rating tax strategy."""
        if unit_includes_tax:
            incl = cents(unit * quantity)
            excl = excl_from_incl(incl, rate)
        else:
            excl = micros(unit * quantity)
            incl = incl_from_excl(excl, rate)
        if self.zero_rated:
            return excl, cents(excl), Decimal(0)
        return excl, incl, rate

    def add(self, line: dict[str, Any], *, article: bool) -> None:
        self.lines.append(line)
        if article:
            for p in line["price"]:
                rate = to_decimal(p["rate"])
                self.article_incl[rate] = self.article_incl.get(rate, Decimal(0)) + to_decimal(
                    p["amount_including_tax"]
                )

    def add_split(self, kind: str, description: str, incl: Decimal) -> None:
        """A shipping-free cost or discount split pro rata over the article lines' rates."""
        parts = split_pro_rata(incl, self.article_incl) or {SHIPPING_RATE: incl}
        price = [part(excl_from_incl(amount, rate), amount, rate) for rate, amount in parts.items()]
        self.lines.append(
            {
                "id": self.state.new_uuid(),
                "type": kind,
                "quantity": 1,
                "description": description,
                "weight": "0",
                "price": price,
            }
        )


def _option_lookup(article: dict[str, Any], option_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    for article_list in article.get("lists", []):
        for option in article_list["options"]:
            if option["id"] == option_id:
                return article_list, option
    raise SandboxError(422, f"Option {option_id} is not available for article {article['id']}")


def _article_line(state: SandboxState, lines: _Lines, line: dict[str, Any]) -> dict[str, Any]:
    entries = line.get("articles") or []
    if not entries or "id" not in entries[0]:
        raise SandboxError(422, "orderlines[].articles[0].id is required for an article line")
    article = state.article(int(entries[0]["id"]))
    quantity = int(line.get("quantity", 1))
    if quantity <= 0:
        raise SandboxError(422, "orderlines[].quantity must be positive")
    rate = region_rate(lines.region, article) if lines.region else to_decimal(state.vat_rate_of(article))
    includes = bool(state.store.get("prices_include_tax", True))

    def net(amount: Decimal) -> Decimal:
        return excl_from_incl(amount, rate) if includes else amount

    default = _money(article["price"].get("default") or "0", "price.default")
    action = article["price"].get("action")
    unit = _money(action, "price.action") if action not in (None, "") else default
    options_out: list[dict[str, Any]] = []
    names = []
    for chosen in entries[0].get("options") or []:
        article_list, option = _option_lookup(article, int(chosen["list_option_id"]))
        surcharge = _money(option.get("price") or "0", "option price")
        unit += surcharge
        names.append(option["name"])
        options_out.append(
            {
                "list_option_id": option["id"],
                "description": f"{article_list['name']}: {option['name']}",
                "price": {"amount": fmt_excl(net(surcharge)), "rate": fmt_rate(rate)},
            }
        )
    if action not in (None, ""):
        # A sale price shows as a pseudo-option with a negative amount (NOTES §7.7).
        options_out.append(
            {
                "description": ACTION_PRICE,
                "price": {
                    "amount": fmt_excl(net(_money(action, "price.action")) - net(default)),
                    "rate": fmt_rate(rate),
                },
            }
        )
    if line.get("price_override") not in (None, ""):
        unit = _money(line["price_override"], "price_override")
        includes = True
    excl, incl, line_rate = lines.amounts(unit, quantity, rate, unit_includes_tax=includes)
    weight = to_decimal((article.get("extra") or {}).get("invisible", {}).get("weight") or "0") * quantity
    lines.weight += weight
    detail = {
        "id": article["id"],
        "description": article["name"],
        "sku": article.get("sku") or "",
        "price": {"amount": fmt_excl(net(default)), "rate": fmt_rate(rate)},
        "options": options_out,
    }
    if article["price"].get("purchase") not in (None, ""):
        detail["price"]["purchase_price"] = article["price"]["purchase"]
    return {
        "id": state.new_uuid(),
        "type": "article",
        "quantity": quantity,
        "description": " - ".join([article["name"], *names]),
        "weight": f"{weight:f}",
        "price": [part(excl, incl, line_rate)],
        "articles": [detail],
        "_stock": (article, [int(c["list_option_id"]) for c in entries[0].get("options") or []], quantity),
    }


def _custom_line(lines: _Lines, line: dict[str, Any]) -> dict[str, Any]:
    unit_price = line.get("unit_price") or {}
    quantity = int(line.get("quantity", 1))
    rate = _money(unit_price.get("rate", "21"), "unit_price.rate")
    if unit_price.get("amount_including_tax") not in (None, ""):
        unit, includes = _money(unit_price["amount_including_tax"], "unit_price.amount_including_tax"), True
    elif unit_price.get("amount") not in (None, ""):
        unit, includes = _money(unit_price["amount"], "unit_price.amount"), False
    else:
        raise SandboxError(422, "custom lines need unit_price.amount or unit_price.amount_including_tax")
    excl, incl, line_rate = lines.amounts(unit, quantity, rate, unit_includes_tax=includes)
    weight = to_decimal(line.get("unit_weight") or "0") * quantity
    lines.weight += weight
    return {
        "id": lines.state.new_uuid(),
        "type": "custom",
        "quantity": quantity,
        "description": line.get("description") or "",
        "weight": f"{weight:f}",
        "price": [part(excl, incl, line_rate)],
    }


def _variant_for(article: dict[str, Any], option_ids: list[int]) -> dict[str, Any] | None:
    wanted = set(option_ids)
    for variant in article.get("variants", []):
        if {o["option_id"] for o in variant["options"]} == wanted:
            return variant
    return None


def _stock_holder(state: SandboxState, article: dict[str, Any], option_ids: list[int]) -> dict[str, Any] | None:
    """Where an order line's stock is kept; None when its stock is not managed.

    The chosen variant keeps its own stock whatever the article's: NOTES §8.3's example (an article with
    `stock: null`, variants at 12 and 0) and "stock is per variants[] entry" (§7, quirk 5) read so. The
    article's `stock: null` covers lines without a variant; a variant's own `null` (quirk
    `variant_stock_unlimited`) that variant. The reference leaves this open: under the quirk
    `article_stock_null_frees_variants` an unmanaged article takes no stock from any of its variants."""
    if state.quirks.article_stock_null_frees_variants and article.get("stock") is None:
        return None
    holder = (_variant_for(article, option_ids) if option_ids else None) or article
    return None if holder.get("stock") is None else holder


def _stock_name(article: dict[str, Any], holder: dict[str, Any]) -> str:
    """The stock holder as a 422 names it."""
    if holder is article:
        return f"article {article['id']}"
    return f"article {article['id']}, variant {holder['id']}"


def mutate_stock(state: SandboxState, lines: list[dict[str, Any]], *, sign: int, override_stock: bool) -> None:
    """Take (sign −1) or return (+1) stock for article lines; refuse when short unless the holder (the
    variant, else the article) allows backorder or stock is overridden. All or nothing."""
    holders = [(_stock_holder(state, *line["_stock"][:2]), line["_stock"]) for line in lines]
    wanted: dict[int, int] = {}  # per holder: two lines of one variant draw on the same stock
    for holder, (article, _, quantity) in holders:
        if holder is None or sign > 0 or override_stock or holder.get("can_backorder"):
            continue
        wanted[id(holder)] = wanted.get(id(holder), 0) + quantity
        if holder["stock"] < wanted[id(holder)]:
            raise SandboxError(
                422,
                f"Insufficient stock for {_stock_name(article, holder)}: {holder['stock']} in stock, "
                f"{wanted[id(holder)]} ordered",
            )
    for holder, (_, _, quantity) in holders:
        if holder is not None:
            holder["stock"] += sign * quantity


def totals(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """`price` of an order from its lines: total = Σ incl.; VAT per rate = Σ incl. − Σ excl., to the cent."""
    per_rate: dict[Decimal, list[Decimal]] = {}
    total = Decimal(0)
    for line in lines:
        for p in line["price"]:
            rate = to_decimal(p["rate"])
            incl, excl = to_decimal(p["amount_including_tax"]), to_decimal(p["amount"])
            sums = per_rate.setdefault(rate, [Decimal(0), Decimal(0)])
            sums[0] += incl
            sums[1] += excl
            total += incl
    tax = [
        {"rate": fmt_rate(rate), "amount": fmt_cents(incl - excl)}
        for rate, (incl, excl) in sorted(per_rate.items(), reverse=True)
    ]
    return {"tax": tax, "total": fmt_cents(total)}


def build_order(
    state: SandboxState,
    body: dict[str, Any],
    *,
    number: int | str | None = None,
    test: bool = False,
    override_stock: bool = False,
    disable_shipping: bool = False,
    mutate: bool = True,
    date: str | None = None,
    time: str | None = None,
) -> dict[str, Any]:
    """Compose and store an order from an `OrderPostable` body, as POST /orders does; returns it."""
    debtor = body.get("debtor") or {}
    invoice = (debtor.get("address") or {}).get("invoice") or {}
    if not debtor.get("email") or not invoice.get("name") or not invoice.get("zipcode"):
        raise SandboxError(422, "debtor.email, debtor.address.invoice.name and .zipcode are required")
    if not body.get("orderlines"):
        raise SandboxError(422, "orderlines is required")
    status = int(body.get("status", 1))
    if status not in state.status_ids(credit=False):
        raise SandboxError(422, f"Unknown order status {status}")
    delivery = (debtor.get("address") or {}).get("delivery")
    country = (delivery or invoice).get("country_code") or state.store.get("region_code", "NL")
    business_model = body.get("business_model") or ("B2B" if invoice.get("company") else "B2C")
    if business_model == "B2B" and not invoice.get("company"):
        raise SandboxError(422, "business_model B2B needs debtor.address.invoice.company")
    strategy = tax_strategy(state, business_model, invoice, country)
    region = destination_region(state, strategy, country)
    lines = _Lines(state, bool(state.store.get("prices_include_tax", True)), zero_rated=bool(strategy), region=region)

    with state.lock:
        for line in body["orderlines"]:
            kind = line.get("type")
            if kind == "article":
                lines.add(_article_line(state, lines, line), article=True)
            elif kind == "custom":
                lines.add(_custom_line(lines, line), article=True)
            else:
                raise SandboxError(422, f"orderlines[].type must be article or custom, not {kind!r}")
        subtotal = sum(lines.article_incl.values(), Decimal(0))
        code = body.get("discountcode") or ""
        if code:
            if code not in state.discount_codes:
                raise SandboxError(422, f"Unknown discount code {code}")
            discount = -cents(subtotal * to_decimal(state.discount_codes[code]) / HUNDRED)
            if discount:
                lines.add_split("discount", f"Kortingscode {code}", discount)
        if not disable_shipping and int(body.get("shipping_type", 1)) not in NO_SHIPPING_LINE:
            _add_shipping(state, lines, body, country, subtotal)
        payment = body.get("payment") or {}
        fee = state.payment_fees.get(payment.get("method_name") or "")
        if fee:
            lines.add_split("payment", "Transactiekosten", to_decimal(fee))
        article_lines = [line for line in lines.lines if "_stock" in line]
        if mutate:
            mutate_stock(state, article_lines, sign=-1, override_stock=override_stock)
        for line in article_lines:
            del line["_stock"]

        today, now = state.now()
        number = number if number is not None else state.next_id("order")
        order = {
            "number": f"T-{number}" if test else number,
            "uuid": state.new_uuid(),
            "date": date or today,
            "time": time or now,
            "status": status,
            "status_changed_date": date or today,
            "status_changed_time": time or now,
            "archived": bool(body.get("archived", False)),
            "finished": True,
            "weight": f"{lines.weight:f}",
            "taxed": "include" if state.store.get("prices_include_tax", True) else "exclude",
            "locale": "nl_NL",
            "discountcode": code,
            "currency": state.store.get("currency", "EUR"),
            "currency_format_locale": state.store.get("currency_format_locale", "nl_NL"),
            "credit_order_numbers": [],
            "comments": {
                "customer": (body.get("comments") or {}).get("customer", ""),
                "internal": (body.get("comments") or {}).get("internal", ""),
            },
            "business_model": business_model,
            "tax_region": region["regionCode"] if region else state.store.get("region_code", "NL"),
            "tax_strategy": strategy,
            "payment_status": "captured" if (payment.get("status") or {}).get("id") == 1 else "pending",
            "payment": {
                "gateway_name": payment.get("gateway_name", "basic"),
                "method_name": payment.get("method_name", "bank_transfer"),
                "status": {
                    "id": (payment.get("status") or {}).get("id", 5),
                    "text": _PAYMENT_TEXT.get((payment.get("status") or {}).get("id", 5), ""),
                },
            },
            "debtor": _debtor(debtor),
            "price": totals(lines.lines),
            "orderlines": lines.lines,
            "shipping": [{"country": {"description": COUNTRY_NAMES.get(country, country), "isocode": country}}],
        }
        if business_model == "B2B" and body.get("reference"):
            order["reference"] = body["reference"]
        state.orders[str(order["number"])] = order
        return order


_PAYMENT_TEXT = {
    0: "Unknown",
    1: "Successful",
    2: "Cancelled",
    3: "Failed",
    4: "Expired",
    5: "Pending",
    6: "Refused",
    7: "Refunded",
}


def _debtor(debtor: dict[str, Any]) -> dict[str, Any]:
    fields = ("gender", "name", "company", "phone", "street", "number", "zipcode", "city", "country_code")
    address = debtor.get("address") or {}
    invoice = {k: str(address["invoice"].get(k) or "") for k in (*fields, "taxnumber", "bankaccount")}
    out: dict[str, Any] = {"id": debtor.get("id"), "email": debtor["email"], "address": {"invoice": invoice}}
    if address.get("delivery"):
        out["address"]["delivery"] = {k: str(address["delivery"].get(k) or "") for k in fields}
    if out["id"] is None:
        del out["id"]
    return out


def _add_shipping(state: SandboxState, lines: _Lines, body: dict[str, Any], country: str, subtotal: Decimal) -> None:
    method_id = body.get("shipping_method_id")
    if method_id is not None:
        method = state.shipping_method(str(method_id))
    else:
        candidates = [m for m in state.shipping_methods if country in m.get("countries", [])]
        if not candidates:
            return
        method = next((m for m in candidates if m.get("default")), candidates[0])
    cost = to_decimal(method.get("_cost", "0"))
    threshold = method.get("no_costs_above")
    if cost == 0 or (threshold not in (None, "", False) and subtotal >= to_decimal(threshold)):
        return
    lines.lines.append(
        {
            "id": state.new_uuid(),
            "type": "shipping",
            "quantity": 1,
            "description": method["display_name"],
            "weight": "0",
            "price": _shipping_price(state, lines, cost),
        }
    )


def _shipping_price(state: SandboxState, lines: _Lines, cost: Decimal) -> list[dict[str, str]]:
    """Shipping VAT by the tax region's `shippingTaxMethod`: "fixed" at its `shippingTaxRate`, or
    "proportional" over the article lines' rates; zero-rated sales charge the cost without VAT."""
    region = lines.region or home_region(state)
    fixed = _percent(region.get("shippingTaxRate"), SHIPPING_RATE)
    if lines.zero_rated:
        excl = excl_from_incl(cost, fixed)
        return [part(excl, cents(excl), Decimal(0))]
    shares = split_pro_rata(cost, lines.article_incl) if region.get("shippingTaxMethod") == "proportional" else {}
    if not shares:
        return [part(excl_from_incl(cost, fixed), cost, fixed)]
    return [part(excl_from_incl(amount, rate), amount, rate) for rate, amount in shares.items()]


def _negated(state: SandboxState, line: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in line.items() if k != "_stock"}
    out["id"] = state.new_uuid()
    out["price"] = [
        {
            "amount": fmt_excl(-to_decimal(p["amount"])),
            "amount_including_tax": fmt_cents(-to_decimal(p["amount_including_tax"])),
            "rate": p["rate"],
        }
        for p in line["price"]
    ]
    return out


def build_credit_order(
    state: SandboxState,
    body: dict[str, Any],
    *,
    mutate: bool = True,
    date: str | None = None,
    time: str | None = None,
) -> dict[str, Any]:
    """Compose a credit order as POST /orders/credit does. Assumption (undocumented): a credit order's
    lines keep positive quantities and carry negative amounts, so its total is negative."""
    with state.lock:
        original = state.order(str(body.get("credited_order_number", "")))
        status = int(body.get("status", 0))
        if status not in state.status_ids(credit=True):
            raise SandboxError(422, f"Status {status} is not a credit-order status")
        if not body.get("orderlines"):
            raise SandboxError(422, "orderlines is required")
        zero = original.get("tax_strategy") not in (None, "")
        region = destination_region(state, original.get("tax_strategy") or "", str(original.get("tax_region") or ""))
        lines = _Lines(state, bool(state.store.get("prices_include_tax", True)), zero_rated=zero, region=region)
        for line in body["orderlines"]:
            if line.get("type") == "article":
                lines.add(_article_line(state, lines, line), article=True)
            else:
                lines.add(_custom_line(lines, line), article=True)
        returned = [line for line in lines.lines if "_stock" in line]
        if mutate:
            mutate_stock(state, returned, sign=+1, override_stock=True)
        credit_lines = [_negated(state, line) for line in lines.lines]
        for kind, key in (("shipping", "shipping_costs"), ("payment", "payment_costs")):
            given = body.get(key)
            for line in original["orderlines"]:
                if line["type"] != kind:
                    continue
                if given is None:
                    credit_lines.append(_negated(state, line))
                elif to_decimal(given) != 0:
                    rate = to_decimal(line["price"][0]["rate"])
                    excl = _money(given, key)
                    credit_lines.append(
                        _negated(state, {**line, "price": [part(excl, incl_from_excl(excl, rate), rate)]})
                    )
        today, now = state.now()
        number = state.next_id("order")
        order = {k: v for k, v in original.items() if k not in ("orderlines", "price", "credit_order_numbers")}
        order.update(
            {
                "number": number,
                "uuid": state.new_uuid(),
                "date": date or today,
                "time": time or now,
                "status": status,
                "status_changed_date": date or today,
                "status_changed_time": time or now,
                "archived": bool(body.get("archived", False)),
                "discountcode": "",
                "credited_order_number": _as_int(original["number"]),
                "credit_order_numbers": [],
                "orderlines": credit_lines,
                "price": totals(credit_lines),
                "comments": {
                    "customer": (body.get("comments") or {}).get("customer", ""),
                    "internal": (body.get("comments") or {}).get("internal", ""),
                },
            }
        )
        original["credit_order_numbers"].append(number)
        state.orders[str(number)] = order
        return order


def _as_int(number: int | str) -> int | str:
    try:
        return int(number)
    except (TypeError, ValueError):
        return number
