"""Every reason the flows (their settings models' refusals included), the runner, the dry run, the record
actions and the mapping (its engine, transforms and addresses) can give has its Dutch and German
translation, with the same fields; and no reason is still built as bare English (an f-string, or a plain
string handed to an error or a Record) where the dashboard could not translate it.

The scan reads the source (every `reason("…")` call), so a reason added tomorrow fails here until it is
translated; the sentences that are not reasons are named below, each with why.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import trans_real

from koppel.reasons import fields, reason, worded
from koppel.reasons_shown import translated

SRC = Path(__file__).resolve().parents[3] / "src" / "koppel"
SOURCES = sorted((SRC / "flows").glob("*.py")) + [SRC / "sync" / "runner.py", SRC / "sync" / "dry_run.py",
                                                   SRC / "sync" / "record_actions.py",
                                                   *(SRC / "mapping" / f"{name}.py"
                                                     for name in ("errors", "engine", "transforms", "address"))]
# The connectors' messages: they reach the dashboard inside a record's reason, a run's error and a connection check.
CONNECTOR_SOURCES = [SRC / "connectors" / name for name in (
    "mijnwebwinkel/errors.py", "mijnwebwinkel/client.py", "mijnwebwinkel/catalogue.py", "mijnwebwinkel/images.py",
    "accountview/client.py", "accountview/oauth.py", "http/paging.py", "http/postgres_rate_limit.py")] + [
    SRC / "sync" / "grants.py"]  # connecting AccountView: its refusals are shown on the connection's page
SOURCES += CONNECTOR_SOURCES
# Words in the literal text of an f-string: prose a person reads, not a key such as f"line:{id}".
PROSE = re.compile(r"[A-Za-z]{2,}\s|\s[A-Za-z]{2,}")
# What a reason may not be handed as: a made-up English sentence where a reason is expected.
TAKES_A_REASON = {"NeedsAttention", "BrokenConnection", "RetryableError", "KoppelError", "Record", "_record",
                  "StockProblem", "Plan", "DryResult", "Result", "ValueError", "invalid"}
# (file, the f-string's literal text) of sentences that are not a record's reason, each with why.
NOT_REASONS = {
    ("orders.py", "Credit  ( )"): "the credit's reference, written into AccountView (its language is the books')",
    ("orders.py", "maps "): "a cache key",
    ("products.py", " bytes"): "the size of an image in what was sent, not a reason",
    ("stock.py", "ARTICLE. false"): "a field and its value, inside a translated reason",
    ("runner.py", "flow  is declared twice"): "a programming error at start-up",
    ("runner.py", "no flow ; known: "): "the CLI's answer to a flow name it does not know",
    ("errors.py", "Invalid overrides for map : "): "the datamapper's refusal of overrides, not a record's reason",
    ("stock_settings.py", "formula custom: a JSONata expression over the figures , e.g. 'available - reserved - 2' "
                          "(a safety margin); the AccountView profile says which field holds each"):
        "a setting's description (the settings pages show their own translated help)",
    ("errors.py", "a MappingError needs at least one problem"): "a programming error",
    # The mapping's refusals of a map or its overrides (the datamapper's and the CLI's errors, not a record's),
    # and of a transform or map that does not exist (a programming error).
    ("engine.py", "unknown key  (use 'fields' and 'remove')"): "an override refused",
    ("engine.py", "cannot remove : the map does not fill it"): "an override refused",
    ("engine.py", " has no field "): "an override refused",
    ("engine.py", "field : the override must be an object"): "an override refused",
    ("engine.py", "field : unknown attribute(s) "): "an override refused",
    ("engine.py", "field : "): "an override refused",
    ("engine.py", "field "): "an override refused",
    ("engine.py", "mode must be 'create' or 'update', not "): "a programming error",
    ("engine.py", "no default map ; known maps: "): "a programming error",
    ("transforms.py", "unknown transform ; known transforms: "): "a map refused",
    ("transforms.py", "transform : "): "a map refused",
    ("transforms.py", "argument : "): "a map refused",
    # What the record actions write down of who did what (RecordAction.detail), not a record's reason.
    ("record_actions.py", "was : "): "a record action's note",
    ("record_actions.py", "forgot the link to "): "a record action's note",
    ("record_actions.py", "a customer's data erased by e-mail:  records,  payloads,  reasons,  runs"):
        "a record action's note",
    ("record_actions.py", " is not an e-mail address"): "the erasure form's refusal",
    ("dry_run.py", "dry run: not sent: "): "the refused write's exception; its reason is 'passes every check…'",
    # The connectors: what is not a message to a person.
    ("client.py", "MijnWebwinkelClient(, api_version=, token=***)"): "a client's repr, for logs",
    ("client.py", "GET "): "an HTTP operation (method and path), the same in every language",
    ("client.py", "Bearer "): "an HTTP header",
    ("client.py", "update_order needs at least one change"): "a programming error",
    ("client.py", "set_variant_stocks needs at least one variant"): "a programming error",
    ("postgres_rate_limit.py", "give a dsn or a connect function"): "a programming error",
    ("postgres_rate_limit.py", "rate_per_second must be positive"): "a programming error",
    **{("postgres_rate_limit.py", sql): "SQL" for sql in (
        "\nCREATE TABLE IF NOT EXISTS  (\n    account text PRIMARY KEY,\n    next_free timestamptz NOT NULL\n)",
        "\nUPDATE  SET next_free = GREATEST(next_free, clock_timestamp()) + make_interval(secs => %(interval)s)\n"
        "WHERE account = %(account)s\nRETURNING EXTRACT(EPOCH FROM (next_free - clock_timestamp()))::float8\n",
        "INSERT INTO  VALUES (%s, '-infinity') ON CONFLICT DO NOTHING")},
}
def _calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name | ast.Attribute)]


def _name(call: ast.Call) -> str:
    return call.func.id if isinstance(call.func, ast.Name) else call.func.attr  # type: ignore[union-attr]


def templates() -> dict[str, str]:
    """Every reason template in the sources, with where it is first made."""
    found: dict[str, str] = {}
    for path in SOURCES:
        for call in _calls(ast.parse(path.read_text())):
            if _name(call) == "reason" and call.args and isinstance(call.args[0], ast.Constant):
                found.setdefault(str(call.args[0].value), f"{path.name}:{call.lineno}")
    return found


def test_the_scan_finds_the_reasons_of_every_flow() -> None:
    found = templates()
    assert len(found) > 150
    for expected in ("Order {order} is a credit order (for order {original}). Book the credit in AccountView, or "
                     "set credit orders to 'book' in the integration's settings (credit_orders) to have them booked "
                     "as a credit of the original.",
                     "{reason} (tried several times; the next run tries again)",
                     "Mapping failed ({count} problems):{problems}",
                     "stock {before} → {wanted} ({explanation}; {target}, by {via})",
                     "{how} shop category {category}"):
        assert expected in found


@pytest.mark.parametrize("language", ["nl", "de"])
def test_every_reason_template_is_translated_with_the_same_fields(language: str) -> None:
    catalog = trans_real.translation(language)._catalog  # type: ignore[attr-defined]
    untranslated, unfit = [], []
    for template, where in sorted(templates().items()):
        if not worded(template):
            continue
        wording = catalog.get(template)
        if not wording:
            untranslated.append(f"{where}: {template}")
        elif sorted(fields(wording)) != sorted(fields(template)):
            unfit.append(f"{where}: {template} → {wording}")
    assert not untranslated and not unfit, "\n".join(["untranslated:", *untranslated, "fields differ:", *unfit])


def test_every_reason_is_made_with_the_helper() -> None:
    """No bare f-string sentence, no template that is not written out, no English handed straight to an error."""
    bare, hidden, handed = [], [], []
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
                if PROSE.search(text) and (path.name, text) not in NOT_REASONS:
                    bare.append(f"{path.name}:{node.lineno}: f{text!r}")
        for call in _calls(tree):
            if _name(call) == "reason" and not (call.args and isinstance(call.args[0], ast.Constant)):
                hidden.append(f"{path.name}:{call.lineno}")
            if _name(call) in TAKES_A_REASON:
                for argument in [*call.args, *(k.value for k in call.keywords if k.arg in ("reason", "problem"))]:
                    if isinstance(argument, ast.Constant) and isinstance(argument.value, str) and \
                            PROSE.search(argument.value) and (path.name, argument.value) not in NOT_REASONS:
                        handed.append(f"{path.name}:{call.lineno}: {argument.value!r}")
    problems = [f"bare sentence {b}" for b in bare] + [f"template not written out at {h}" for h in hidden] + [
        f"English handed to an error at {h}" for h in handed]
    assert not problems, "\n".join(problems)


def test_the_scan_catches_a_bare_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = tmp_path / "new_flow.py"
    flow.write_text('def sync(key):\n    raise NeedsAttention(f"Order {key} is odd")\n'
                    'def skip(key):\n    return Record("order", key, "skipped", "not wanted here")\n'
                    'def later(text):\n    return reason(text)\n')
    monkeypatch.setattr(f"{__name__}.SOURCES", [flow])
    with pytest.raises(AssertionError) as failed:
        test_every_reason_is_made_with_the_helper()
    assert "new_flow.py:2: f'Order  is odd'" in str(failed.value)
    assert "not wanted here" in str(failed.value) and "new_flow.py:6" in str(failed.value)


def test_every_translation_renders_with_english_values() -> None:
    """Each template filled in each language: no translation names a field its values lack."""
    for template in templates():
        values = {name: "X" for name in fields(template)}
        english = reason(template, **values)
        for language in ("en", "nl", "de"):
            with translation.override(language):
                shown = translated(english)
            assert "{" not in shown and (not values or "X" in shown), (language, template, shown)


def test_a_field_with_a_format_is_refused() -> None:
    with pytest.raises(ValueError, match="plain name"):
        reason("total {amount:.2f}", amount=1)
    with pytest.raises(ValueError, match="needs a value for order"):
        reason("Order {order}")


def test_the_scan_covers_the_connectors_messages() -> None:
    found = templates()
    for expected in ("the AccountView link to the administration is offline",
                     "AccountView refused the authorisation ({error}); reconnect the administration",
                     "AccountView refuses access: {problem}. Check the company and the user's rights in AccountView",
                     "{problem} (check the store token and partner token of this connection)",
                     "MijnWebwinkel {operation} answered {status}: {detail}"):
        assert expected in found


def test_an_untranslated_connector_message_fails_the_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = tmp_path / "client.py"
    client.write_text('def get(number):\n'
                      '    raise RetryableError(reason("MijnWebwinkel lost order {number}", number=number))\n')
    monkeypatch.setattr(f"{__name__}.SOURCES", [*CONNECTOR_SOURCES, client])
    with pytest.raises(AssertionError) as failed:
        test_every_reason_template_is_translated_with_the_same_fields("de")
    assert "client.py:2: MijnWebwinkel lost order {number}" in str(failed.value)
    assert "the AccountView link" not in str(failed.value)  # the connectors' own are translated
