"""German names an integration "Verknüpfung" on every page: no German catalogue of the dashboard says
"Integration" (the insights and datamapper pages' way back said "Zurück zur Integration")."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import koppel.web

WEB = Path(koppel.web.__file__).parent
CATALOGUES = sorted(WEB.glob("*/locale/de/LC_MESSAGES/django.po"))


def test_no_german_catalogue_calls_an_integration_integration() -> None:
    assert len(CATALOGUES) >= 6
    said = [(path.parent.parent.parent.parent.name, line) for path in CATALOGUES
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith("msgstr") and re.search(r"\bIntegration\b", line)]
    assert said == []


def test_the_way_back_to_the_integration_is_said_alike_on_insights_and_datamapper() -> None:
    for part in ("insights", "datamapper"):
        with (WEB / part / "locale" / "de" / "LC_MESSAGES" / "django.mo").open("rb") as compiled:
            back = gettext.GNUTranslations(compiled).gettext("Back to the integration")
        assert back == "Zurück zur Verknüpfung", part
