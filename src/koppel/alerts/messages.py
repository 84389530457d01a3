"""Alerts in words, in the workspace's language (Dutch, English or German): what failed, since when, how
many records are affected, what to do, and a link. The reasons it quotes (why records were parked, what
broke a connection) are shown in that language too, through the dashboard's catalog of reasons.

A message is made from an alert's kind, the notice's event and the facts stored with the notice, so a
message sent again after a crash says exactly what the first would have said.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from koppel.reasons_shown import in_language

LANGUAGES = ("nl", "en", "de")
SYSTEMS = {"accountview": "AccountView", "mijnwebwinkel": "MijnWebwinkel"}


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    link: str


# The causes of a broken connection, in plain words, and the fix for each.
CAUSES: dict[str, dict[str, tuple[str, str]]] = {
    "revoked": {
        "en": ("{system} no longer accepts Koppel's authorisation: the access was revoked or has expired.",
               "Connect {system} again in Koppel (sign in and allow access)."),
        "nl": ("{system} accepteert de toestemming van Koppel niet meer: de toegang is ingetrokken of verlopen.",
               "Koppel {system} opnieuw in Koppel (log in en geef toestemming)."),
        "de": ("{system} akzeptiert die Berechtigung von Koppel nicht mehr: der Zugriff wurde widerrufen oder ist "
               "abgelaufen.", "Verbinden Sie {system} in Koppel erneut (anmelden und Zugriff erlauben)."),
    },
    "wrong_key": {
        "en": ("{system} refuses the key Koppel uses: it is wrong or was changed.",
               "Enter the current key (token, client id and secret) of the {system} connection in Koppel."),
        "nl": ("{system} weigert de sleutel die Koppel gebruikt: die klopt niet of is gewijzigd.",
               "Vul in Koppel de huidige sleutel (token, client-id en secret) van de {system}-koppeling in."),
        "de": ("{system} lehnt den Schlüssel ab, den Koppel verwendet: er ist falsch oder wurde geändert.",
               "Tragen Sie in Koppel den aktuellen Schlüssel (Token, Client-ID und Secret) der "
               "{system}-Verbindung ein."),
    },
    "company_gone": {
        "en": ("The administration Koppel writes to is no longer available in {system}.",
               "Choose the administration again in the {system} connection (a new fiscal year may have a new one)."),
        "nl": ("De administratie waarin Koppel boekt is niet meer beschikbaar in {system}.",
               "Kies de administratie opnieuw in de {system}-koppeling (een nieuw boekjaar kan een nieuwe zijn)."),
        "de": ("Der Mandant, in den Koppel bucht, ist in {system} nicht mehr verfügbar.",
               "Wählen Sie den Mandanten in der {system}-Verbindung erneut (ein neues Geschäftsjahr kann ein "
               "neuer Mandant sein)."),
    },
    "no_rights": {
        "en": ("{system} refuses access: the user Koppel signs in as lacks the rights it needs.",
               "Give that user the rights in {system}, or connect with a user who has them."),
        "nl": ("{system} weigert de toegang: de gebruiker waarmee Koppel inlogt mist de nodige rechten.",
               "Geef die gebruiker de rechten in {system}, of koppel met een gebruiker die ze heeft."),
        "de": ("{system} verweigert den Zugriff: dem Benutzer von Koppel fehlen die nötigen Rechte.",
               "Geben Sie dem Benutzer die Rechte in {system} oder verbinden Sie mit einem berechtigten Benutzer."),
    },
    "offline": {
        "en": ("{system} cannot be reached (for AccountView.net: the link to your own AccountView server is "
               "offline).", "Check that the server and its AccountView.net connection are running; Koppel "
               "resumes by itself once it answers."),
        "nl": ("{system} is niet bereikbaar (bij AccountView.net: de verbinding met uw eigen AccountView-server "
               "is offline).", "Controleer of de server en de AccountView.net-verbinding draaien; Koppel gaat "
               "vanzelf verder zodra hij antwoordt."),
        "de": ("{system} ist nicht erreichbar (bei AccountView.net: die Verbindung zu Ihrem AccountView-Server "
               "ist offline).", "Prüfen Sie, ob der Server und seine AccountView.net-Verbindung laufen; Koppel "
               "macht von selbst weiter, sobald er antwortet."),
    },
    "settings": {
        "en": ("The settings of the {system} connection are invalid.", "Correct them in Koppel."),
        "nl": ("De instellingen van de {system}-koppeling zijn ongeldig.", "Corrigeer ze in Koppel."),
        "de": ("Die Einstellungen der {system}-Verbindung sind ungültig.", "Korrigieren Sie sie in Koppel."),
    },
    "other": {
        "en": ("{system} refuses Koppel's connection.", "Check the {system} connection in Koppel."),
        "nl": ("{system} weigert de verbinding van Koppel.", "Controleer de {system}-koppeling in Koppel."),
        "de": ("{system} verweigert die Verbindung von Koppel.", "Prüfen Sie die {system}-Verbindung in Koppel."),
    },
}


def cause_of(message: str) -> str:
    """The kind of a broken connection, read from the error that broke it."""
    text = message.lower()
    if "invalid_client" in text or "unauthorized_client" in text or "store token" in text:
        return "wrong_key"
    if any(word in text for word in ("invalid_grant", "reconnect", "not authorised", "tokens are gone",
                                     "rejects our access token", "without a refresh token")):
        return "revoked"
    if "settings are invalid" in text:
        return "settings"
    if "refuses access" in text:
        return "no_rights"
    if "compan" in text:
        return "company_gone"
    if "offline" in text or "unreachable" in text or "did not answer" in text or "connection failed" in text:
        return "offline"
    return "other"


WORDS: dict[str, dict[str, str]] = {
    "en": {
        "since": "Since", "affected": "Affected", "todo": "What to do", "link": "Link", "cause": "Cause",
        "details": "Details", "reminder": "Reminder: ", "resolved": "Resolved: ", "never": "never",
        "paused": "Paused until it works again: {names}.", "records": "{count} records",
    },
    "nl": {
        "since": "Sinds", "affected": "Getroffen", "todo": "Wat te doen", "link": "Link", "cause": "Oorzaak",
        "details": "Details", "reminder": "Herinnering: ", "resolved": "Opgelost: ", "never": "nooit",
        "paused": "Gepauzeerd tot het weer werkt: {names}.", "records": "{count} records",
    },
    "de": {
        "since": "Seit", "affected": "Betroffen", "todo": "Was zu tun ist", "link": "Link", "cause": "Ursache",
        "details": "Details", "reminder": "Erinnerung: ", "resolved": "Behoben: ", "never": "nie",
        "paused": "Pausiert, bis es wieder funktioniert: {names}.", "records": "{count} Datensätze",
    },
}

# Per kind: (subject, what failed, what to do) and the subject of its recovery.
TEXTS: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "broken_connection": {
        "en": ("{system} connection broken: {connection}", "{cause}", "{fix}",
               "{system} connection works again: {connection}"),
        "nl": ("{system}-koppeling verbroken: {connection}", "{cause}", "{fix}",
               "{system}-koppeling werkt weer: {connection}"),
        "de": ("{system}-Verbindung unterbrochen: {connection}", "{cause}", "{fix}",
               "{system}-Verbindung funktioniert wieder: {connection}"),
    },
    "parked": {
        "en": ("{count} {entities} parked in {integration}", "{count} {entities} could not be synced:",
               "Fix the cause, then retry them from the activity list.", "No more parked records in {integration}"),
        "nl": ("{count} {entities} geparkeerd in {integration}", "{count} {entities} konden niet mee:",
               "Los de oorzaak op en probeer ze opnieuw vanuit de activiteitenlijst.",
               "Geen geparkeerde records meer in {integration}"),
        "de": ("{count} {entities} geparkt in {integration}", "{count} {entities} konnten nicht übertragen werden:",
               "Beheben Sie die Ursache und wiederholen Sie sie aus der Aktivitätenliste.",
               "Keine geparkten Datensätze mehr in {integration}"),
    },
    "silent_flow": {
        "en": ("No successful {flow} run in {integration}",
               "The {flow} flow has had no successful run since {last} (expected every {expected} minutes).",
               "Look at the latest runs of {integration}; check that a worker is running.",
               "{flow} runs again in {integration}"),
        "nl": ("Geen geslaagde {flow}-run in {integration}",
               "De {flow}-stroom heeft sinds {last} geen geslaagde run gehad (verwacht: elke {expected} minuten).",
               "Bekijk de laatste runs van {integration}; controleer of er een worker draait.",
               "{flow} draait weer in {integration}"),
        "de": ("Kein erfolgreicher {flow}-Lauf in {integration}",
               "Der {flow}-Ablauf hatte seit {last} keinen erfolgreichen Lauf (erwartet alle {expected} Minuten).",
               "Sehen Sie sich die letzten Läufe von {integration} an; prüfen Sie, ob ein Worker läuft.",
               "{flow} läuft wieder in {integration}"),
    },
    "silent_orders": {
        "en": ("No orders from {integration} for {hours} hours",
               "No new order has come from the shop since {last}; it usually has one within {hours} hours.",
               "Check that the shop takes orders and that the order statuses Koppel reads are still right.",
               "Orders come in again from {integration}"),
        "nl": ("Al {hours} uur geen bestellingen uit {integration}",
               "Sinds {last} is er geen nieuwe bestelling uit de webwinkel gekomen; normaal is er binnen "
               "{hours} uur een.", "Controleer of de webwinkel bestellingen aanneemt en of de orderstatussen "
               "die Koppel leest nog kloppen.", "Er komen weer bestellingen binnen uit {integration}"),
        "de": ("Seit {hours} Stunden keine Bestellungen aus {integration}",
               "Seit {last} ist keine neue Bestellung aus dem Webshop gekommen; sonst kommt eine innerhalb von "
               "{hours} Stunden.", "Prüfen Sie, ob der Webshop Bestellungen annimmt und ob die Bestellstatus, "
               "die Koppel liest, noch stimmen.", "Es kommen wieder Bestellungen aus {integration}"),
    },
    "stuck_run": {
        "en": ("A {flow} run of {integration} is stuck",
               "Run {run} has been going since {last}; it usually takes {usual} minutes.",
               "Check the workers; Koppel takes over the work of a stopped worker by itself.",
               "The {flow} run of {integration} finished"),
        "nl": ("Een {flow}-run van {integration} hangt",
               "Run {run} loopt al sinds {last}; normaal duurt hij {usual} minuten.",
               "Controleer de workers; Koppel neemt het werk van een gestopte worker vanzelf over.",
               "De {flow}-run van {integration} is klaar"),
        "de": ("Ein {flow}-Lauf von {integration} hängt",
               "Lauf {run} läuft seit {last}; normalerweise dauert er {usual} Minuten.",
               "Prüfen Sie die Worker; Koppel übernimmt die Arbeit eines gestoppten Workers von selbst.",
               "Der {flow}-Lauf von {integration} ist fertig"),
    },
    "dead_worker": {
        "en": ("Worker {executor} stopped", "Its last heartbeat was at {last}.",
               "Restart the worker; its unfinished work is taken over by the others.", "Worker {executor} is back"),
        "nl": ("Worker {executor} is gestopt", "De laatste hartslag was om {last}.",
               "Start de worker opnieuw; zijn onafgemaakte werk wordt door de andere overgenomen.",
               "Worker {executor} is terug"),
        "de": ("Worker {executor} ist gestoppt", "Der letzte Herzschlag war um {last}.",
               "Starten Sie den Worker neu; seine offene Arbeit übernehmen die anderen.",
               "Worker {executor} ist zurück"),
    },
    "queue_growing": {
        "en": ("The work queue keeps growing: {depth} waiting", "{depth} units of work wait; the oldest since "
               "{last}.", "Add workers or check why they are slow (rate limits, a slow system).",
               "The work queue is back to normal"),
        "nl": ("De werkrij blijft groeien: {depth} wachtend", "{depth} werkeenheden wachten; de oudste sinds "
               "{last}.", "Voeg workers toe of zoek uit waarom ze traag zijn (limieten, een traag systeem).",
               "De werkrij is weer normaal"),
        "de": ("Die Warteschlange wächst: {depth} wartend", "{depth} Arbeitseinheiten warten; die älteste seit "
               "{last}.", "Starten Sie mehr Worker oder prüfen Sie, warum sie langsam sind.",
               "Die Warteschlange ist wieder normal"),
    },
    "channel_failing": {
        "en": ("Alerts cannot be sent to {channel}", "Sending failed: {error}",
               "Check the address or URL and the mail server settings.", "Alerts reach {channel} again"),
        "nl": ("Meldingen kunnen niet naar {channel}", "Versturen mislukte: {error}",
               "Controleer het adres of de URL en de instellingen van de mailserver.",
               "Meldingen komen weer aan bij {channel}"),
        "de": ("Meldungen können nicht an {channel} gesendet werden", "Senden fehlgeschlagen: {error}",
               "Prüfen Sie Adresse oder URL und die Einstellungen des Mailservers.",
               "Meldungen erreichen {channel} wieder"),
    },
}

ENTITIES = {  # "": records of several kinds in one message
    "en": {"": ("record", "records"), "order": ("order", "orders"), "product": ("product", "products"),
           "stock": ("stock level", "stock levels")},
    "nl": {"": ("record", "records"), "order": ("bestelling", "bestellingen"), "product": ("product", "producten"),
           "stock": ("voorraad", "voorraden")},
    "de": {"": ("Datensatz", "Datensätze"), "order": ("Bestellung", "Bestellungen"),
           "product": ("Produkt", "Produkte"), "stock": ("Bestand", "Bestände")},
}
REASONS_SHOWN = 10  # groups of parked records named in one message; the rest are counted


class _Facts(dict[str, Any]):
    """Values for a message template; a fact missing (an alert stored by an older version, a row made by
    hand) shows as "?" instead of breaking the message."""

    def __missing__(self, key: str) -> str:
        return "?"


def moment(value: str, time_zone: str, language: str) -> str:
    """An ISO moment as the reader's clock shows it, e.g. 30-11-2026 19:04."""
    if not value:
        return WORDS[language]["never"]
    when = datetime.fromisoformat(value).astimezone(ZoneInfo(time_zone))
    return when.strftime("%d-%m-%Y %H:%M" if language != "en" else "%Y-%m-%d %H:%M")


