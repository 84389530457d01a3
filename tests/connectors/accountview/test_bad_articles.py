"""Bad article data built on purpose for the flows' tests: every case can be made (Python and admin surface),
holds what it says, and reading it never stops a listing; each reaches the flow named, for the flow to park."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import httpx
import pytest

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import Article
from koppel.connectors.accountview.sandbox import AccountViewSandbox
from koppel.connectors.accountview.sandbox.articles import BAD_CASES
from koppel.connectors.sandbox_catalogue import is_valid_ean13


def test_every_case_is_made_and_the_listing_goes_on(client: AccountViewClient, sandbox: AccountViewSandbox) -> None:
    made = sandbox.add_bad_articles()
    assert set(made) == set(BAD_CASES)
    articles = list(client.iter_articles(with_images=True, page_size=10))
    by_code = {a.code: a for a in articles}
    assert len(articles) == 30 + sum(len(codes) for codes in made.values())

    def one(case: str) -> Article:
        return by_code[made[case][0]]

    assert by_code[""].description.startswith("Testartikel")  # no SKU: the flow parks it, naming the field
    twin = made["duplicate_code"][0]
    assert twin in by_code and twin.upper() in by_code and twin != twin.upper()
    duplicate = one("duplicate_ean")
    assert sum(1 for a in articles if a.ean == duplicate.ean) == 2
    assert not is_valid_ean13(one("invalid_ean").ean)
    assert len(one("long_name").description) == 300
    assert one("negative_price").price == -5
    assert one("absurd_price").price == Decimal("99999999.99")
    not_image = one("not_an_image").image
    assert not_image is not None and not_image.media_type is None
    huge = one("huge_image").image
    assert huge is not None and len(huge.data) > 20_000_000 and huge.media_type == "image/png"
    assert "ARTICLE.IMG_M_DATA" in one("undecodable_image").problems
    assert one("stock_text").problems == {"ARTICLE.QTY_AVAIL": "'veel' is not a number"}


@pytest.mark.parametrize("case", ["variant_missing_size", "variant_duplicate"])
def test_bad_variant_groups(client: AccountViewClient, sandbox: AccountViewSandbox, case: str) -> None:
    codes = sandbox.add_bad_articles([case])[case]
    group = [a for a in client.iter_articles() if a.code in codes]
    assert len(group) == 3 and len({a.parent_code for a in group}) == 1
    combinations = [(a.size, a.colour) for a in group]
    if case == "variant_missing_size":
        assert ("", "rood") in combinations
    else:
        assert len(set(combinations)) == 2


def test_bad_cases_through_the_admin_surface(sandbox: AccountViewSandbox) -> None:
    admin = f"{sandbox.url}/_sandbox"
    assert httpx.get(f"{admin}/articles/bad").json() == BAD_CASES
    made = httpx.post(f"{admin}/articles/bad", json={"cases": ["stock_absurd", "long_name"]}).json()
    assert sandbox.rows("ARTICLE", ART_CODE=made["stock_absurd"][0])[0]["QTY_AVAIL"] == 1e12
    refused = httpx.post(f"{admin}/articles/bad", json={"cases": ["nonsense"]})
    assert refused.status_code == 400 and "nonsense" in refused.json()["ErrorMessage"]


def test_articles_added_changed_and_forced_through_the_admin_surface(sandbox: AccountViewSandbox) -> None:
    admin = f"{sandbox.url}/_sandbox"
    added = httpx.post(f"{admin}/articles", json={"values": {"ART_CODE": "nieuw-1", "ART_DESC1": "Nieuw",
                                                              "AG_CODE": "WONEN"}})
    assert added.status_code == 200 and added.json()["ART_CODE"] == "NIEUW-1"  # upper-case format applied
    refused = httpx.post(f"{admin}/articles", json={"values": {"ART_CODE": "X", "ART_DESC1": "x" * 41}})
    assert refused.status_code == 400 and "ARTICLE.ART_DESC1" in refused.json()["ErrorMessage"]
    sandbox.state.clock = lambda: datetime(2030, 1, 2, 3, 4, 5)
    try:
        changed = httpx.patch(f"{admin}/articles/NIEUW-1", json={"values": {"AG_CODE": "SHIRTS"}}).json()
        assert changed["AG_CODE"] == "SHIRTS" and changed["CNG_DATE"] == "2030-01-02T03:04:05"
        sandbox.state.clock = lambda: datetime(2031, 1, 1)
        forced = httpx.put(f"{admin}/articles/NIEUW-1/force", json={"values": {"QTY_AVAIL": "veel"}}).json()
    finally:
        sandbox.state.clock = lambda: datetime.now().replace(microsecond=0)
    assert forced["QTY_AVAIL"] == "veel" and forced["CNG_DATE"] == "2030-01-02T03:04:05"  # forcing is no edit
    assert httpx.put(f"{admin}/articles/GEEN/force", json={"values": {}}).status_code == 404
