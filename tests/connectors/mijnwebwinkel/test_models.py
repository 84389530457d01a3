"""Tolerant decoding of what the live API really sends (NOTES §7.3), with real-shaped payloads."""

from __future__ import annotations

from decimal import Decimal

import pytest

from koppel.connectors.mijnwebwinkel.models import (
    Article,
    ArticleInput,
    ArticlePriceInput,
    Category,
    Order,
    ShippingMethod,
    TaxRegion,
    VariantInput,
)

# The official 2022 example order, numbers and all (spec `Order.example`, abridged).
OFFICIAL_ORDER = {
    "number": 27,
    "uuid": "af88e19b-a57b-4aae-a92b-f7078454d1e3",
    "date": "2015-11-03",
    "time": "13:37:12",
    "status": 1,
    "archived": True,
    "taxed": "include",
    "discountcode": "korting123",
    "credited_order_number": 28,
    "credit_order_numbers": [99, 101],
    "payment": {"gateway_name": "basic", "method_name": "advance"},
    "debtor": {
        "email": "support@mijnwebwinkel.nl",
        "address": {
            "invoice": {
                "gender": "V",
                "name": "Truus voorbeeldig",
                "company": "Voorbeeldig BV",
                "street": "Molenstraat",
                "number": "62",
                "zipcode": "5341GE",
                "city": "Oss",
                "country_code": "NL",
            }
        },
    },
    "price": {
        "tax": [{"amount": 0.830000, "rate": 9.00}, {"amount": 6.500000, "rate": 21.00}],
        "total": 47.450000,
    },
    "orderlines": [
        {
            "id": "19bc3d68-eea1-41ac-9743-3b1ba58aa5ac",
            "type": "article",
            "quantity": 2,
            "weight": 0,
            "description": "Article B",
            "price": {"amount": 8.181818, "amount_including_tax": 9.90, "rate": 21.00},
            "articles": [
                {
                    "id": 2,
                    "description": "Article B",
                    "price": {"amount": 7.396694, "rate": 21.00},
                    "options": [{"description": "Action price", "price": {"amount": -3.305785, "rate": 21.00}}],
                }
            ],
        },
        {
            "id": "d2f57281-7c24-4fd8-b000-caeb3da639db",
            "type": "payment",
            "quantity": 1,
            "price": [
                {"amount": 0.192571, "rate": 9.00, "amount_including_tax": 0.21},
                {"amount": 0.652972, "rate": 21.00, "amount_including_tax": 0.79},
            ],
        },
    ],
    "shipping": [{"country": {"description": "Nederland", "isocode": "NL"}}],
}


def test_official_example_order_decodes_with_exact_money() -> None:
    order = Order.model_validate(OFFICIAL_ORDER)
    assert order.number == "27" and not order.is_test
    assert order.is_credit and order.credited_order_number == "28" and order.credit_order_numbers == ["99", "101"]
    assert order.total == Decimal("47.45") and [t.rate for t in order.price.tax] == [Decimal(9), Decimal(21)]
    line = order.orderlines[0]
    assert line.amount_excl == Decimal("8.181818") and line.amount_incl == Decimal("9.90")
    assert line.unit_price_excl == Decimal("4.090909") and line.vat_rate == Decimal(21)
    assert line.article_id == 2 and line.sku is None
    assert line.has_action_price and line.unit_price_incl == Decimal("4.95")
    payment = order.orderlines[1]
    assert payment.vat_rate is None and payment.amount_incl == Decimal("1.00")
    assert order.payment_cost == Decimal("1.00") and order.payment_method == "advance"
    assert order.customer.company == "Voorbeeldig BV" and order.shipping_address.city == "Oss"
    assert order.country_code == "NL"


