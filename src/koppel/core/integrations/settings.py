"""The one settings model per thing a user configures, used by every write path (`koppel integration
apply`, the admin, later the dashboard) and by the engine when it builds clients: connection settings and
credentials per system (AccountView's carry the installation profile), and the integration's flow settings.

Flow settings belong to the flows; the data model must not import them (layers point down), so the model
is named in Django's settings (`KOPPEL_FLOW_SETTINGS`, set by the process's configuration).
"""

from __future__ import annotations

import ipaddress
from string import Formatter
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from koppel.connectors.accountview.profile import AccountViewProfile


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _secure_base_url(value: str) -> str:
    """Credentials travel to this URL (MijnWebwinkel's tokens even in its query string): https only, except
    to this machine itself (the sandboxes, a local relay), where nothing crosses a network."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{value!r} is no web address: use https://host")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(f"{value!r}: credentials would cross the network unencrypted; use https://")
    if parts.query or parts.fragment:
        raise ValueError(f"{value!r}: the base URL takes no query or fragment")
    return value.strip().rstrip("/")


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


BaseUrl = Annotated[str, AfterValidator(_secure_base_url)]


def _page_pattern(*names: str) -> Any:
    """A web address of a record in a system's own screens, with {name} where the record's key goes; "" links
    nothing. Only the names given may appear, and the address must be https (or this machine)."""

    def check(value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        used = {name for _, name, _, _ in Formatter().parse(value) if name is not None}
        if used - set(names):
            raise ValueError(f"{value!r}: unknown {{{'}, {'.join(sorted(used - set(names)))}}}; "
                             f"use {', '.join('{' + n + '}' for n in names)}")
        parts = urlsplit(value.replace("{", "").replace("}", ""))
        if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname or "")):
            raise ValueError(f"{value!r} is no https address")
        return value

    return AfterValidator(check)


class MijnWebwinkelSettings(_Strict):
    base_url: BaseUrl = "https://api.myonlinestore.com"
    api_version: Literal["1", "2-beta"] = "1"
    language: str = "nl_NL"
    rate_per_second: float = Field(5.0, gt=0)
    # Where the dashboard links a shop record to the shop's own back office. The article's is the reference's
    # (NOTES §6: "…/beheer/article/edit?categoryArticleId=<article_url_id>", the number in the article's
    # storefront and admin URLs, not its API id). The reference names no address of an order: the default is
    # our assumption, after the back office's other pages (/beheer/token/, /beheer/article/edit); set it to
    # your shop's, or to "" to link no orders.
    admin_article_url: Annotated[str, _page_pattern("article_url_id", "article_id")] = (
        "https://www.mijnwebwinkel.nl/beheer/article/edit?categoryArticleId={article_url_id}")
    admin_order_url: Annotated[str, _page_pattern("number")] = (
        "https://www.mijnwebwinkel.nl/beheer/order/view?orderNumber={number}")


class MijnWebwinkelCredentials(_Strict):
    token: str = Field(min_length=1)
    partner_token: str = Field(min_length=1)


class AccountViewSettings(_Strict):
    base_url: BaseUrl = "https://www.accountview.net"
    company_id: str = Field(min_length=1)
    rate_per_second: float | None = Field(
        5.0,
        gt=0,
        description="calls per second to this AccountView (none: no limit); [assumed NOTES §8: no public "
        "information on rate limits]",
    )
    profile: AccountViewProfile = Field(
        default_factory=AccountViewProfile, description="every assumption about this installation"
    )
    # AccountView is a Windows application with its data behind accountview.net's API; the reference names no
    # web address of a record (a debtor, an article, a sales order). So none is linked unless one is set here,
    # e.g. a web client of the installation's: {business_object} (AR1, AK1, SO1, DJ2), {key}, {company_id}.
    record_url: Annotated[str, _page_pattern("business_object", "key", "company_id")] = ""


class AccountViewCredentials(_Strict):
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    refresh_token: str | None = None


SYSTEM_MODELS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "mijnwebwinkel": (MijnWebwinkelSettings, MijnWebwinkelCredentials),
    "accountview": (AccountViewSettings, AccountViewCredentials),
}


def flow_settings_model() -> type[BaseModel]:
    """The model of an integration's `flows` (one field per flow), as configured in Django's settings."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    model: type[BaseModel] = import_string(settings.KOPPEL_FLOW_SETTINGS)
    return model


def flow_names() -> list[str]:
    return list(flow_settings_model().model_fields)


def problems(prefix: str, exc: ValidationError) -> list[str]:
    """One line per error, naming the field by its full path: `connections.books.settings.profile.x: …`."""
    lines = []
    for err in exc.errors():
        where = ".".join([prefix, *(str(p) for p in err["loc"])]).strip(".")
        lines.append(f"{where}: {err['msg']}")
    return lines


def check(model: type[BaseModel], value: Any, *, field: str) -> None:
    """Refuse `value` unless `model` accepts it: a Django ValidationError on `field` naming every bad
    setting (what the admin's form shows on the field)."""
    try:
        model.model_validate(value if value is not None else {})
    except ValidationError as exc:
        raise DjangoValidationError({field: problems("", exc)}) from None
