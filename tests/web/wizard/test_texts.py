"""The wizard's words: outcomes in the order a merchant reads a summary, and a label in every language for
every setting a reason can name (the dashboard's fix link shows it)."""

import re
from pathlib import Path

import pytest
from django.utils import translation

import koppel.flows
from koppel.web.wizard import texts


def test_a_summary_names_what_would_be_sent_before_what_would_park() -> None:
    counted = texts.counted({"needs_attention": 2, "would_send": 8, "skipped": 1})
    assert [(str(label), number) for label, number in counted] == [
        ("would send", 8), ("skipped", 1), ("parked: needs attention", 2)]


# ---- the settings a reason can name -----------------------------------------------------------------

FLOWS = Path(koppel.flows.__file__).parent
NAMED = [re.compile(r'fixed_in\("([\w.]+)"'), re.compile(r'\bsetting="([\w.]+)"'),
         re.compile(r'^\w*SETTING = "([\w.]+)"', re.M)]


def _settings_named_in_the_flows() -> set[tuple[str, str]]:
    """(flow, setting) of every setting a flow module names for a reason to fix, as written: a plain name is
    its own flow's (orders*.py, products*.py, stock*.py), "<flow>.<setting>" another flow's."""
    named = set()
    for path in FLOWS.glob("*.py"):
        own = path.stem.split("_")[0]
        for pattern in NAMED:
            for name in pattern.findall(path.read_text(encoding="utf-8")):
                flow, _, setting = name.rpartition(".")
                named.add((flow or own, setting))
    return named


def _flow_settings() -> dict[str, set[str]]:
    """Per flow of ours (not a test's toy flow), the settings its page asks (`enabled` is the flow's switch)."""
    from koppel.sync import engine, runner, units

    engine.declare_workflows(engine.FLOW_PACKAGES)  # all of them, whatever a test imported before
    flows = [runner.find(name) for name in units.flows()]
    return {flow.name: set(flow.settings.model_fields) - {"enabled"} for flow in flows
            if flow.settings.__module__.startswith("koppel.flows.")}


def test_the_flows_name_settings_their_settings_models_have() -> None:
    named, settings = _settings_named_in_the_flows(), _flow_settings()
    assert {("stock", "managed"), ("stock", "max_stock"), ("stock", "expression"), ("products", "blocked"),
            ("orders", "statuses")} <= named
    assert sorted((flow, name) for flow, name in named if name not in settings.get(flow, ())) == []


@pytest.mark.parametrize("language", ["nl", "de"])
def test_every_setting_a_reason_can_name_has_a_label_in_every_language(language: str) -> None:
    """The orders and products flows name whichever setting an error's field is, so every setting counts."""
    every = {(flow, name) for flow, names in _flow_settings().items() for name in names}
    assert _settings_named_in_the_flows() <= every
    unlabelled = sorted(key for key in every if key not in texts.LABELS)
    assert unlabelled == []
    with translation.override("en"):
        english = {key: str(texts.LABELS[key][0]) for key in every}
    with translation.override(language):
        untranslated = sorted(key for key in every if str(texts.LABELS[key][0]) == english[key])
    assert untranslated == []


def test_the_stock_flows_essential_settings_are_its_settings() -> None:
    settings = _flow_settings()
    assert {flow: sorted(set(names) - settings[flow]) for flow, names in texts.ESSENTIAL.items()} == {
        flow: [] for flow in texts.ESSENTIAL}
    assert "managed" in texts.ESSENTIAL["stock"]


@pytest.mark.parametrize(("language", "words"), [
    ("en", ("no stock from AccountView", "can no longer be ordered", "stays as it is")),
    ("nl", ("geen voorraad uit AccountView", "niet meer worden besteld", "blijft de voorraad")),
    ("de", ("keinen Bestand aus AccountView", "nicht mehr bestellt", "bleibt sein Bestand")),
])
def test_the_blocked_setting_says_the_stock_flow_follows_it(language: str, words: tuple[str, ...]) -> None:
    """The stock flow sends a blocked article no stock: hide makes it unorderable, leave leaves it alone."""
    from koppel.flows.products_settings import ProductsSettings

    with translation.override(language):
        help_text = str(texts.label("products", "blocked", None)[1])
    assert [word for word in words if word not in help_text] == []
    description = ProductsSettings.model_fields["blocked"].description or ""
    assert "stock flow follows it" in description and "no stock from AccountView" in description
