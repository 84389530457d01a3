"""The words the flows' questions are asked in, translated: a label and a help text per known setting, the
labels of choices and table rows. A setting not named here is still asked, by its own name and the
description its settings model gives it."""

from __future__ import annotations

from typing import Any, TypeAlias

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Text: TypeAlias = str | Promise

LABELS: dict[tuple[str, str], tuple[Text, Text]] = {
    ("orders", "statuses"): (_("Order statuses to send"), _(
        "Orders in these statuses of your shop go to AccountView. Usually the paid ones.")),
    ("orders", "write_as"): (_("Write orders as"), _(
        "A sales order (you invoice in AccountView) or an invoice booked at once.")),
    ("orders", "default_debtor"): (_("Default debtor"), _(
        "The AccountView debtor number for orders without an e-mail address (or for all orders, when forced).")),
    ("orders", "force_default_debtor"): (_("Always use the default debtor"), _(
        "Book every order on the default debtor instead of one debtor per customer.")),
    ("orders", "vat_codes"): (_("VAT codes"), _(
        "The AccountView VAT code for each VAT rate of your shop, and per country for EU one-stop-shop sales.")),
    ("orders", "payment_methods"): (_("Payment methods"), _(
        "The AccountView payment method for each payment method of your shop.")),
    ("orders", "payment_terms"): (_("Payment terms"), _(
        "The AccountView payment terms for each payment method of your shop.")),
    ("orders", "shipping_article"): (_("Shipping costs article"), _("The AccountView article shipping costs go on.")),
    ("orders", "payment_cost_article"): (_("Payment costs article"), _(
        "The AccountView article payment costs go on.")),
    ("orders", "discount_article"): (_("Discount article"), _("The AccountView article discounts go on.")),
    ("orders", "rounding_article"): (_("Rounding article"), _(
        "An AccountView article for a rounding line of a few cents; empty: such orders are parked.")),
    ("orders", "revenue_accounts"): (_("Revenue accounts"), _(
        "Invoices only: the revenue account per kind of line.")),
    ("orders", "invoice_journal"): (_("Sales journal"), _(
        "Invoices only: the journal; empty: the journal named Verkoopboek.")),
    ("orders", "interval_seconds"): (_("Check every (seconds)"), _("How often Koppel looks for new orders.")),
    ("orders", "include_test_orders"): (_("Send test orders too"), ""),
    ("orders", "orders_from"): (_("Orders from"), _("The first run ignores orders placed before this day.")),
    ("orders", "update_existing_debtor"): (_("Update existing debtors"), _(
        "Keep a known customer's debtor up to date with the shop's address.")),
    ("orders", "credit_orders"): (_("Credit orders"), _(
        "Park credit orders for booking by hand, or book them as a credit of the original.")),
    ("orders", "total_tolerance"): (_("Rounding tolerance"), _(
        "The largest difference in an order's totals taken for rounding (a rounding line carries it); a larger one "
        "parks the order.")),
    ("orders", "match_debtor_on"): (_("Find customers by"), _(
        "Koppel finds a customer's debtor in AccountView by this.")),
    ("orders", "match_articles_on_ean"): (_("Find articles by EAN too"), _(
        "Find an order line's AccountView article by its EAN when no article has its SKU as code.")),
    ("orders", "truncate_long_fields"): (_("Shorten over-long texts"), _(
        "Cut a text longer than its AccountView field allows, with a warning, instead of parking the "
        "order.")),
    ("orders", "text_outside_code_page"): (_("Letters AccountView can't store"), _(
        "Letters and signs outside AccountView's code page (Ł, emoji): the closest letters with a "
        "warning, or park the order.")),
    ("orders", "overlap_minutes"): (_("Look back (minutes)"), _(
        "Each check reads again this many minutes before the previous one, so nothing that changed "
        "meanwhile is missed.")),
    ("products", "interval_seconds"): (_("Check every (seconds)"), ""),
    ("products", "select"): (_("Articles for the shop"), _(
        "All articles, those of the article groups below, or those whose webshop flag is set in AccountView.")),
    ("products", "groups"): (_("Article groups"), _(
        "The AccountView article group codes whose articles go to the shop (with 'Articles of these groups').")),
    ("products", "variants"): (_("Variant products"), _(
        "How AccountView articles form one shop product with variants: the rule (parent_field, code_pattern or "
        "table) and the attributes the variants differ in.")),
    ("products", "category_parents"): (_("Parent categories"), _(
        "Per article group code its parent: another article group code, or a shop category id (digits).")),
    ("products", "update_product_info"): (_("Update product texts too"), _(
        "On every update, also send names, descriptions, images, features and categories; off: they "
        "are sent when the product is made, and what the shop added stays.")),
    ("products", "match_on"): (_("Find shop products by"), _(
        "How Koppel finds a product already in the shop (on the first sync, or after a lost answer).")),
    ("products", "default_category"): (_("Default category"), _(
        "The shop category id for articles without an article group; empty: such articles are parked.")),
    ("products", "blocked"): (_("Blocked articles"), _(
        "An article blocked in AccountView: hidden in the shop (never deleted), or left as it is; a "
        "blocked variant can no longer be ordered, or is left as it is. Stock follows this too: a blocked "
        "article gets no stock from AccountView; with 'Hide in the shop' it can no longer be ordered, with "
        "'Leave as it is' its stock in the shop stays as it is.")),
    ("products", "images"): (_("Send images"), _(
        "Send the AccountView article's image to the shop.")),
    ("products", "max_image_bytes"): (_("Largest image (bytes)"), _(
        "A larger image is refused, and its article parked.")),
    ("products", "overlap_minutes"): (_("Look back (minutes)"), _(
        "Each check reads again this many minutes before the previous one, so nothing that changed "
        "meanwhile is missed.")),
    ("products", "features"): (_("Article fields (features)"), _(
        "The shop's article fields (country of origin, delivery time…) filled from AccountView fields, e.g. "
        "[{\"field\": \"CNT_ORIG\", \"name\": \"Land van herkomst\", \"visible\": true}]; visible: false keeps "
        "a field from shop visitors.")),
    ("stock", "interval_seconds"): (_("Check every (seconds)"), ""),
    ("stock", "formula"): (_("Stock to show in the shop"), ""),
    ("stock", "max_stock"): (_("Maximum stock"), _(
        "A stock figure above this is taken for a mistake: the article is parked.")),
    ("stock", "expression"): (_("Own formula"), _(
        "With 'Own formula (below)': an expression over available, reserved, free and technical, e.g."
        " available - reserved - 2 (a safety margin).")),
    ("stock", "managed"): (_("Stock kept by the shop"), _(
        "For which articles the shop keeps stock: all, none (all unlimited in the shop), or per "
        "article as AccountView marks it.")),
    ("stock", "unit_factor_field"): (_("Field with the unit factor"), _(
        "The AccountView article field holding how many AccountView units make one shop unit (e.g. "
        "the pack content); empty or 0 counts as 1.")),
    ("stock", "unit_factors"): (_("Unit factors"), _(
        "Per article code: AccountView units per shop unit ('6': sold per six; '1/12': AccountView "
        "counts dozens, the shop pieces); wins over the field above.")),
    ("stock", "match_on_sku"): (_("Find unlinked articles by SKU"), _(
        "Articles the products flow never linked: find them in the shop by SKU (the AccountView "
        "article code).")),
    ("stock", "compare_with"): (_("Compare with"), _(
        "Send an article's stock when it differs from what Koppel last sent (no reads from the shop),"
        " or from the shop's own figure.")),
    ("stock", "sku_overlap_minutes"): (_("Look back for new shop articles (minutes)"), _(
        "With 'Find unlinked articles by SKU': shop articles made this long before the last run are "
        "looked at again.")),
}
ESSENTIAL: dict[str, tuple[str, ...]] = {
    "orders": ("statuses", "write_as", "default_debtor", "force_default_debtor", "vat_codes", "payment_methods",
               "payment_terms", "shipping_article", "payment_cost_article", "discount_article", "rounding_article",
               "revenue_accounts", "invoice_journal"),
    "products": ("match_on", "update_product_info"),
    "stock": ("formula", "managed"),
}
CHOICES: dict[str, Text] = {
    "sales_order": _("Sales order"),
    "invoice": _("Invoice"),
    "park": _("Park for booking by hand"),
    "book": _("Book as a credit"),
    "all": _("All articles"),
    "groups": _("Articles of these groups"),
    "flag": _("Articles with the webshop flag"),
    "hide": _("Hide in the shop"),
    "leave": _("Leave as it is"),
    "free": _("Free stock"),
    "technical": _("Technical stock"),
    "custom": _("Own formula (below)"),
    "none": _("None"),
    "per_article": _("Per article, as AccountView marks it"),
    "last_sent": _("What Koppel last sent"),
    "shop": _("The shop's stock"),
    "transliterate": _("Closest letters, with a warning"),
    "available_minus_reserved": _("Available minus reserved for sales orders"),
    "available": _("Available"),
    "on_hand": _("On hand"),
    "sku": _("Article code (SKU)"),
    "ean": _("EAN"),
    "email": _("E-mail address"),
}
ROWS: dict[str, Text] = {
    "reverse_charge": _("Reverse charge (EU business)"),
    "export": _("Export outside the EU"),
    "article": _("Articles"),
    "custom": _("Custom lines"),
    "shipping": _("Shipping costs"),
    "payment": _("Payment costs"),
    "discount": _("Discounts"),
    "rounding": _("Rounding"),
}
FLOWS: dict[str, tuple[Text, Text]] = {
    "orders": (_("Orders"), _("Shop orders into AccountView, as sales orders or invoices.")),
    "products": (_("Products"), _("AccountView articles into the shop, with categories, variants and images.")),
    "stock": (_("Stock"), _("AccountView stock into the shop.")),
}
GUIDES: dict[str, Text] = {"wizard": _("The setup wizard"), "mijnwebwinkel": "MijnWebwinkel",
                           "accountview": "AccountView"}
