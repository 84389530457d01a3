"""Fitting text to the code page AccountView's tables are stored in (cp1252 by default)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koppel.mapping import MappingError, MapSpec, TextRule, fit_text, map_record, without_nul


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Łódź", "Lódz"),
        ("Wójcik", "Wójcik"),  # in cp1252: untouched
        ("Zoë Müller-Łukasiewicz 🌷", "Zoë Müller-Lukasiewicz"),
        ("Ærø Straße 104/12", "Ærø Straße 104/12"),
        ("Đorđević", "Dordevic"),
        ("Şişli İstanbul", "Sisli Istanbul"),
        ("Őrség ﬁeld", "Orség field"),
        ("Kerk\x00straat\t12\r\n", "Kerkstraat 12"),
        ("👍", ""),
    ],
)
def test_fit_text(text, expected):
    fitted = fit_text(text)
    assert fitted.text == expected
    assert fitted.changed == (text != expected)
    fitted.text.encode("cp1252")


def test_a_memo_keeps_its_line_breaks_but_not_nul():
    fitted = fit_text("Graag bellen 📞\nbij de\x00 buren", multiline=True)
    assert fitted.text == "Graag bellen\nbij de buren" and fitted.replaced == ("📞",) and fitted.controls


def test_another_code_page():
    assert fit_text("Żółć", "cp1250").text == "Żółć"
    assert fit_text("Żółć", "cp1252").text == "Zólc"


@given(st.text())
def test_whatever_the_shop_sends_fits_cp1252(text):
    fitted = fit_text(text)
    fitted.text.encode("cp1252")
    assert "\x00" not in fitted.text


def test_without_nul_cleans_keys_and_values_deeply():
    assert without_nul({"a\x00": ["x\x00y", {"b": "\x00"}], "n": 1}) == {"a": ["xy", {"b": ""}], "n": 1}


SPEC = MapSpec.model_validate(
    {"name": "m", "target": "CONTACT", "fields": [{"target": "ACCT_NAME", "source": "name"},
                                                   {"target": "COMMENT1", "source": "note"}]}
)


def test_the_engine_fits_every_text_field_and_says_so():
    mapped = map_record(SPEC, {"name": "Łukasz 🚲", "note": "één\nregel 📞"})
    assert mapped.row == {"ACCT_NAME": "Lukasz", "COMMENT1": "één\nregel"}
    assert [w.split(":")[0] for w in mapped.warnings] == ["ACCT_NAME", "COMMENT1"]


def test_the_engine_parks_text_outside_the_code_page_when_asked_naming_the_field():
    with pytest.raises(MappingError) as caught:
        map_record(SPEC, {"name": "Łukasz", "note": "x\x00"}, text=TextRule(outside="park"))
    (problem,) = caught.value.problems  # NUL alone is removed, never a reason to park
    assert problem.field == "ACCT_NAME" and "'Ł'" in problem.reason and "cp1252" in problem.reason


def test_an_unknown_code_page_is_refused():
    with pytest.raises(LookupError):
        TextRule(code_page="cp9999")
