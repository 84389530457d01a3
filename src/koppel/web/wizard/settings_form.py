"""A flow's questions as a form, made from the flow's settings model (`FlowSettings` in `flows/settings.py`),
so a new setting appears on the page without anyone writing a form for it. Settings that name something in
the other system are picked from what that system holds (`SOURCES`: a status, a VAT code, an article);
the rest follow their type. What the form returns is checked by the one settings model before anything is
saved; its complaints land on the fields they name.

The same form serves the wizard and every settings page afterwards.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from django import forms
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from koppel.web.reasons import validation
from koppel.web.wizard import texts
from koppel.web.wizard.remote import Choices, Holdings

NOT_ASKED = ("enabled",)  # chosen on the flows page


@dataclass(frozen=True)
class Source:
    """Where a setting's choices come from. `kind`: one value ("choice"), several ("multi"), a code typed
    with suggestions and checked ("article", "debtor"), a table from keys to values ("table"), or a
    value mapping with default and force ("mapping")."""

    kind: Literal["choice", "multi", "article", "debtor", "table", "mapping"]
    choices: str = ""  # a Holdings attribute or method giving Choices
    keys: str = ""  # tables: a Holdings attribute giving the rows' keys
    fixed_keys: tuple[str, ...] = ()


# Named sources a settings model may refer to (`Field(json_schema_extra={"choices": "accountview.articles"})`).
NAMED = {
    "mijnwebwinkel.order_statuses": Source("multi", "order_statuses"),
    "accountview.vat_codes": Source("choice", "vat_code_choices"),
    "accountview.articles": Source("article", "article_choices"),
    "accountview.article_groups": Source("choice", "article_group_choices"),
    "accountview.payment_methods": Source("choice", "payment_method_choices"),
    "accountview.payment_terms": Source("choice", "payment_term_choices"),
    "accountview.ledger_accounts": Source("choice", "ledger_account_choices"),
    "accountview.journals": Source("choice", "journal_choices"),
    "accountview.debtors": Source("debtor"),
    "mijnwebwinkel.categories": Source("choice", "shop_category_choices"),
}
LINE_TYPES = ("article", "custom", "shipping", "payment", "discount", "rounding")
SOURCES: dict[tuple[str, str], Source] = {
    ("orders", "statuses"): NAMED["mijnwebwinkel.order_statuses"],
    ("orders", "default_debtor"): NAMED["accountview.debtors"],
    ("orders", "shipping_article"): NAMED["accountview.articles"],
    ("orders", "payment_cost_article"): NAMED["accountview.articles"],
    ("orders", "discount_article"): NAMED["accountview.articles"],
    ("orders", "rounding_article"): NAMED["accountview.articles"],
    ("orders", "invoice_journal"): NAMED["accountview.journals"],
    ("orders", "vat_codes"): Source("table", "vat_code_choices", keys="vat_keys"),
    ("orders", "revenue_accounts"): Source("table", "ledger_account_choices", fixed_keys=LINE_TYPES),
    ("orders", "payment_methods"): Source("mapping", "payment_method_choices", keys="payment_method_names"),
    ("orders", "payment_terms"): Source("mapping", "payment_term_choices", keys="payment_method_names"),
    ("products", "groups"): Source("multi", "article_group_choices"),
    ("products", "default_category"): NAMED["mijnwebwinkel.categories"],
}
EXTRA = "__extra"  # a table's rows beyond the known keys, as "key = value" lines


@dataclass
class Question:
    """One setting on the page: its label and help, and the form fields that answer it."""

    name: str
    label: str
    help: str
    kind: str
    essential: bool
    fields: list[str] = field(default_factory=list)
    rows: list[tuple[str, str]] = field(default_factory=list)  # tables: (row key, form field name)
    note: str = ""  # what the page should say about the answers it offers


class FlowSettingsForm(forms.Form):
    """The questions of one flow. `current` is the flow's stored settings (complete or partial); on a
    first visit (`first_time`) the defaults are read from the systems: the shop's paid statuses, the
    VAT codes that match each rate, the payment methods AccountView names alike."""

    def __init__(self, flow: str, model: type[BaseModel], current: dict[str, Any], holdings: Holdings, *,
                 first_time: bool = False, data: Any = None) -> None:
        super().__init__(data=data)
        self.flow = flow
        self.model = model
        self.holdings = holdings
        self.current = model.model_validate(current or {}).model_dump(mode="json")
        self.first_time = first_time
        self.questions: list[Question] = []
        self.datalists: dict[str, Choices] = {}
        for name, info in model.model_fields.items():
            if name not in NOT_ASKED:
                self._ask(name, info)

    # --- building ---------------------------------------------------------------------------------------

    def _source(self, name: str, info: FieldInfo) -> Source | None:
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        named = extra.get("choices")
        return SOURCES.get((self.flow, name)) or (NAMED.get(named) if isinstance(named, str) else None)

    def _ask(self, name: str, info: FieldInfo) -> None:
        label, help_text = texts.label(self.flow, name, info.description)
        source = self._source(name, info)
        value = self.current.get(name)
        question = Question(name, label, help_text, source.kind if source else "plain",
                            essential=name in texts.ESSENTIAL.get(self.flow, ()))
        if source and source.kind in ("table", "mapping"):
            self._table(question, source, value)
        elif source and source.kind == "multi":
            item = get_args(_inner(info.annotation))
            self._add(question, name, forms.TypedMultipleChoiceField(
                label=label, choices=self._choices(source), coerce=item[0] if item else str, required=False,
                widget=forms.CheckboxSelectMultiple), self._first_statuses(source, value))
        elif source:
            self._add(question, name, self._picked(name, info, source), value)
        elif _structured(info.annotation):  # a table or list no system answers: written as JSON
            question.kind = "json"
            self._add(question, name, forms.JSONField(label=label, required=False,
                                                      widget=forms.Textarea(attrs={"rows": 3})), value)
        else:
            self._add(question, name, _by_type(label, info), value)
        self.questions.append(question)

    def _add(self, question: Question, name: str, form_field: forms.Field, initial: Any) -> None:
        form_field.initial = initial
        self.fields[name] = form_field
        question.fields.append(name)

    def _choices(self, source: Source) -> Choices:
        found = getattr(self.holdings, source.choices)
        return list(found() if callable(found) else found)

    def _picked(self, name: str, info: FieldInfo, source: Source) -> forms.Field:
        required = info.is_required() or (not _optional(info.annotation) and info.default is not None)
        if source.kind in ("article", "debtor"):
            if source.kind == "article":
                self.datalists[name] = self._choices(source)
            return forms.CharField(required=required, max_length=80,
                                   widget=forms.TextInput(attrs={"list": f"{name}-list"} if source.kind == "article"
                                                          else {}))
        choices = self._choices(source)
        return forms.ChoiceField(required=required, choices=[("", "—"), *choices])

    def _first_statuses(self, source: Source, value: Any) -> Any:
        if source.choices == "order_statuses" and self.first_time and self.holdings.paid_statuses:
            return [int(s) for s in self.holdings.paid_statuses]
        return value

    def _table(self, question: Question, source: Source, value: Any) -> None:
        mapping = source.kind == "mapping"
        table: dict[str, str] = dict((value or {}).get("table", {}) if mapping else (value or {}))
        choices = [("", "—"), *self._choices(source)]
        keys = list(source.fixed_keys) or list(getattr(self.holdings, source.keys))
        keys += [k for k in table if k not in keys and not source.fixed_keys]
        if mapping:
            self._add(question, f"{question.name}.default",
                      forms.ChoiceField(label=_("Default"), choices=choices, required=False),
                      (value or {}).get("default") or "")
            self._add(question, f"{question.name}.force",
                      forms.BooleanField(label=_("Always use the default"), required=False),
                      bool((value or {}).get("force")))
        guesses = {key: self._guess(source, key) for key in keys if key not in table}
        if mapping and not all(guesses.values()):
            # A table that names some of the shop's methods parks the orders of the others; left empty,
            # AccountView takes each debtor's own: what works until the merchant fills it in.
            if any(guesses.values()):
                question.note = texts.UNMATCHED % {"methods": ", ".join(k for k, v in guesses.items() if not v)}
            guesses = {}
        for key in keys:
            name = f"{question.name}[{key}]"
            self.fields[name] = forms.ChoiceField(label=texts.row_label(key), choices=choices, required=False,
                                                  initial=table.get(key) or guesses.get(key, ""))
            question.rows.append((texts.row_label(key), name))
        extra = {k: v for k, v in table.items() if k not in keys}
        self._add(question, f"{question.name}{EXTRA}", forms.CharField(
            label=_("Other entries (one 'key = code' per line)"), required=False,
            widget=forms.Textarea(attrs={"rows": 2})), "\n".join(f"{k} = {v}" for k, v in extra.items()))

    def _guess(self, source: Source, key: str) -> str:
        """A first visit's answer for a row: the VAT code of the same rate; the AccountView payment method
        named like the shop's."""
        if not self.first_time:
            return ""
        if source.keys == "vat_keys":
            return self.holdings.vat_code_for(key)
        if source.choices == "payment_method_choices":
            words = texts.PAYMENT_WORDS.get(key.lower(), (key.replace("_", " ").lower(),))
            for code, label in self._choices(source):
                name = f"{code} {label}".lower()
                if any(word in name or word.replace(" ", "") in name for word in words):
                    return code
        return ""

    def items(self) -> list[dict[str, Any]]:
        """The questions with their bound fields, for the template."""
        return [{"question": q, "fields": [self[n] for n in q.fields],
                 "rows": [(label, self[n]) for label, n in q.rows]} for q in self.questions]

    # --- answering --------------------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """The flow's settings as this form answers them (not yet checked by the model)."""
        answer: dict[str, Any] = {k: v for k, v in self.current.items() if k in NOT_ASKED}
        data = self.cleaned_data
        for question in self.questions:
            if question.kind in ("table", "mapping"):
                table = {key: data[name] for key, name in _row_keys(question) if data.get(name)}
                table.update(_extra_lines(data.get(f"{question.name}{EXTRA}", "")))
                if question.kind == "mapping":
                    answer[question.name] = {"default": data.get(f"{question.name}.default") or None,
                                             "force": bool(data.get(f"{question.name}.force")), "table": table}
                else:
                    answer[question.name] = table
            elif question.kind == "json" and data.get(question.name) in (None, ""):
                continue  # left empty: the setting's default
            else:
                answer[question.name] = _answer(data.get(question.name), self.model.model_fields[question.name])
        return answer

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for question in self.questions:
            if question.kind == "plain" or question.name not in data:
                continue
            value = (data.get(question.name) or "").strip() if question.kind in ("article", "debtor") else None
            if question.kind == "article" and value and self.holdings.missing_articles([value]):
                self.add_error(question.name, _("AccountView has no article %(code)s.") % {"code": value})
            if question.kind == "debtor" and value and self.holdings.missing_debtor(value):
                self.add_error(question.name, _("AccountView has no debtor %(number)s.") % {"number": value})
        for question in self.questions:
            name = f"{question.name}{EXTRA}"
            if name in data:
                try:
                    _extra_lines(data[name], strict=True)
                except ValueError as error:
                    self.add_error(name, str(error))
        return data

    def refuse(self, error: ValidationError) -> None:
        """Put the settings model's complaints on the fields they name (or on the form)."""
        for problem in error.errors():
            where = [str(p) for p in problem["loc"]]
            if where and where[0] == self.flow:
                where = where[1:]
            name = where[0] if where else ""
            target = next((q.fields[0] for q in self.questions
                           if q.name == name and q.fields and q.kind not in ("table", "mapping")), None)
            message = validation.problem(problem)
            if target in self.fields and len(where) == 1:
                self.add_error(target, message)
            else:
                label = next((q.label for q in self.questions if q.name == name), name)
                self.add_error(None, f"{label} ({'.'.join(where[1:]) or name}): {message}")


