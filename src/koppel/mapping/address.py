"""Address rules for the Dutch, Belgian and German shops Koppel serves: house-number splitting,
postcode formats and country codes (FIELD-NOTES 18).

MijnWebwinkel keeps house number and suffix in one string (`12A`, `12-3`, `12 bis`) and sometimes the whole
address in `street`; AccountView wants `ST_STREET`, `ST_NR` and `ST_EXTRA`, postcodes as `1234 AB` and
two-letter country codes. These functions are pure and raise ValueError with a reason a person understands;
`transforms.py` turns that into a MappingError.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from koppel.reasons import reason


@dataclass(frozen=True)
class HouseAddress:
    street: str
    number: int | None
    suffix: str

    @property
    def number_text(self) -> str:
        return "" if self.number is None else str(self.number)


# "12", "12A", "12 a", "12-3", "12/3", "12 bis", "12 bus 3", "12-14". The separator between number and
# suffix carries no meaning for AccountView's ST_EXTRA, so it is dropped.
_NUMBER = re.compile(r"(?P<number>\d{1,6})\s*(?:[-/]\s*)?(?P<suffix>\S.{0,19})?", re.IGNORECASE)
# A trailing house number inside the street: "Hoofdstraat 12A", "Plein 1940-1945 12", "Rue Royale 12 bus 3".
_TRAILING = re.compile(
    r"(?P<street>(?=.*[^\W\d_]).+?),?\s+(?P<rest>\d{1,6}\s*(?:[-/]\s*)?(?:[a-z]{1,3}|\d{1,4}|(?:bus|bte|boîte)\s*\d+\w?)?)",
    re.IGNORECASE,
)
# A leading one, as French-speaking Belgians write it: "12 Rue Royale".
_LEADING = re.compile(r"(?P<rest>\d{1,6}[a-z]?)\s*,?\s+(?P<street>\D.*)", re.IGNORECASE)


def split_house_number(street: str | None, number: str | int | None) -> HouseAddress:
    """Street, house number and suffix from MijnWebwinkel's `street` and `number`.

    `number` may hold a suffix (`12A` → 12, "A"); when it is empty, the number is looked for at the end
    (or start) of `street`. A one-letter suffix is upper-cased (Dutch huisletter); other suffixes are kept.
    """
    street_text = " ".join((street or "").split())
    number_text = " ".join(str(number if number is not None else "").split())
    if number_text:
        number_value, suffix = _parse_number(number_text)
        return HouseAddress(street_text, number_value, suffix)
    if not street_text:
        return HouseAddress("", None, "")
    trailing = _TRAILING.fullmatch(street_text)
    if trailing:
        number_value, suffix = _parse_number(trailing["rest"])
        return HouseAddress(trailing["street"].rstrip(" ,"), number_value, suffix)
    leading = _LEADING.fullmatch(street_text)
    if leading:
        number_value, suffix = _parse_number(leading["rest"])
        return HouseAddress(leading["street"], number_value, suffix)
    return HouseAddress(street_text, None, "")


def _parse_number(text: str) -> tuple[int, str]:
    match = _NUMBER.fullmatch(text)
    if not match:
        raise ValueError(reason("house number {number} does not start with a number", number=repr(text)))
    suffix = (match["suffix"] or "").strip()
    if len(suffix) == 1 and suffix.isalpha():
        suffix = suffix.upper()
    return int(match["number"]), suffix


_NL_POSTCODE = re.compile(r"([1-9]\d{3})\s*([A-Z]{2})")
_COUNTRY_PREFIX = re.compile(r"(?:NL|B|BE|D|DE)\s*-\s*")


def normalise_postcode(postcode: str | None, country: str | None) -> str:
    """`1234ab` → `1234 AB` for NL; 4 digits for BE, 5 for DE; others trimmed and upper-cased.

    Raises ValueError for an invalid Dutch, Belgian or German postcode.
    """
    text = " ".join((postcode or "").upper().split())
    if not text:
        return ""
    country = (country or "").strip().upper()
    bare = _COUNTRY_PREFIX.sub("", text, count=1) if country in {"NL", "BE", "DE"} else text
    if country == "NL":
        match = _NL_POSTCODE.fullmatch(bare)
        # SA, SD and SS are not issued; PostNL skips them.
        if not match or match[2] in {"SA", "SD", "SS"}:
            raise ValueError(reason("{postcode} is not a Dutch postcode (four digits and two letters, 1234 AB)",
                                    postcode=repr(postcode)))
        return f"{match[1]} {match[2]}"
    if country == "BE":
        if not re.fullmatch(r"[1-9]\d{3}", bare):
            raise ValueError(reason("{postcode} is not a Belgian postcode (four digits, e.g. 2000)",
                                    postcode=repr(postcode)))
        return bare
    if country == "DE":
        if not re.fullmatch(r"\d{5}", bare):
            raise ValueError(reason("{postcode} is not a German postcode (five digits, e.g. 10115)",
                                    postcode=repr(postcode)))
        return bare
    return text


# Names people type that ISO does not list.
_ALIASES = {
    "holland": "NL",
    "the netherlands": "NL",
    "nederlands": "NL",
    "belgie": "BE",
    "duitsland": "DE",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "usa": "US",
    "united states of america": "US",
    "verenigde staten": "US",
    "osterreich": "AT",
    "schweiz": "CH",
    "zwitserland": "CH",
    "suisse": "CH",
    "luxemburg": "LU",
    "el": "GR",
}


@cache
def _country_index() -> dict[str, str]:
    data = json.loads(resources.files("koppel.mapping").joinpath("countries.json").read_text("utf-8"))
    index: dict[str, str] = {}
    for country in data["countries"]:
        code = country["alpha_2"]
        index[code.lower()] = code
        index[country["alpha_3"].lower()] = code
        for name in country["names"]:
            index.setdefault(_fold(name), code)
    for alias, code in _ALIASES.items():
        index.setdefault(_fold(alias), code)
    return index


def _fold(text: str) -> str:
    """Lower-case without accents and punctuation, so `België`, `belgie` and `BELGIË` meet."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w\s]", " ", letters).split())


def country_code(value: str | None) -> str:
    """ISO 3166-1 alpha-2 from an alpha-2 or alpha-3 code or a country name in NL/EN/DE/FR.

    Raises ValueError for a country it does not know.
    """
    text = (value or "").strip()
    if not text:
        return ""
    code = _country_index().get(_fold(text))
    if code is None:
        raise ValueError(reason("{value} is not a country we know (ISO code or name)", value=repr(value)))
    return code