OUTCOMES: dict[str, Text] = {
    "would_send": _("would send"),
    "sent": _("sent"),
    "skipped": _("skipped"),
    "needs_attention": _("parked: needs attention"),
    "retry": _("parked: try again"),
    "broken_connection": _("parked: connection broken"),
}


# The words MijnWebwinkel's payment methods go by in an AccountView administration (its code or name).
PAYMENT_WORDS: dict[str, tuple[str, ...]] = {
    "ideal": ("ideal",),
    "creditcard": ("creditcard", "credit card"),
    "paypal": ("paypal",),
    "bank_transfer": ("overboeking", "overschrijving", "bank transfer"),
    "klarna_paylater": ("klarna", "achteraf"),
    "afterpay": ("afterpay", "achteraf"),
    "in3": ("in3",),
    "bancontact": ("bancontact", "mistercash"),
    "direct_debit": ("incasso",),
    "cash": ("contant",),
    "cash_on_delivery": ("rembours",),
    "sofort": ("sofort",),
    "giropay": ("giropay",),
}
UNMATCHED = _("No AccountView payment method was found for %(methods)s: the table is left empty, so AccountView "
              "uses each debtor's own. Fill it in (or set a default) to book the shop's payment method.")


def label(flow: str, name: str, description: str | None) -> tuple[Text, Text]:
    found = LABELS.get((flow, name))
    if found:
        return found
    return name.replace("_", " ").capitalize(), description or ""


def flow_label(flow: str) -> tuple[Text, Text]:
    return FLOWS.get(flow, (flow.capitalize(), ""))


def choice(value: Any) -> Text:
    return CHOICES.get(str(value), str(value).replace("_", " "))


def row_label(key: str) -> Text:
    if key in ROWS:
        return ROWS[key]
    country, _sep, rate = key.rpartition(":")
    return f"{country} {rate}%" if country else f"{rate}%" if rate.replace(".", "").isdigit() else key


def outcome(value: str) -> Text:
    return OUTCOMES.get(value, value)


def counted(counts: dict[str, int]) -> list[tuple[Text, int]]:
    """(label, number) per outcome, in the order a merchant reads them: would send and sent first, parked last."""
    order = list(OUTCOMES)

    def place(name: str) -> tuple[int, str]:
        return (order.index(name) if name in order else len(order), name)

    return [(outcome(name), counts[name]) for name in sorted(counts, key=place)]