def _row_keys(question: Question) -> list[tuple[str, str]]:
    return [(name[len(question.name) + 1:-1], name) for _, name in question.rows]


def _extra_lines(text: str, *, strict: bool = False) -> dict[str, str]:
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or not value.strip():
            if strict:
                raise ValueError(_("Line %(n)s: write 'key = code'.") % {"n": number})
            continue
        found[key.strip()] = value.strip()
    return found


def _answer(value: Any, info: FieldInfo) -> Any:
    if isinstance(value, str):  # an empty text is "none" where the setting may be none, else empty
        return value.strip() or (None if _optional(info.annotation) else "")
    if value is None and not _optional(info.annotation) and not info.is_required():
        return info.get_default(call_default_factory=True)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _structured(annotation: Any) -> bool:
    kind = _inner(annotation)
    return get_origin(kind) in (dict, list) or (isinstance(kind, type) and issubclass(kind, BaseModel))


def _optional(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def _inner(annotation: Any) -> Any:
    if _optional(annotation):
        return next(a for a in get_args(annotation) if a is not type(None))
    return annotation


def _minimum(info: FieldInfo) -> Any:
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            return item.ge
        if isinstance(item, annotated_types.Gt):
            return item.gt
    return None


def _by_type(label: str, info: FieldInfo) -> forms.Field:
    """A form field for a setting no system's list answers, by its type."""
    kind = _inner(info.annotation)
    required = not _optional(info.annotation)
    if kind is bool:
        return forms.BooleanField(label=label, required=False)
    if get_origin(kind) is Literal:
        return forms.ChoiceField(label=label, choices=[(v, texts.choice(v)) for v in get_args(kind)],
                                 required=required)
    if kind is int:
        return forms.IntegerField(label=label, required=required, min_value=_minimum(info))
    if kind is float:
        return forms.FloatField(label=label, required=required, min_value=_minimum(info))
    if kind is Decimal:
        return forms.DecimalField(label=label, required=required, min_value=_minimum(info))
    if kind is date:
        return forms.DateField(label=label, required=required, widget=forms.DateInput(attrs={"type": "date"}))
    return forms.CharField(label=label, required=info.is_required())
