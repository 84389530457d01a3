"""Messages say what failed, since when, how many records, what to do and a link, in Dutch, English and
German; the cause of a broken connection is read from the error that broke it."""

from __future__ import annotations

import pytest

from koppel.alerts.messages import TEXTS, cause_of, render

BROKEN = {"system": "accountview", "connection": "boeken", "cause": "revoked", "since": "2026-11-30T17:04:00+00:00",
          "affected": 3, "paused": ["bakkerij-shop"], "link": "http://koppel.example/w/1/connections/2/",
          "detail": "AccountView refused the authorisation (invalid_grant); reconnect the administration"}


@pytest.mark.parametrize(("error", "cause"), [
    ("AccountView refused the authorisation (invalid_grant); reconnect the administration", "revoked"),
    ("AccountView refused the authorisation (invalid_client); reconnect the administration", "wrong_key"),
    ("MijnWebwinkel GET /orders answered 401 (check the store token and partner token of this connection)",
     "wrong_key"),
    ("AccountView company 'X' is not available to this user", "company_gone"),
    ("AccountView refuses access: 403. Check the company and the user's rights in AccountView", "no_rights"),
    ("the AccountView link to the administration is offline", "offline"),
    ("the AccountView connection's settings are invalid: settings.base_url: …", "settings"),
    ("something nobody foresaw", "other"),
])
def test_the_cause_in_plain_words(error: str, cause: str) -> None:
    assert cause_of(error) == cause


def test_a_broken_connection_in_dutch_names_system_cause_since_fix_and_link() -> None:
    message = render("broken_connection", "opened", BROKEN, language="nl")
    assert message.subject == "AccountView-koppeling verbroken: boeken"
    assert "accepteert de toestemming van Koppel niet meer" in message.text
    assert "Sinds: 30-11-2026 18:04" in message.text  # Amsterdam time
    assert "Getroffen: 3 records" in message.text
    assert "Gepauzeerd tot het weer werkt: bakkerij-shop." in message.text
    assert "Wat te doen: Koppel AccountView opnieuw" in message.text
    assert "Link: http://koppel.example/w/1/connections/2/" in message.text


def test_english_and_german_and_the_recovery() -> None:
    assert render("broken_connection", "opened", BROKEN, language="en").subject == (
        "AccountView connection broken: boeken")
    german = render("broken_connection", "reminder", BROKEN, language="de")
    assert german.subject == "Erinnerung: AccountView-Verbindung unterbrochen: boeken"
    assert "Verbinden Sie AccountView in Koppel erneut" in german.text
    assert render("broken_connection", "resolved", BROKEN, language="nl").subject == (
        "Opgelost: AccountView-koppeling werkt weer: boeken")


def test_parked_records_grouped_by_reason_with_the_rest_counted() -> None:
    groups = [[f"reason {n}", 12 - n] for n in range(12)]
    facts = {"integration": "bakkerij-shop", "entity": "order", "count": sum(c for _, c in groups), "groups": groups,
             "since": "2026-11-30T17:04:00+00:00", "link": "http://x/"}
    message = render("parked", "update", facts, language="nl")
    assert message.subject == "78 bestellingen geparkeerd in bakkerij-shop"
    assert "- 12 × reason 0" in message.text
    assert "reason 10" not in message.text
    assert "- … 3" in message.text  # 2 + 1 in the two groups not named


@pytest.mark.parametrize("language", ["nl", "en", "de"])
@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_every_kind_renders_in_every_language(kind: str, language: str) -> None:
    facts = {"system": "accountview", "connection": "b", "cause": "offline", "integration": "i", "flow": "orders",
             "count": 1, "entity": "order", "groups": [["x", 1]], "hours": 5, "run": 3, "usual": 2, "expected": 15,
             "executor": "w1", "depth": 900, "channel": "email: a@b", "error": "refused", "since": "", "last": ""}
    for event in ("opened", "reminder", "resolved"):
        message = render(kind, event, facts, language=language)
        assert message.subject and "{" not in message.subject + message.text


def test_missing_facts_show_as_a_question_mark_not_an_error() -> None:
    message = render("broken_connection", "opened", {}, language="de")
    assert message.subject == "?-Verbindung unterbrochen: ?"
    assert render("parked", "update", {}, language="nl").subject == "0 records geparkeerd in ?"
