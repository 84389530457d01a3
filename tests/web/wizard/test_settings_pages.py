"""The flows' settings pages (the wizard's questions, and every settings page afterwards) against both
sandboxes, in-process: choices come from what the systems hold, bad input is refused with the setting named
and nothing half-saved, a good answer is stored exactly as `koppel integration apply` stores it, the dry run
writes nothing, and another workspace's integration is a 404."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from koppel.connectors.sandboxes import Sandboxes, start_sandboxes
from koppel.core.accounts.models import Membership, Workspace
from koppel.core.activity.models import Activity, Link, Run
from koppel.core.integrations.apply import apply_file
from koppel.core.integrations.models import Integration, Schedule
from koppel.demo import INTEGRATION, DemoWorld, add_cost_articles, integration_toml
from koppel.flows.settings import FlowSettings
from koppel.sync.token_store import ConnectionTokenStore

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[Sandboxes]:
    boxes = start_sandboxes(seed=1, articles=20, orders=20)
    with boxes.books.authorised_client() as books:
        add_cost_articles(books)
    yield boxes
    boxes.stop()


@pytest.fixture
def demo(sandboxes: Sandboxes, tmp_path: Path) -> DemoWorld:
    """The demo integration against the sandboxes (as `koppel demo` configures it), connected."""
    path = tmp_path / "integration.toml"
    path.write_text(integration_toml(sandboxes))
    apply_file(path)
    books = Integration.objects.get(name=INTEGRATION).books
    with sandboxes.books.client(token_store=ConnectionTokenStore(books.pk)) as client:
        sandboxes.books.authorise(client)
    return DemoWorld(sandboxes, path)


@pytest.fixture
def merchant(demo: DemoWorld) -> Client:
    user = User.objects.create_user("merchant", password="correct horse battery")
    Membership.objects.create(workspace=Workspace.objects.get(name="demo"), user=user, role="owner")
    client = Client()
    client.force_login(user)
    return client


def page(integration: Integration, flow: str = "orders") -> str:
    return f"/setup/w/{integration.workspace_id}/i/{integration.pk}/flows/{flow}/"


def answer(client: Client, integration: Integration, flow: str = "orders", **changes: Any) -> dict[str, Any]:
    """A flow's settings form as a browser would post it unchanged, with `changes`."""
    form = client.get(page(integration, flow)).context["form"]
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, list):
            data[name] = [str(v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, dict | list):
            data[name] = json.dumps(value)
        elif value is not None:
            data[name] = str(value)
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.slow  # the first page of the module reads both systems cold
def test_the_choices_are_what_both_systems_hold(merchant: Client) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    response = merchant.get(page(integration))
    assert response.status_code == 200
    html = response.content.decode()
    for shop_status in ("Betaald", "Verzonden", "Gecrediteerd"):  # the shop's own status names
        assert shop_status in html
    for av_code in ("H1 · ", "L1 · ", "OVERBOEKING", "8000 · Omzet hoog tarief", "VERZEND"):
        assert av_code in html
    form = response.context["form"]
    assert [v for v, _ in form.fields["vat_codes[21]"].choices][1:] == ["EU", "H1", "L1", "N0", "VL"]
    assert "ideal" in {key for key in form.fields if key.startswith("payment_methods[")} | {
        key[len("payment_methods["):-1] for key in form.fields if key.startswith("payment_methods[")}


def test_a_good_answer_is_stored_as_integration_apply_stores_it(merchant: Client) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    data = answer(merchant, integration, statuses=["3"], write_as="invoice", **{
        "vat_codes[9]": "L1", "revenue_accounts[shipping]": "8100", "payment_terms.default": "30",
        "vat_codes__extra": "DE:19 = H1", "rounding_article": "AFRONDING"})
    response = merchant.post(page(integration), data)
    assert response.status_code == 302, response.context["form"].errors
    stored = Integration.objects.get(pk=integration.pk).flows
    assert stored == FlowSettings.model_validate(stored).model_dump(mode="json")  # complete, as apply stores it
    orders = stored["orders"]
    assert orders["statuses"] == [3] and orders["write_as"] == "invoice"
    assert orders["vat_codes"]["9"] == "L1" and orders["vat_codes"]["DE:19"] == "H1"
    assert orders["revenue_accounts"]["shipping"] == "8100"
    assert orders["payment_terms"]["default"] == "30"
    schedules = {s.flow: (s.interval_seconds, s.enabled) for s in Schedule.objects.filter(integration=integration)}
    assert schedules == {flow: (settings["interval_seconds"], settings["enabled"]) for flow, settings in stored.items()}


@pytest.mark.parametrize("flow", ["products", "stock"])
def test_every_flows_page_saves_its_settings_unchanged_when_nothing_is_changed(merchant: Client, flow: str) -> None:
    """New settings of a flow appear on its page without a form written for them, and round-trip."""
    integration = Integration.objects.get(name=INTEGRATION)
    before = FlowSettings.model_validate(integration.flows).model_dump(mode="json")
    response = merchant.post(page(integration, flow), answer(merchant, integration, flow))
    assert response.status_code == 302, response.context["form"].errors
    assert Integration.objects.get(pk=integration.pk).flows == before


def test_products_pick_article_groups_from_accountview_and_refuse_unknown_ones(merchant: Client) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    form = merchant.get(page(integration, "products")).context["form"]
    groups = [value for value, _ in form.fields["groups"].choices]
    assert "WONEN" in groups
    categories = [value for value, _ in form.fields["default_category"].choices]
    assert len(categories) > 1 and all(v.isdigit() for v in categories[1:])  # the shop's own categories
    response = merchant.post(page(integration, "products"), answer(
        merchant, integration, "products", select="groups", groups=["WONEN"], default_category=categories[1]))
    assert response.status_code == 302
    assert Integration.objects.get(pk=integration.pk).flows["products"]["groups"] == ["WONEN"]
    assert Integration.objects.get(pk=integration.pk).flows["products"]["default_category"] == int(categories[1])
    response = merchant.post(page(integration, "products"), answer(
        merchant, integration, "products", groups=["NO-SUCH-GROUP"]))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    response = merchant.post(page(integration, "products"), answer(
        merchant, integration, "products", variants='{"rule": "table"}'))
    assert "the table rule needs a table" in response.content.decode()
    assert Integration.objects.get(pk=integration.pk).flows["products"]["groups"] == ["WONEN"]


@pytest.mark.parametrize(("changes", "named"), [
    # refused by the form: each named on its field, all at once
    ({"shipping_article": "NOPE-404", "default_debtor": "99999", "vat_codes[21]": "XX", "interval_seconds": "3",
      "payment_methods__extra": "just words"},
     ["AccountView has no article NOPE-404", "AccountView has no debtor 99999", "Select a valid choice",
      "greater than or equal to 10", "Line 1: write &#x27;key = code&#x27;"]),
    # refused by the settings model
    ({"statuses": None, "vat_codes__extra": "NLX = H1"}, ["choose at least one order status", "VAT code key"]),
])
def test_bad_input_is_refused_naming_it_and_nothing_is_saved(merchant: Client, changes: dict[str, Any],
                                                              named: list[str]) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    before = Integration.objects.get(pk=integration.pk).flows
    before_schedules = list(Schedule.objects.filter(integration=integration).values())
    response = merchant.post(page(integration), answer(merchant, integration, write_as="invoice", **changes))
    assert response.status_code == 200
    html = response.content.decode()
    for problem in named:
        assert problem in html
    assert "Nothing was saved" in html
    assert Integration.objects.get(pk=integration.pk).flows == before
    assert list(Schedule.objects.filter(integration=integration).values()) == before_schedules


def test_another_workspaces_integration_is_not_found(merchant: Client) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    stranger = User.objects.create_user("stranger", password="correct horse battery")
    Membership.objects.create(workspace=Workspace.objects.create(name="other"), user=stranger, role="owner")
    client = Client()
    client.force_login(stranger)
    before = Integration.objects.get(pk=integration.pk).flows
    for url in (page(integration), f"/setup/w/{integration.workspace_id}/i/{integration.pk}/dry-run/",
                f"/setup/w/{integration.workspace_id}/i/{integration.pk}/activate/"):
        assert client.get(url).status_code == 404
        assert client.post(url, {"statuses": ["2"]}).status_code == 404
    other = Workspace.objects.get(name="other")
    assert client.get(f"/setup/w/{other.pk}/i/{integration.pk}/flows/orders/").status_code == 404
    assert Integration.objects.get(pk=integration.pk).flows == before


def test_a_read_only_member_sees_the_settings_but_cannot_change_them(merchant: Client) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    reader = User.objects.create_user("reader", password="correct horse battery")
    Membership.objects.create(workspace=integration.workspace, user=reader, role="read_only")
    client = Client()
    client.force_login(reader)
    assert client.get(page(integration)).status_code == 200
    assert client.post(page(integration), answer(merchant, integration)).status_code == 403


def test_the_dry_run_page_tells_what_would_happen_and_writes_nothing(merchant: Client, demo: DemoWorld) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    demo.sandboxes.books.limits.reset_calls()
    demo.sandboxes.shop.limits.reset_calls()
    response = merchant.post(f"/setup/w/{integration.workspace_id}/i/{integration.pk}/dry-run/",
                             headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "would send" in html and "Nothing was written" in html
    reports = {report["flow"]: report for report in response.context["reports"]}
    orders = reports["orders"]
    assert len(orders["rows"]) == min(10, orders["looked_at"]) > 0
    assert html.count('class="outcome-') == sum(len(r["rows"]) for r in reports.values())
    assert all(report["error"] == "" for report in reports.values())
    calls = {**demo.sandboxes.books.limits.calls_json()["by_route"],
             **demo.sandboxes.shop.limits.calls_json()["by_route"]}
    assert [c for c in calls if not c.startswith("GET ") and not c.endswith("/token")] == []
    assert not Link.objects.exists() and not Activity.objects.exists() and not Run.objects.exists()


def test_the_runs_the_activate_page_polls_are_its_part_and_the_page_is_the_one_runs_page(merchant: Client) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    url = f"/setup/w/{integration.workspace_id}/i/{integration.pk}/runs/"
    page = merchant.get(url)  # the integration has one runs page (Sync now and runs), not a second one here
    assert page.status_code == 302
    assert page["Location"] == f"/runs/w/{integration.workspace_id}/integrations/{integration.pk}/"
    polled = merchant.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in polled and 'hx-trigger="every 2s"' in polled  # no run finished yet: it polls on


@pytest.mark.parametrize(("language", "said"), [
    ("en", ["finished, some records parked", "sent: 3", "parked: needs attention: 1"]),
    ("nl", ["klaar, enkele records geparkeerd", "verstuurd: 3", "geparkeerd: vraagt aandacht: 1"]),
])
def test_the_polled_runs_name_states_and_outcomes_in_words_without_the_total(
        merchant: Client, language: str, said: list[str]) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    Run.objects.create(integration=integration, flow="orders", status=Run.Status.PARTIAL,
                       counts={"sent": 3, "needs_attention": 1, "total": 4},
                       started_at=timezone.now(), finished_at=timezone.now())
    polled = merchant.get(f"/setup/w/{integration.workspace_id}/i/{integration.pk}/runs/",
                          headers={"HX-Request": "true", "Accept-Language": language}).content.decode()
    for words in said:
        assert words in polled, (words, polled)
    for raw in ("total", "needs_attention", ">partial", "partial:"):
        assert raw not in polled, (raw, polled)


def test_a_first_visit_offers_answers_read_from_both_systems(merchant: Client) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    integration.enabled = False  # in the wizard: not yet active, nothing answered yet
    integration.flows = {**integration.flows, "orders": {}}
    integration.save()
    session = merchant.session
    session["koppel.wizard"] = {"workspace": integration.workspace_id, "integration": integration.pk, "answered": []}
    session.save()
    form = merchant.get(page(integration)).context["form"]
    assert form.first_time
    assert form["statuses"].value() == [3, 6]  # the shop's "Betaald" and "Betaald & afgehaald"
    assert {key: form[f"vat_codes[{key}]"].value() for key in ("21", "9", "0", "reverse_charge", "export")} == {
        "21": "H1", "9": "L1", "0": "N0", "reverse_charge": "EU", "export": "N0"}
    # bancontact has no AccountView payment method: rather than a table that parks its orders, none at all
    methods = [form[name].value() for name in form.fields if name.startswith("payment_methods[")]
    assert methods and set(methods) == {""}
    note = next(q.note for q in form.questions if q.name == "payment_methods")
    assert "bancontact" in note and "ideal" not in note


def test_a_system_that_does_not_answer_is_said_on_the_page_and_nothing_is_saved(merchant: Client,
                                                                                demo: DemoWorld) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    data = answer(merchant, integration)  # as the page was filled in before
    before = Integration.objects.get(pk=integration.pk).flows
    demo.sandboxes.books.auth.revoke_all()  # AccountView withdraws the grant
    response = merchant.get(page(integration))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Could not read" in html and "AccountView&#x27;s VAT codes" in html, response.context["problems"]
    response = merchant.post(page(integration), data)
    assert response.status_code == 200  # the VAT codes can't be chosen from an AccountView that does not answer
    assert "Nothing was saved" in response.content.decode()
    assert Integration.objects.get(pk=integration.pk).flows == before


@pytest.mark.parametrize(("on", "said", "not_said"), [
    ({"orders"}, "What would happen to your newest 10 orders if", "products"),
    ({"products"}, "What would happen to your first 10 products if", "orders"),
    ({"orders", "products"}, "newest 10 orders (and first 10 products)", "?")])
def test_the_dry_run_page_names_only_what_it_tries(merchant: Client, on: set[str], said: str, not_said: str) -> None:
    integration = Integration.objects.get(name=INTEGRATION)
    stored = FlowSettings.model_validate(integration.flows or {}).model_dump(mode="json")
    integration.flows = {name: {**settings, "enabled": name in on} for name, settings in stored.items()}
    integration.save()
    page = merchant.get(f"/setup/w/{integration.workspace_id}/i/{integration.pk}/dry-run/").content.decode()
    intro = page[page.index("What would happen"):page.index("Nothing is written")]
    assert said in page and not_said not in intro


def test_a_custom_stock_formula_is_tried_in_the_dashboards_evaluators_and_busy_saves_nothing(
        merchant: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """The formula is tried while the settings are validated: as the workspace's evaluation (the dashboard's
    evaluators, never the flows'), and when the workspace's share is in use the page says so and saves nothing."""
    from koppel.flows import stock_settings
    from koppel.mapping import expressions

    integration = Integration.objects.get(name=INTEGRATION)
    before = Integration.objects.get(pk=integration.pk).flows
    callers: list[str | None] = []

    def busy(expression: str) -> None:
        callers.append(expressions._CALLER.get())
        raise expressions.EvaluatorBusy(yours=True)

    monkeypatch.setattr(stock_settings, "check_custom", busy)
    response = merchant.post(page(integration, "stock"),
                             answer(merchant, integration, "stock", formula="custom", expression="available - 1"))
    assert response.status_code == 200
    assert "an expression of yours is still being evaluated" in response.content.decode()
    assert callers == [f"workspace {integration.workspace_id}"]
    assert Integration.objects.get(pk=integration.pk).flows == before
