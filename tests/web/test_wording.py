"""One voice to the merchant. Dutch says "je/jouw" as MijnWebwinkel does, never the formal "u/uw"; German
says "Sie", never "du". What a merchant reads names no setting of the operator (KOPPEL_*), no engine part
(DBOS, workflow) and no stack trace: what only operators can act on (a setting's name, the mail server's
error, the command that starts a worker) is shown to staff users alone. Every setting has a label, and a
reason in Dutch or German names a setting the way the settings page labels it, not by its key.

The scans read every catalogue of the dashboard (the records' and the datamapper's too) and every guide; a
failure names the file, the message and the word."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Literal, get_args, get_origin

import pytest
from django.contrib.auth import get_user_model
from django.middleware.csrf import REASON_NO_CSRF_COOKIE, REASON_NO_REFERER
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import timezone, translation
from django.views.csrf import csrf_failure
from pydantic import BaseModel

from koppel.alerts.settings import smtp_settings
from koppel.core.accounts.models import Profile
from koppel.core.alerts.models import Channel, Delivery
from koppel.core.integrations.settings import flow_settings_model
from koppel.web.wizard import texts
from koppel.web.wizard.settings_form import NOT_ASKED
from tests.alerts.servers import free_port
from tests.web.world import World, build_world

WEB = Path(__file__).resolve().parents[2] / "src" / "koppel" / "web"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

# The formal address, as whole words (any case: "U bent", "Uw account"), and its stock phrases.
FORMAL = {"nl": {"u", "uw", "uwe", "uzelf", "alstublieft"},
          "de": {"du", "dein", "deine", "deinen", "deinem", "deiner", "deines", "dich", "dir"}}
# What is not a word of the sentence: placeholders (%(u)s, %s, {u}), Markdown code and link targets, tags.
PLACEHOLDERS = r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[sdif]|\{\w*\}"
NOT_WORDS = re.compile(PLACEHOLDERS + r"|`[^`]*`|\]\([^)]*\)|<[^>]*>|https?://\S+")
WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")  # "u-bocht" and "Koppel-leverancier" are one word each
# The operator's words: environment settings, the engine and what a crash prints.
JARGON = re.compile(r"\bKOPPEL_[A-Z_]+|\bDBOS\b|\bworkflows?\b|Traceback|\bstack trace", re.I)


@dataclass(frozen=True)
class Message:
    """One entry of a catalogue: where it is, what it translates and its translations (plural forms too)."""

    path: Path
    msgid: str
    msgstrs: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(WEB)}: {self.msgid[:80]!r}"


def messages(path: Path) -> list[Message]:
    """The entries of a .po file (its header left out)."""
    found: list[Message] = []
    entry: dict[str, str] = {}
    key = ""
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = line.strip()
        if line.startswith("#"):
            continue
        if not line:
            if entry.get("msgid"):
                found.append(Message(path, entry["msgid"],
                                     tuple(v for k, v in entry.items() if k.startswith("msgstr"))))
            entry, key = {}, ""
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, _space, text = line.partition(" ")
            entry[key] = ast.literal_eval(text)
    return found


def catalogues(language: str) -> list[Path]:
    found = sorted(WEB.rglob(f"locale/{language}/LC_MESSAGES/django.po"))
    assert len(found) >= 9, found  # the dashboard's, the wizard's, the reasons', the records', …
    return found


def guides(language: str) -> list[Path]:
    found = sorted((WEB / "guides").glob(f"*.{language}.md"))
    assert len(found) >= 3, found
    return found


def formal_words(text: str, language: str) -> list[str]:
    """The words of `text` that address the reader formally (Dutch) or informally (German)."""
    return [word for word in WORD.findall(NOT_WORDS.sub(" ", text)) if word.lower() in FORMAL[language]]


def offences(language: str) -> list[str]:
    found = [f"{message.where} says {word!r}" for path in catalogues(language) for message in messages(path)
             for text in message.msgstrs for word in formal_words(text, language)]
    for guide in guides(language):
        for number, line in enumerate(guide.read_text(encoding="utf-8").splitlines(), 1):
            found += [f"{guide.relative_to(WEB)}:{number} says {word!r}" for word in formal_words(line, language)]
    return found


def test_dutch_says_je_and_jouw_never_u_or_uw() -> None:
    assert offences("nl") == []


def test_german_says_sie_never_du() -> None:
    assert offences("de") == []


def test_the_scan_finds_the_formal_words_and_not_the_placeholders_or_parts_of_words() -> None:
    assert formal_words("Kunt u dit doen? Uw account, %(u)s, {u}, `u`, uur, u-bocht, [kijk](u), Je code, "
                        "alstublieft", "nl") == ["u", "Uw", "alstublieft"]
    assert formal_words("Hast du dein Konto? Ihr Konto, %(du)s, Dirk, dirigieren. Dich!", "de") == [
        "du", "dein", "Dich"]


def test_the_scan_reads_every_translation_of_a_catalogue(tmp_path: Path) -> None:
    po = tmp_path / "django.po"
    po.write_text('msgid ""\nmsgstr "Language: nl\\n"\n\n# a comment\nmsgid "Sign in first"\nmsgstr "Meld u "\n'
                  '"eerst aan"\n\nmsgid "%(n)s code"\nmsgid_plural "%(n)s codes"\nmsgstr[0] "%(n)s code"\n'
                  'msgstr[1] "%(n)s codes van uw app"\n', encoding="utf-8")
    found = messages(po)
    assert [(m.msgid, m.msgstrs) for m in found] == [
        ("Sign in first", ("Meld u eerst aan",)), ("%(n)s code", ("%(n)s code", "%(n)s codes van uw app"))]
    assert [formal_words(text, "nl") for m in found for text in m.msgstrs] == [["u"], [], ["uw"]]


@pytest.mark.django_db
def test_the_pages_django_words_say_je_in_dutch_too(world: World) -> None:
    """Signing up through an invitation shows Django's password rules, and a refused form Django's CSRF page:
    Django's own Dutch says "uw", so our catalogue says them again."""
    sign_up = Client().get(f"/invitation/{world.mine.invitation_token}/", HTTP_ACCEPT_LANGUAGE="nl")
    assert sign_up.status_code == 200
    with translation.override("nl"):
        refused = [csrf_failure(RequestFactory().post("/"), reason=why).content.decode()
                   for why in (REASON_NO_CSRF_COOKIE, REASON_NO_REFERER)]
    pages = [sign_up.content.decode(), *refused]
    assert "Je wachtwoord moet minstens" in pages[0] and "Je ziet deze melding" in pages[1]
    assert [formal_words(re.sub(r"<[^>]*>", " ", page), "nl") for page in pages] == [[], [], []]


