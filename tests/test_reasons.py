"""koppel.reasons: a reason is its English text wherever a str goes (CLI, logs, DBOS's JSON, the activity
log), and keeps its template and values through copies, pickles, errors and its stored form."""

from __future__ import annotations

import copy
import json
import pickle
from dataclasses import asdict, dataclass
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError, field_validator

from koppel.errors import NeedsAttention
from koppel.reasons import SETTING_ERROR, Reason, as_args, from_args, invalid, joined, reason, reason_in

INNER = reason("VAT code {code} (for {name}) does not exist in AccountView.", code="H9", name="9%")
OUTER = reason("{reason} (tried several times; the next run tries again)", reason=INNER)


def test_a_reason_is_its_english_text() -> None:
    assert OUTER == ("VAT code H9 (for 9%) does not exist in AccountView. (tried several times; the next run "
                     "tries again)")
    assert isinstance(OUTER, str) and json.loads(json.dumps({"r": OUTER})) == {"r": str(OUTER)}
    assert f"{OUTER}".startswith("VAT code H9")


def test_its_form_nests_and_comes_back_whole() -> None:
    args = OUTER.as_args()
    assert args == {"template": "{reason} (tried several times; the next run tries again)",
                    "params": {"reason": {"template": INNER.template, "params": {"code": "H9", "name": "9%"}}}}
    again = from_args(str(OUTER), json.loads(json.dumps(args)))
    assert isinstance(again, Reason) and again == OUTER and again.as_args() == args
    assert from_args("as recorded", None) == "as recorded"
    assert from_args("as recorded", {"template": "{missing}", "params": {}}) == "as recorded"
    assert as_args("plain text") is None


def test_copies_pickles_and_dataclasses_keep_it() -> None:
    @dataclass
    class Holder:
        why: str

    for kept in (copy.deepcopy(OUTER), copy.copy(OUTER), pickle.loads(pickle.dumps(OUTER)),
                 asdict(Holder(OUTER))["why"]):
        assert isinstance(kept, Reason) and kept.as_args() == OUTER.as_args()


def test_values_are_plain_json_and_an_error_made_with_a_reason_passes_it_on() -> None:
    made = reason("total {total} on {day}; {why}", total=Decimal("12.50"), day=None,
                  why=NeedsAttention(INNER))
    assert made.params == {"total": "12.50", "day": None, "why": INNER}
    assert isinstance(made.params["why"], Reason)
    assert reason_in(ValueError(INNER)) is INNER and reason_in(ValueError("plain")) == "plain"
    assert isinstance(str(NeedsAttention(INNER)), Reason)  # the runner records str(error)


def test_joined_translates_each_part_with_punctuation_alone() -> None:
    listed = joined([INNER, "as it came"], before="\n- ", separator="")
    assert listed == f"\n- {INNER}\n- as it came"
    assert listed.template == "\n- {item0}\n- {item1}" and listed.params["item0"] is INNER
    assert joined(["a{b}"], " {x} ") == "a{b}"


def test_a_settings_refusal_carries_its_reason_and_says_the_english() -> None:
    class Settings(BaseModel):
        statuses: list[int]

        @field_validator("statuses")
        @classmethod
        def _some(cls, value: list[int]) -> list[int]:
            if not value:
                raise invalid(reason("choose at least one order status to send"))
            return value

    with pytest.raises(ValidationError) as refused:
        Settings(statuses=[])
    error = refused.value.errors()[0]
    assert error["type"] == SETTING_ERROR and error["msg"] == "choose at least one order status to send"
    assert isinstance(error["ctx"]["reason"], Reason)