def test_live_shapes_number_string_tax_object_and_empty_maps() -> None:
    order = Order.model_validate(
        {
            "number": "T-1042",
            "date": "2024-03-06",
            "time": "14:02:11",
            "status": "3",
            "price": {"tax": {"rate": "21.00", "amount": "10.39"}, "total": "59.85"},
            "orderlines": [
                {
                    "type": "shipping",
                    "quantity": 1,
                    "price": {"amount": "8.223140", "amount_including_tax": "9.95", "rate": "21.00"},
                }
            ],
            "shipping": [{"country": []}],
            "debtor": {"email": " ", "address": {"invoice": [], "delivery": []}},
            "payment": [],
            "comments": [],
        }
    )
    assert order.number == "T-1042" and order.is_test and order.status == 3
    assert order.price.tax[0].amount == Decimal("10.39") and order.shipping_cost == Decimal("9.95")
    assert order.shipping[0].country is None and order.debtor.address.delivery is None
    assert order.customer.email is None and order.country_code is None and order.payment is None


def test_deprecated_debtor_fields_are_a_fallback() -> None:
    order = Order.model_validate(
        {
            "number": 1,
            "date": "2019-01-01",
            "status": 1,
            "debtor": {"email": "a@b.nl", "name": "Oud", "company": "Oud BV", "phone": "06"},
        }
    )
    assert (order.customer.name, order.customer.company, order.customer.phone) == ("Oud", "Oud BV", "06")


@pytest.mark.parametrize(
    "options",
    [
        [{"list_id": 193177, "option_id": 71362, "name": "Jim Carrey"}],
        {"193177": "Jim Carrey"},
    ],
)
def test_variant_options_as_list_or_map(options: object) -> None:
    article = Article.model_validate(
        {
            "id": 123,
            "name": "Funny cushion",
            "price": {"default": 12.5, "action": 9.95},
            "stock": None,
            "extra": {"invisible": [], "visible": {"barcode": 8712345678906}},
            "variants": [{"id": 1362, "options": options, "stock": 3}],
        }
    )
    variant = article.variants[0]
    assert variant.options[0].list_id == 193177 and variant.options[0].name == "Jim Carrey"
    assert article.images == [] and article.stock is None and not article.stock_managed
    assert article.ean == "8712345678906" and article.price.action == Decimal("9.95")


def test_article_images_position_string_and_urls_map() -> None:
    article = Article.model_validate(
        {
            "id": 1,
            "name": "x",
            "images": [
                {
                    "id": "7e2009bf-f4a6-4f6d-9874-14ed1341229b",
                    "position": "2",
                    "urls": {"full": "https://a/f"},
                }
            ],
            "extra": [],
            "price": {"default": "1.00", "action": ""},
        }
    )
    assert article.images[0].position == 2 and article.images[0].urls == {"full": "https://a/f"}
    assert article.extra.visible == {} and article.price.action is None and article.weight is None


def test_category_parent_id_alias_and_leafs() -> None:
    category = Category.model_validate(
        {
            "id": 78909,
            "parent_category_id": 8569,
            "title": "Ballonnen",
            "leafs": [{"id": 78910, "parent_id": 78909, "hidden": True, "title": "Nieuw"}],
            "sorting": [],
        }
    )
    assert category.leafs[0].parent_category_id == 78909 and category.sorting is None


@pytest.mark.parametrize(("value", "expected"), [("100.00", Decimal("100.00")), (True, None), (None, None)])
def test_shipping_threshold_string_or_bool(value: object, expected: Decimal | None) -> None:
    method = ShippingMethod.model_validate(
        {"id": 2273, "display name": "Pakket", "countries": ["NL"], "no_costs_above": value}
    )
    assert method.id == "2273" and method.display_name == "Pakket" and method.no_costs_above == expected


def test_tax_region_fractions() -> None:
    region = TaxRegion.model_validate(
        {
            "regionCode": "NL",
            "taxRate": 0.21,
            "transactionTaxRate": None,
            "overrides": [{"taxRate": "0.09", "items": [{"type": "product", "references": ["p-1"]}]}],
        }
    )
    assert region.tax_rate == Decimal("0.21") and region.overrides[0].tax_rate == Decimal("0.09")


def test_write_models_send_only_what_was_set_and_money_as_strings() -> None:
    body = ArticleInput(
        price=ArticlePriceInput(default=Decimal("24.95")),
        stock=None,
        variants=[VariantInput(id=7001, stock=3)],
    ).to_body()
    assert body == {"price": {"default": "24.95"}, "stock": None, "variants": [{"id": 7001, "stock": 3}]}