# --- the operator's words -----------------------------------------------------------------------------------


def jargon(text: str) -> list[str]:
    """The operator's words in `text` (a placeholder such as %(workflows)s is a value's name, not a word)."""
    return JARGON.findall(re.sub(PLACEHOLDERS, " ", text))


def test_the_jargon_check_reads_the_text_not_the_placeholders() -> None:
    assert jargon("%(workflows)s done; set `KOPPEL_SMTP_HOST`; a DBOS workflow, {workflow}") == [
        "KOPPEL_SMTP_HOST", "DBOS", "workflow"]


def test_no_message_of_the_dashboard_names_a_setting_of_the_operator_or_the_engine() -> None:
    """A merchant can't set KOPPEL_SMTP_HOST; what only operators act on is passed in as a value and shown to
    staff alone (see the invitation below)."""
    found = [f"{message.where} says {hit!r}" for language in ("nl", "de") for path in catalogues(language)
             for message in messages(path) for text in (message.msgid, *message.msgstrs)
             for hit in jargon(text)]
    assert found == []


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def no_mail_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("KOPPEL_SMTP_HOST", "")
    smtp_settings.cache_clear()
    yield
    smtp_settings.cache_clear()


@pytest.fixture
def failing_mail_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("KOPPEL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KOPPEL_SMTP_PORT", str(free_port()))  # nobody listens there
    monkeypatch.setenv("KOPPEL_SMTP_SECURITY", "none")
    smtp_settings.cache_clear()
    yield
    smtp_settings.cache_clear()


