"""Text the target system can store. AccountView's tables are Visual FoxPro tables in a Windows code page
(cp1252 in Western Europe, FIELD-NOTES 19): `Łódź`, `Wójcik` or an emoji would be mangled or break the
write, and a NUL ends a FoxPro string. So every text value a map writes is fitted to the code page:
letters outside it become their closest letters (`Ł` → `L`, `ő` → `o`), what has no close letter (emoji)
is dropped, and control characters go (a line break in a one-line field becomes a space).

`fit_text` is pure and says what it changed; the engine turns that into a warning or, when the settings
ask for it, a parked record naming the field.
"""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

Outside = Literal["transliterate", "park"]

# Letters NFKD does not take apart, and punctuation cp1252 lacks, with their closest stand-in.
_CLOSEST = {
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "Ħ": "H",
    "ħ": "h",
    "ı": "i",
    "Ŀ": "L",
    "ŀ": "l",
    "Ŧ": "T",
    "ŧ": "t",
    "Ø": "O",
    "ø": "o",
    "ĸ": "k",
    "ſ": "s",
    "Ŋ": "N",
    "ŋ": "n",
    "Ə": "E",
    "ə": "e",
    "‐": "-",
    "‑": "-",
    "−": "-",
    "⁄": "/",
    "′": "'",
    "″": '"',
    "\u2009": " ",
    "\u202f": " ",
    "\u2007": " ",
}
_LINE_BREAKS = "\t\n\r"


@dataclass(frozen=True)
class TextRule:
    """How text is fitted: the target's code page, and what to do with characters outside it."""

    code_page: str = "cp1252"
    outside: Outside = "transliterate"

    def __post_init__(self) -> None:
        codecs.lookup(self.code_page)  # LookupError for a code page Python does not know


@dataclass(frozen=True)
class Fitted:
    text: str
    replaced: tuple[str, ...] = ()  # characters outside the code page, in order of appearance
    controls: bool = False  # control characters (NUL, line breaks in a one-line field, …) were removed

    @property
    def changed(self) -> bool:
        return bool(self.replaced) or self.controls


def fit_text(text: str, code_page: str = "cp1252", *, multiline: bool = False) -> Fitted:
    """`text` with only characters `code_page` holds; `multiline` keeps tabs and line breaks (memo fields)."""
    out: list[str] = []
    replaced: list[str] = []
    controls = False
    for char in text:
        if unicodedata.category(char) == "Cc":
            if multiline and char in _LINE_BREAKS:
                out.append(char)
                continue
            controls = True
            if char in _LINE_BREAKS:
                out.append(" ")
            continue
        if _fits(char, code_page):
            out.append(char)
            continue
        replaced.append(char)
        out.append(_closest(char, code_page))
    fitted = "".join(out)
    if replaced or controls:  # a dropped emoji or line break leaves no stray spaces
        lines = fitted.splitlines() if multiline else [fitted]
        fitted = "\n".join(" ".join(line.split()) for line in lines)
    return Fitted(fitted, tuple(dict.fromkeys(replaced)), controls)


@cache
def _fits(char: str, code_page: str) -> bool:
    try:
        char.encode(code_page)
    except UnicodeEncodeError:
        return False
    return True


@cache
def _closest(char: str, code_page: str) -> str:
    if char in _CLOSEST and all(_fits(c, code_page) for c in _CLOSEST[char]):
        return _CLOSEST[char]
    parts = unicodedata.normalize("NFKD", char)
    kept = []
    for part in parts:
        if unicodedata.combining(part) or unicodedata.category(part) == "Cc":
            continue
        if _fits(part, code_page):
            kept.append(part)
        elif part in _CLOSEST:
            kept.append(_CLOSEST[part])
    return "".join(kept)


def without_nul(data: Any) -> Any:
    """`data` with NUL removed from every string and key: PostgreSQL refuses \\x00 in JSON text, and
    it never means anything in a shop's data."""
    if isinstance(data, str):
        return data.replace("\x00", "")
    if isinstance(data, Mapping):
        return {without_nul(key): without_nul(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [without_nul(item) for item in data]
    return data