def entities(language: str, entity: str, count: int) -> str:
    one, many = ENTITIES[language].get(entity, (entity, entity))
    return one if count == 1 else many


def render(kind: str, event: str, facts: dict[str, Any], *, language: str = "nl",
           time_zone: str = "Europe/Amsterdam") -> Message:
    """The message of one notice."""
    language = language if language in LANGUAGES else "en"
    words = WORDS[language]
    subject, what, todo, recovered = TEXTS[kind][language]
    values = _Facts(_values(kind, facts, language, time_zone))
    link = str(facts.get("link", ""))
    if event == "resolved":
        subject = words["resolved"] + recovered.format_map(values)
        lines = [subject, "", f"{words['since']}: {values['since']}"]
        return Message(subject, "\n".join([*lines, f"{words['link']}: {link}" if link else ""]).strip() + "\n", link)
    subject = subject.format_map(values)
    if event == "reminder":
        subject = words["reminder"] + subject
    lines = [what.format_map(values)]
    if kind == "parked":
        lines += [f"- {count} × {reason}" for reason, count in values["groups"]]
        if values["more"]:
            lines.append(f"- … {values['more']}")
    if kind == "broken_connection" and facts.get("detail"):
        lines.append(f"{words['details']}: {in_language(language, str(facts['detail']), facts.get('detail_args'))}")
    lines.append("")
    lines.append(f"{words['since']}: {values['since']}")
    if facts.get("affected"):
        lines.append(f"{words['affected']}: {words['records'].format(count=facts['affected'])}")
    if facts.get("paused"):
        lines.append(words["paused"].format(names=", ".join(facts["paused"])))
    lines.append(f"{words['todo']}: {todo.format_map(values)}")
    if link:
        lines.append(f"{words['link']}: {link}")
    return Message(subject, "\n".join(lines) + "\n", link)


def _values(kind: str, facts: dict[str, Any], language: str, time_zone: str) -> dict[str, Any]:
    system = SYSTEMS.get(str(facts.get("system", "")), str(facts.get("system", ""))) or "?"
    values: dict[str, Any] = {
        **{k: v for k, v in facts.items() if isinstance(v, str | int | float)},
        "system": system,
        "since": moment(str(facts.get("since", "")), time_zone, language),
        "last": moment(str(facts.get("last", "")), time_zone, language),
    }
    if kind == "broken_connection":
        cause, fix = CAUSES[str(facts.get("cause", "other"))][language]
        values.update(cause=cause.format(system=system), fix=fix.format(system=system))
    if kind == "parked":
        # A group is [reason, count] or [reason, count, its translatable form] (koppel.reasons): its reason is
        # quoted in the message's language where it has that form.
        groups = [(in_language(language, str(group[0]), group[2] if len(group) > 2 else None), int(group[1]))
                  for group in facts.get("groups", [])]
        count = int(facts.get("count", 0))
        shown = groups[:REASONS_SHOWN]
        values.update(groups=shown, more=sum(c for _, c in groups[REASONS_SHOWN:]),
                      entities=entities(language, str(facts.get("entity", "")), count), count=count)
    return values