def invitation_page(world: World, language: str, *, staff: bool) -> str:
    owner = world.mine.users["owner"]
    owner.is_staff = staff
    owner.save(update_fields=["is_staff"])
    Profile.objects.update_or_create(user=owner, defaults={"language": language})
    client = Client()
    client.force_login(owner, backend=MODEL_BACKEND)
    page = client.post(f"/w/{world.mine.workspace.pk}/members/invite/",
                       {"email": f"new-{language}@example.nl", "role": "member"}, follow=True)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="invite-link"' in html  # the invitation stands whatever the mail does
    return html


@pytest.mark.django_db
@pytest.mark.usefixtures("no_mail_server")
@pytest.mark.parametrize("language", ["en", "nl", "de"])
def test_without_a_mail_server_a_merchant_reads_whom_to_ask_and_only_staff_read_the_setting(
        world: World, language: str) -> None:
    merchant = invitation_page(world, language, staff=False)
    assert "KOPPEL_" not in merchant
    assert {"en": "ask whoever runs Koppel to set up a mail server",
            "nl": "vraag dan wie Koppel beheert om een mailserver in te stellen",
            "de": "bitten Sie den Betreiber von Koppel, einen Mailserver einzurichten"}[language] in merchant
    assert "KOPPEL_SMTP_HOST" in invitation_page(world, language, staff=True)


@pytest.mark.django_db
@pytest.mark.usefixtures("failing_mail_server")
def test_a_failing_mail_server_is_named_to_staff_alone(world: World) -> None:
    merchant = invitation_page(world, "nl", staff=False)
    assert "mailserver van deze Koppel-installatie" in merchant and "127.0.0.1" not in merchant
    staff = invitation_page(world, "nl", staff=True)
    assert "Voor operators" in staff and "127.0.0.1" in staff


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "nl", "de"])
def test_a_run_waiting_for_a_worker_tells_only_staff_the_command_that_starts_one(language: str) -> None:
    def progress(staff: bool) -> str:
        request = RequestFactory().get("/")
        request.user = get_user_model().objects.create(username=f"staff-{staff}", is_staff=staff)
        with translation.override(language):
            return render_to_string("runs/_progress.html", {
                "progress": SimpleNamespace(state="queued", finished=False), "workers_running": False,
                "flow": "orders", "follow_url": "/progress/"}, request=request)

    merchant, staff = progress(staff=False), progress(staff=True)
    assert "koppel worker" not in merchant and "koppel run" not in merchant
    assert {"en": "Ask whoever runs Koppel", "nl": "Vraag wie Koppel beheert",
            "de": "Bitten Sie den Betreiber von Koppel"}[language] in merchant
    assert "<code>koppel worker</code>" in staff


@pytest.mark.django_db
@pytest.mark.parametrize(("via", "error", "merchant_reads_it"), [
    ("email", "no mail server is configured (KOPPEL_SMTP_HOST)", False),
    ("email", "mail server smtp.internal:25: [Errno 111] Connection refused", False),
    ("webhook", "webhook https://hooks.example.org/koppel: answered 404", True),  # the merchant's own endpoint
])
def test_a_failing_channel_shows_the_mail_servers_error_to_staff_alone(world: World, via: str, error: str,
                                                                      merchant_reads_it: bool) -> None:
    channels = Channel.objects.filter(workspace=world.mine.workspace)
    assert channels.update(via=via, failing_since=timezone.now(), last_error=error)
    assert Delivery.objects.filter(channel__in=channels).update(last_error=error)
    owner = world.mine.users["owner"]
    pages = ["/alerts/?state=all", f"/alerts/w/{world.mine.workspace.pk}/settings/"]

    def shown(staff: bool) -> str:
        owner.is_staff = staff
        owner.save(update_fields=["is_staff"])
        client = Client()
        client.force_login(owner, backend=MODEL_BACKEND)
        answers = [client.get(page) for page in pages]
        assert [answer.status_code for answer in answers] == [200, 200]
        return "".join(answer.content.decode() for answer in answers)

    merchant = shown(staff=False)
    assert (error in merchant) is merchant_reads_it and "KOPPEL_" not in merchant
    assert ("ask whoever runs Koppel to check its mail server" in merchant) is not merchant_reads_it
    assert shown(staff=True).count(error) >= 2  # the list's warning and the settings' tooltip at least


# --- settings by their label --------------------------------------------------------------------------------


def setting_labels(language: str) -> dict[str, set[str]]:
    """Each setting of an integration's flows, by key, with the label(s) its settings page shows."""
    flows: dict[str, type[BaseModel]] = {name: field.annotation  # type: ignore[misc]
                                         for name, field in flow_settings_model().model_fields.items()}
    labels: dict[str, set[str]] = {}
    with translation.override(language):
        for flow, model in flows.items():
            for key, info in model.model_fields.items():
                labels.setdefault(key, set()).add(str(texts.label(flow, key, info.description)[0]))
    return labels


def test_every_setting_the_settings_pages_ask_has_a_label_and_its_choices_have_words() -> None:
    """Without one the page shows the key itself ("Max stock", "per article") in every language, and a
    reason could not name the setting as the page does."""
    unlabelled, bare_choices = [], []
    for flow, field in flow_settings_model().model_fields.items():
        for key, info in field.annotation.model_fields.items():  # type: ignore[union-attr]
            if key in NOT_ASKED:
                continue
            if (flow, key) not in texts.LABELS:
                unlabelled.append(f"{flow}.{key}")
            if get_origin(info.annotation) is Literal:
                bare_choices += [f"{flow}.{key} = {value}" for value in get_args(info.annotation)
                                 if str(value) not in texts.CHOICES]
    assert unlabelled == [] and bare_choices == []


def named_settings(text: str, keys: set[str]) -> set[str]:
    """The settings keys `text` names as keys: a key with an underscore as a word, any key in parentheses,
    before '=', after the word setting (in any language) or as the head of a path (variants.attributes.list_id)."""
    return {key for key in keys
            if re.search(rf"(?<![\w.{{]){re.escape(key)}(?![\w}}])", text)
            and ("_" in key or re.search(rf"\({key}\)|\b{key}=|(?<![\w.]){key}\.\w|"
                                         rf"(?:setting|instelling|[Ee]instellung) {key}\b", text))}


@pytest.mark.parametrize("language", ["nl", "de"])
def test_a_reason_names_a_setting_by_the_label_of_the_settings_page(language: str) -> None:
    """The English keeps the key (the CLI's user edits settings by key); Dutch and German name the label."""
    labels = setting_labels(language)
    reasons = messages(WEB / "reasons" / "locale" / language / "LC_MESSAGES" / "django.po")
    checked, wrong = 0, []
    for message in reasons:
        for key in named_settings(message.msgid, set(labels)):
            checked += 1
            for text in message.msgstrs:
                if named_settings(text, {key}):
                    wrong.append(f"{message.where} names {key!r} by its key")
                elif not any(label.lower() in text.lower() for label in labels[key]):
                    wrong.append(f"{message.where} does not name {key!r} as the page does: {sorted(labels[key])}")
    assert checked >= 8  # rounding_article, total_tolerance, credit_orders, category_parents, max_stock, …
    assert wrong == []


def test_a_setting_named_by_its_key_is_found() -> None:
    keys = {"rounding_article", "max_stock", "groups", "select", "variants", "expression"}
    assert named_settings("name a rounding article (rounding_article); raise max_stock", keys) == {
        "rounding_article", "max_stock"}
    assert named_settings("select=groups needs a code in groups; see (variants) or variants.attributes.list_id",
                          keys) == {"select", "variants"}
    assert named_settings("not a regular expression: {error}; {max_stock} and article groups", keys) == set()
    assert named_settings("(products setting blocked: {rule}); (productinstelling blocked: {rule})",
                          {"blocked", "images"}) == {"blocked"}
