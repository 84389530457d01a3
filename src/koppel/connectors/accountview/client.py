"""The AccountView.net web API (v3) client: the only code in Koppel that speaks AccountView's protocol.

Three layers, top to bottom: typed helpers the flows call (`find_debtor_by_email`, `create_sales_order`,
…), the generic API (`read`, `insert`, `update`), and one request path that adds the bearer token and
`x-company`, refreshes the token (proactively, and once on a 401), waits for the account's rate limiter,
retries reads briefly, and turns every failure into the closed error vocabulary of `koppel.errors`. Retry,
`Retry-After`, paging and rate limiting come from the connector kit (`koppel.connectors.http`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, TypeVar

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, Field

from koppel.connectors.accountview import records
from koppel.connectors.accountview.debtor_emails import DebtorEmailIndex
from koppel.connectors.accountview.fields import DataDictionary
from koppel.connectors.accountview.models import (
    Article,
    ArticleGroup,
    ArticleImage,
    ArticleSelection,
    ArticleStock,
    Company,
    Debtor,
    DebtorIn,
    DeliveryAddress,
    DeliveryAddressIn,
    FieldWarning,
    Journal,
    LedgerAccount,
    PaymentCondition,
    PaymentMethod,
    SalesInvoice,
    SalesInvoiceIn,
    SalesOrder,
    SalesOrderIn,
    VatCode,
)
from koppel.connectors.accountview.oauth import SYSTEM, OAuthEndpoints, TokenSet, TokenStore, refresh_tokens
from koppel.connectors.accountview.profile import AccountViewProfile, BusinessObject
from koppel.connectors.accountview.wire import (
    MAX_FILTERS,
    Filter,
    Row,
    error_message,
    error_type,
    field_in_message,
    nest_details,
    parse_json,
    read_params,
    table_rows,
    write_body,
)
from koppel.connectors.http import (
    LastKeyPaginator,
    PageNumberPaginator,
    RateLimiter,
    RetryPolicy,
    account_key,
    parse_retry_after,
    process_rate_limiter,
)
from koppel.errors import BrokenConnection, KoppelError, NeedsAttention, RetryableError
from koppel.reasons import reason

log = structlog.get_logger(__name__)
T = TypeVar("T")
DEFAULT_BASE_URL = "https://www.accountview.net"


class AccountViewOptions(BaseModel):
    """How the client behaves. Installation facts live in `profile`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: AccountViewProfile = Field(default_factory=AccountViewProfile)
    api_prefix: str = "/api/v3"
    paging: Literal["page_number", "last_key"] = "page_number"
    page_size: int = 100
    # Never cut silently: by default an over-long value raises NeedsAttention; with True it is cut to the
    # field length and a FieldWarning is returned on the written model (and logged).
    truncate_long_values: bool = False
    refresh_margin: float = 60.0  # refresh this many seconds before the access token expires
    retry_attempts: int = 3  # reads only; writes are never retried blindly
    retry_wait_initial: float = 0.2
    retry_wait_max: float = 2.0
    retry_timeout: float = 15.0
    max_retry_after: float = 10.0  # a longer Retry-After goes up to the durable layer instead
    book_date: date | None = None


@dataclass
class WriteResult:
    """What AccountView echoed for a write: header rows (with detail rows nested) and truncation warnings."""

    rows: list[Row]
    warnings: list[FieldWarning] = field(default_factory=list)

    @property
    def row(self) -> Row:
        if not self.rows:
            raise RetryableError(reason("AccountView confirmed a write without echoing the record"), system=SYSTEM)
        return self.rows[0]


class AccountViewClient:
    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        client_id: str,
        client_secret: str,
        token_store: TokenStore,
        company_id: str | None = None,
        timeout: float = 30.0,
        options: AccountViewOptions | None = None,
        http: httpx.Client | None = None,
        rate_per_second: float | None = None,
        rate_burst: int = 5,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        """`rate_per_second` (None: off) limits calls per OAuth client and host across all clients in this
        process, in bursts of `rate_burst`; pass `rate_limiter` instead to share the limit wider (e.g. a
        `PostgresRateLimiter` across workers)."""
        self.base_url = base_url.rstrip("/")
        self.options = options or AccountViewOptions()
        self.profile = self.options.profile
        self.company_id = company_id
        self.token_store = token_store
        self.dictionary: DataDictionary = self.profile.dictionary()
        self._debtor_emails = DebtorEmailIndex(self._debtors_changed_since)
        self.http = http or httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))
        self._limiter = rate_limiter or process_rate_limiter(
            account_key(self.base_url, client_id), rate_per_second, rate_burst
        )
        self._retry = RetryPolicy(
            attempts=self.options.retry_attempts,
            wait_initial=self.options.retry_wait_initial,
            wait_max=self.options.retry_wait_max,
            max_retry_after=self.options.max_retry_after,
            timeout=self.options.retry_timeout,
        )
        self._oauth = OAuthEndpoints(
            self.http,
            self.base_url,
            client_id=client_id,
            client_secret=client_secret,
            api_prefix=self.options.api_prefix,
            token_lifetime=self.profile.token_lifetime_seconds,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> AccountViewClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- authorisation ------------------------------------------------------------------------------------

    def authorize_url(self, redirect_uri: str, *, state: str | None = None) -> tuple[str, str]:
        """Where to send the user to grant access; returns (url, state)."""
        return self._oauth.authorize_url(redirect_uri, state=state, scopes=self.profile.scopes)

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        """Finish the code flow: the token set is saved in the token store before it is returned."""
        tokens = self._oauth.exchange_code(code, redirect_uri)
        with self.token_store.refresh_lock():
            self.token_store.save(tokens)
        return tokens

    def _current_tokens(self) -> TokenSet:
        tokens = self.token_store.load()
        if tokens is None:
            raise BrokenConnection(
                reason("AccountView is not authorised yet: connect the administration"), system=SYSTEM
            )
        if tokens.expires_within(self.options.refresh_margin):
            return self._refresh(used=tokens)
        return tokens

    def _refresh(self, *, used: TokenSet) -> TokenSet:
        return refresh_tokens(self.token_store, self._oauth, used=used, margin=self.options.refresh_margin)

    # --- transport -----------------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base_url}{self.options.api_prefix}/{path}"

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        company: bool = True,
        empty_on_404: bool = False,
    ) -> Any:
        def send() -> Any:
            return self._send(method, path, params=params, body=body, company=company, empty_on_404=empty_on_404)

        # Reads are retried briefly; writes never blindly (the typed helpers look a record up first).
        return self._retry.call(send) if method == "GET" else send()

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None,
        body: Any,
        company: bool,
        empty_on_404: bool = False,
    ) -> Any:
        tokens = self._current_tokens()
        response = self._http_call(method, path, tokens, params=params, body=body, company=company)
        decoded = self._decode(response, empty_on_404=empty_on_404)
        if response.status_code == 401 or _auth_error(decoded):
            tokens = self._refresh(used=tokens)
            response = self._http_call(method, path, tokens, params=params, body=body, company=company)
            decoded = self._decode(response, empty_on_404=empty_on_404)
            if response.status_code == 401 or _auth_error(decoded):
                raise BrokenConnection(
                    reason("AccountView rejects our access token even after a refresh"), system=SYSTEM, status=401
                )
        return decoded

    def _http_call(
        self,
        method: str,
        path: str,
        tokens: TokenSet,
        *,
        params: Mapping[str, str] | None,
        body: Any,
        company: bool,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json"}
        if company:
            headers["x-company"] = self._company()
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
            content = json.dumps(body).encode()
        self._limiter.wait()
        try:
            return self.http.request(method, self._url(path), params=params, content=content, headers=headers)
        except httpx.TimeoutException as exc:
            raise RetryableError(
                reason("AccountView did not answer in time ({method} {path})", method=method, path=path),
                system=SYSTEM,
            ) from exc
        except httpx.TransportError as exc:
            raise RetryableError(
                reason("AccountView connection failed ({method} {path}): {error}", method=method, path=path,
                       error=exc),
                system=SYSTEM,
            ) from exc

    def _decode(self, response: httpx.Response, *, empty_on_404: bool) -> Any:
        status = response.status_code
        if status == 401:
            return None
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            what = (
                reason("the AccountView link to the administration is offline")
                if status == 503
                else reason("AccountView answered {status}", status=status)
            )
            raise RetryableError(what, retry_after=retry_after, system=SYSTEM, status=status)
        if status == 404 and empty_on_404:
            return {}  # S4: a 404 on a read means "no rows"
        try:
            body = parse_json(response.content)
        except ValueError as exc:
            raise RetryableError(
                reason("AccountView sent an unreadable answer (HTTP {status})", status=status), system=SYSTEM,
                status=status,
            ) from exc
        message = error_message(body)
        if status == 403 or error_type(body).lower() in ("companyerror", "authorizationerror"):
            raise BrokenConnection(
                reason("AccountView refuses access: {problem}. Check the company and the user's rights in "
                       "AccountView", problem=message or status),
                system=SYSTEM,
                status=status,
            )
        if message:
            if _auth_error(body):
                return body
            if error_type(body).lower() in ("connectionerror", "timeouterror"):
                raise RetryableError(reason("AccountView: {message}", message=message), system=SYSTEM, status=status)
            raise NeedsAttention(
                reason("AccountView: {message}", message=message),
                system=SYSTEM,
                status=status,
                field=field_in_message(self.dictionary, message),
            )
        if status == 404:
            raise BrokenConnection(
                reason("AccountView has no {path}: check the base URL", path=response.request.url.path),
                system=SYSTEM,
                status=404,
            )
        if status >= 400:
            raise NeedsAttention(reason("AccountView answered {status}", status=status), system=SYSTEM, status=status)
        return body

    # --- companies -----------------------------------------------------------------------------------------

    def companies(self) -> list[Company]:
        body = self._request("GET", "companies", company=False)
        items = body if isinstance(body, list) else [body] if isinstance(body, dict) and body else []
        return [
            Company(
                id=str(_get(i, "Id")),
                code=str(_get(i, "Code") or "").strip(),
                description=str(_get(i, "Description") or "").strip(),
            )
            for i in items
        ]

    def select_company(self, code: str) -> Company:
        for company in self.companies():
            if company.code.upper() == code.upper():
                self.company_id = company.id
                return company
        raise BrokenConnection(
            reason("AccountView company {company} is not available to this user", company=repr(code)), system=SYSTEM,
            value=code,
        )

    def _company(self) -> str:
        if self.company_id is None:
            found = self.companies()
            if not found:
                raise BrokenConnection(reason("this AccountView user has no companies"), system=SYSTEM)
            self.company_id = found[0].id  # as S2/S5 do when nothing is configured
        return self.company_id

    # --- discovery ----------------------------------------------------------------------------------------

    def business_objects(self) -> list[dict[str, Any]]:
        """`accountviewsystembusinessobjects`: Code, Description, InsertAllowed, UpdateAllowed, DeleteAllowed.
        With `table_fields`, the way to find the assumed BO codes and field names on a real system."""
        body = self._request("GET", "accountviewsystembusinessobjects", company=False)
        return [dict(item) for item in (body if isinstance(body, list) else []) if isinstance(item, Mapping)]

    def table_fields(self, table: str) -> list[Row]:
        """The data dictionary's rows (DCT_FLD) for one table, as the server knows it."""
        return [r for r in self.system_rows("FLD") if str(r.get("DBF_NAME", "")).upper() == table.upper()]

    def system_rows(self, business_object: Literal["FLD", "DBF"]) -> list[Row]:
        """The server's own data dictionary: every field (`FLD` → DCT_FLD rows) or every table with its
        business object (`DBF` → DCT_FILE rows), in one read."""
        body = self._request(
            "GET",
            "accountviewsystemdata",
            company=False,
            params={"businessobject": business_object, "pagesize": "5000"},
        )
        return table_rows(body, {"FLD": "DCT_FLD", "DBF": "DCT_FILE"}[business_object])

    # --- the generic API ---------------------------------------------------------------------------------

    def _business_object(self, code: str) -> BusinessObject | None:
        return self.profile.business_objects().get(code.upper())

    def read(
        self,
        business_object: str,
        *,
        fields: Sequence[str] | None = None,
        filters: Sequence[Filter] = (),
        match_any: bool = False,
        sort: Sequence[str] | None = None,
        descending: bool = False,
        page_size: int | None = None,
        paging: Literal["page_number", "last_key"] | None = None,
    ) -> Iterator[Row]:
        """Rows of the business object's main table, page by page, lazily. Detail rows (SO_LINE, DJ_LINE)
        are nested in their header row under the detail table's name. Strings come right-trimmed."""
        bo = self._business_object(business_object)
        size = page_size or self.options.page_size
        style = paging or self.options.paging
        key = bo.key if bo else ""
        if style == "last_key" and not key:
            style = "page_number"
        if sort is None and key:
            sort = [key]
        if fields and key and key.upper() not in {f.split(".")[-1].strip().upper() for f in fields}:
            fields = [key, *fields]  # paging needs the key in every row
        base = read_params(
            business_object,
            fields=fields,
            filters=filters,
            match_any=match_any,
            sort=sort,
            descending=descending,
            page_size=size,
            book_date=self.options.book_date,
        )

        def fetch(cursor: int | str | None) -> list[Row]:
            params = dict(base)
            if style == "page_number":
                params["PageNumber"] = str(cursor)
            elif cursor is not None:
                params["lastKey"] = str(cursor)
            return _rows_of(self._request("GET", "accountviewdata", params=params, empty_on_404=True), bo)

        # AccountView fills every page but the last (NOTES §5.4: "until a page comes back short").
        paginator: PageNumberPaginator | LastKeyPaginator = (
            PageNumberPaginator(size, short_page_ends=True)
            if style == "page_number"
            else LastKeyPaginator(size, short_page_ends=True, key=lambda row: str(row.get(key, "")))
        )
        yield from paginator.items(fetch, identity=lambda row: _identity(row, key), what=business_object)

    def insert(
        self,
        business_object: str,
        header: Mapping[str, Any],
        details: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        *,
        truncate: bool | None = None,
        keys: Sequence[str] = (),
    ) -> WriteResult:
        """POST one header row (and its detail rows). Never retried here: callers that may repeat a write
        look the record up by its key first (the typed helpers do)."""
        return self._write("POST", business_object, header, details, truncate=truncate, keys=keys)

    def update(
        self,
        business_object: str,
        header: Mapping[str, Any],
        details: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        *,
        truncate: bool | None = None,
        keys: Sequence[str] = (),
    ) -> WriteResult:
        """PUT: update by the business object's primary key, which `header` must contain."""
        bo = self._business_object(business_object)
        if bo is not None and not bo.update:
            raise NeedsAttention(reason("AccountView does not allow updates of {business_object}",
                                        business_object=business_object), system=SYSTEM)
        return self._write("PUT", business_object, header, details, truncate=truncate, keys=keys)

    def _write(
        self,
        method: str,
        business_object: str,
        header: Mapping[str, Any],
        details: Mapping[str, Sequence[Mapping[str, Any]]] | None,
        *,
        truncate: bool | None,
        keys: Sequence[str],
    ) -> WriteResult:
        bo = self.profile.business_object(business_object)
        cut = self.options.truncate_long_values if truncate is None else truncate
        warnings: list[FieldWarning] = []
        clean_header = self._fit(bo.header, header, cut, keys, warnings)
        clean_details = {
            name: [self._fit(name, row, cut, keys, warnings) for row in rows]
            for name, rows in (details or {}).items()
        }
        body = write_body(
            self.dictionary, bo.code, bo.header, clean_header, clean_details, book_date=self.options.book_date
        )
        answer = self._request(method, "accountviewdata", body=body)
        return WriteResult(rows=_rows_of(answer, bo), warnings=warnings)

    def _fit(
        self,
        table: str,
        row: Mapping[str, Any],
        truncate: bool,
        keys: Sequence[str],
        warnings: list[FieldWarning],
    ) -> dict[str, Any]:
        """Apply upper-case formats and length limits from the data dictionary."""
        fitted: dict[str, Any] = {}
        for name, raw in row.items():
            value = self.dictionary.normalise(table, name, raw)
            violation = self.dictionary.length_violation(table, name, value)
            if violation is not None:
                if not truncate or name.upper() in {k.upper() for k in keys}:
                    raise NeedsAttention(
                        reason("{field} holds at most {most} characters; {value} has {length}",
                               field=violation.field, most=violation.max_length, value=repr(value),
                               length=len(value)),
                        system=SYSTEM,
                        field=violation.field,
                        value=value,
                    )
                stored = value[: violation.max_length]
                warnings.append(
                    FieldWarning(
                        field=violation.field, value=value, max_length=violation.max_length, stored=stored
                    )
                )
                log.warning(
                    "accountview.value_truncated", field=violation.field, max_length=violation.max_length
                )
                value = stored
            fitted[name.upper()] = value
        return fitted

    # --- idempotent creation -------------------------------------------------------------------------------

    @staticmethod
    def _create_once(find: Callable[[], T | None], write: Callable[[], T], *, look_first: bool = True) -> T:
        """Find by business key; write only if absent; if the answer to the write was lost, find it again
        before anyone retries, so a committed write is never written twice."""
        existing = find() if look_first else None
        if existing is not None:
            return existing
        try:
            return write()
        except RetryableError:
            found = find()
            if found is not None:
                log.info("accountview.lost_answer_recovered")
                return found
            raise

    # --- debtors -------------------------------------------------------------------------------------------

    def find_debtor_by_email(self, email: str) -> Debtor | None:
        """The debtor with this e-mail address, whatever its case in AccountView (see
        `debtor_numbers_by_email`)."""
        wanted = email.strip().lower()
        rows = self.read(self.profile.debtor_bo, filters=[Filter("MAIL_BUS", wanted)], page_size=10)
        for row in rows:
            if str(row.get("MAIL_BUS", "")).strip().lower() == wanted:
                return self._with_contact(records.debtor_from_row(row))
        if self.profile.equal_case_sensitive:
            number = self.debtor_numbers_by_email([wanted]).get(wanted)
            return self.get_debtor(number) if number else None
        return None

    def get_debtor(self, number: str) -> Debtor | None:
        row = next(
            self.read(self.profile.debtor_bo, filters=[Filter("SUB_NR", number.upper())], page_size=1), None
        )
        return self._with_contact(records.debtor_from_row(row)) if row else None

    def create_debtor(self, debtor: DebtorIn, *, truncate: bool | None = None) -> Debtor:
        """Create a company or person debtor (and its contact person). The debtor number is assigned by
        AccountView unless `debtor.number` is set. If the answer is lost, the debtor is found again by
        number or e-mail instead of being created twice."""

        def find() -> Debtor | None:
            return (
                self.get_debtor(debtor.number) if debtor.number else self.find_debtor_by_email(debtor.email)
            )

        def write() -> Debtor:
            result = self.insert(
                self.profile.debtor_bo,
                records.debtor_row(debtor, self.profile, creating=True),
                truncate=truncate,
                keys=["SUB_NR", "MAIL_BUS"],
            )
            created = records.debtor_from_row(result.row)
            warnings = list(result.warnings)
            if debtor.contact is not None and self.profile.contact_person_mode == "module":
                contact = self.insert(
                    self.profile.contact_person_bo,
                    records.contact_person_row(created.number, debtor.contact),
                    truncate=truncate,
                )
                warnings += contact.warnings
                created = created.model_copy(
                    update={"contact": records.contact_person_from_row(contact.row), "kind": "company"}
                )
            return created.model_copy(update={"warnings": warnings})

        return self._create_once(find, write, look_first=bool(debtor.number))

    def update_debtor(self, number: str, debtor: DebtorIn, *, truncate: bool | None = None) -> Debtor:
        """Overwrite the fields `debtor` sets (PUT by SUB_NR); fields left None are not touched."""
        row = records.debtor_row(debtor.model_copy(update={"number": number}), self.profile, creating=False)
        result = self.update(self.profile.debtor_bo, row, truncate=truncate, keys=["SUB_NR"])
        return records.debtor_from_row(result.row).model_copy(update={"warnings": result.warnings})

    def _with_contact(self, debtor: Debtor) -> Debtor:
        if self.profile.contact_person_mode != "module":
            return debtor
        row = next(
            self.read(self.profile.contact_person_bo, filters=[Filter("SUB_NR", debtor.number)], page_size=1),
            None,
        )
        if row is None:
            return debtor
        return debtor.model_copy(update={"contact": records.contact_person_from_row(row), "kind": "company"})

    # --- delivery addresses --------------------------------------------------------------------------------

    def delivery_addresses(self, debtor_number: str) -> list[DeliveryAddress]:
        rows = self.read(self.profile.address_bo, filters=[Filter("SUB_NR", debtor_number.upper())])
        return [records.delivery_address_from_row(row) for row in rows]

    def add_delivery_address(
        self, debtor_number: str, address: DeliveryAddressIn, *, truncate: bool | None = None
    ) -> DeliveryAddress:
        """The debtor's delivery address equal to `address` (street line, postcode, city), created when
        there is none; its `code` goes into `SalesOrderIn.delivery_address_code`."""

        def find() -> DeliveryAddress | None:
            rows = self.read(self.profile.address_bo, filters=[Filter("SUB_NR", debtor_number.upper())])
            match = next((r for r in rows if records.same_address(r, address.address)), None)
            return records.delivery_address_from_row(match) if match else None

        def write() -> DeliveryAddress:
            result = self.insert(
                self.profile.address_bo,
                records.delivery_address_row(debtor_number, address),
                truncate=truncate,
                keys=["SUB_NR"],
            )
            return records.delivery_address_from_row(result.row, result.warnings)

        return self._create_once(find, write)

    # --- articles ------------------------------------------------------------------------------------------

    def get_articles(self, codes: Iterable[str], *, fields: Sequence[str] | None = None) -> dict[str, Article]:
        """Articles by code, in as few reads as possible (one for up to the profile's `list_filter_size`
        codes); codes that do not exist are missing from the answer. `fields`: the columns to read (default:
        all, image data included; `records.article_fields(profile)` is what an order's existence check
        needs, `records.product_fields(profile)` plus a map's columns what a product needs)."""
        wanted = [c.strip().upper() for c in codes]
        return {a.code: a for a in self._articles_where("ART_CODE", wanted, fields)}

    def find_articles_by_ean(self, eans: Iterable[str], *, fields: Sequence[str] | None = None) -> dict[str, Article]:
        """Articles by EAN (the profile's EAN field), in as few reads as possible."""
        wanted = [e.strip() for e in eans]
        return {a.ean: a for a in self._articles_where(self.profile.article_ean_field, wanted, fields)}

    def _articles_where(self, column: str, values: list[str], fields: Sequence[str] | None) -> list[Article]:
        wanted = list(dict.fromkeys(v for v in values if v))
        columns = [c.upper() for c in dict.fromkeys([*fields, "ART_CODE", column])] if fields else None
        rows = self._rows_for_keys(self.profile.article_bo, column, wanted, fields=columns)
        found = [records.article_from_row(row, self.profile) for row in rows]
        keep = set(wanted)
        attr = "code" if column == "ART_CODE" else "ean"
        return [a for a in found if getattr(a, attr) in keep]

    def _rows_for_keys(
        self, business_object: str, column: str, values: list[str], fields: Sequence[str] | None = None
    ) -> list[Row]:
        """Rows whose `column` equals one of `values`, in as few reads as the profile's `list_filter` allows
        (one per `list_filter_size` keys, or per 9). A server that ignores or misreads list filters must not
        make existing records look missing (every order would park "article not in AccountView"): an
        empty answer to a list is checked once with OR-ed Equal filters, and rows for keys nobody asked
        for are refused; both end as BrokenConnection naming the setting to change."""
        rows: list[Row] = []
        for chunk, filters, match_any in self._key_filters(column, values):
            found = list(
                # One more than asked: when every key exists, the page is still short and no second
                # page is read.
                self.read(business_object, fields=fields, filters=filters, match_any=match_any,
                          page_size=len(chunk) + 1)
            )
            if not match_any and len(chunk) > 1:
                self._check_list_answer(business_object, column, chunk, found)
            rows += found
        return rows

    def _key_filters(self, column: str, values: list[str]) -> Iterator[tuple[list[str], list[Filter], bool]]:
        if self.profile.list_filter == "in_list" and not any("," in v for v in values):
            size = self.profile.list_filter_size
            for start in range(0, len(values), size):
                chunk = values[start : start + size]
                yield chunk, [Filter(column, chunk)], False
        else:
            for start in range(0, len(values), 9):
                chunk = values[start : start + 9]
                yield chunk, [Filter(column, v) for v in chunk], True

    def _check_list_answer(self, business_object: str, column: str, asked: list[str], rows: list[Row]) -> None:
        table = self.profile.business_object(business_object).header
        advice = reason('set list_filter = "match_any" in the AccountView connection\'s profile, then run '
                        '`koppel check`')
        keys = {v.strip().casefold() for v in asked}
        stranger = next((r for r in rows if str(r.get(column, "")).strip().casefold() not in keys), None)
        if stranger is not None:
            raise BrokenConnection(
                reason("AccountView ignored the list filter on {field}: asked for {count} keys, it answered rows "
                       "for others (e.g. {example}); {advice}", field=f"{table}.{column}", count=len(asked),
                       example=repr(str(stranger.get(column, "")).strip()), advice=advice),
                system=SYSTEM,
                field=f"{table}.{column}",
            )
        if rows:
            return
        probe = asked[:9]
        known = next(
            self.read(business_object, fields=[column], filters=[Filter(column, v) for v in probe],
                      match_any=True, page_size=len(probe)),
            None,
        )
        if known is not None:
            raise BrokenConnection(
                reason("AccountView answered nothing for a list of {count} keys on {field}, yet finds {example} "
                       "with Equal: it does not understand FilterIsListOfValues; {advice}", count=len(asked),
                       field=f"{table}.{column}", example=repr(str(known.get(column, "")).strip()), advice=advice),
                system=SYSTEM,
                field=f"{table}.{column}",
            )

    def iter_articles(
        self,
        changed_since: datetime | None = None,
        *,
        selection: ArticleSelection | None = None,
        fields: Sequence[str] | None = None,
        with_images: bool = False,
        page_size: int | None = None,
    ) -> Iterator[Article]:
        """Articles whose change date (`CNG_DATE`) is on or after `changed_since` (all when None), in
        article-code order, streamed page by page: one read per `page_size` articles (default the
        options' page size; at most the profile's `max_page_size`), never the whole catalogue in memory.

        `fields`: the AccountView columns to read (default `records.product_fields`: everything the default
        product map reads); the code, group, webshop and blocked fields and `CNG_DATE` are always read.
        `with_images`: also read the image data, decoded into `Article.image` (pages get heavy: use a
        small `page_size`). `selection`: only articles in the shop's selection, filtered by AccountView.
        A changed article that has just left the selection (webshop flag cleared, moved to another group)
        is then not seen; an incremental run that must hide such articles reads without `selection` and
        asks `selection.matches(article)` itself."""
        filters = [Filter("CNG_DATE", changed_since, "DateOnOrAfterDate")] if changed_since else []
        wanted = [*(fields or records.product_fields(self.profile)), *records.selection_fields(self.profile)]
        if with_images:
            wanted += [self.profile.article_image_name_field, self.profile.article_image_data_field]
        for row in self._article_rows(wanted, filters, selection, page_size or self.options.page_size):
            yield records.article_from_row(row, self.profile)

    def iter_article_stock(
        self,
        selection: ArticleSelection | None = None,
        *,
        extra_fields: Sequence[str] = (),
        page_size: int | None = None,
    ) -> Iterator[ArticleStock]:
        """The stock figures of every article in the selection (all when None), reading only the stock
        fields (available, reserved, free, technical, managed, blocked; plus `extra_fields`, e.g. the
        fields a custom stock formula names) in pages of the profile's `max_page_size` (1000): a catalogue
        of N articles costs ceil(N / 1000) reads (one more when N is a multiple of it). AccountView's change
        date does not move with stock, so a stock cycle reads this in full every time."""
        wanted = [*records.stock_fields(self.profile), *extra_fields]
        if selection is not None and selection.kind != "all":
            wanted += records.selection_fields(self.profile)
        size = page_size or self.profile.max_page_size
        for row in self._article_rows(wanted, [], selection, size):
            yield records.article_stock_from_row(row, self.profile, extra_fields)

    def _article_rows(
        self, fields: list[str], filters: list[Filter], selection: ArticleSelection | None, page_size: int
    ) -> Iterator[Row]:
        """ARTICLE rows with only `fields`, AccountView filtering on the selection where it can; the
        selection is applied again here, so a server that ignores a filter cannot widen it."""
        selecting, match_any = self._selection_filters(selection, alone=not filters)
        webshop = self.profile.article_webshop_field
        for row in self.read(
            self.profile.article_bo,
            fields=list(dict.fromkeys(f.upper() for f in fields)),
            filters=[*filters, *selecting],
            match_any=match_any,
            page_size=min(page_size, self.profile.max_page_size),
        ):
            if selection is None or selection.admits(str(row.get("AG_CODE") or ""), records.flag(row.get(webshop))):
                yield row

    def _selection_filters(self, selection: ArticleSelection | None, *, alone: bool) -> tuple[list[Filter], bool]:
        """The filters that let AccountView do the selection, and whether they are OR-ed. Groups go as one
        list filter, or (`list_filter="match_any"`) as up to 9 OR-ed Equal filters when no other filter is
        read with them (OR-ing would also OR the change date); otherwise the client keeps the groups itself."""
        if selection is None or selection.kind == "all":
            return [], False
        if selection.kind == "webshop":
            return [Filter(self.profile.article_webshop_field, True, value_type="L")], False
        groups = list(selection.groups)
        if self.profile.list_filter == "in_list" and not any("," in g for g in groups):
            return [Filter("AG_CODE", groups)], False
        if alone and len(groups) <= MAX_FILTERS:
            return [Filter("AG_CODE", g) for g in groups], len(groups) > 1
        return [], False

    def article_image(self, code: str) -> ArticleImage | None:
        """The image of one article, decoded per the profile's `article_image_encoding` (one read); None
        when the article has none or does not exist. NeedsAttention naming ARTICLE.IMG_M_DATA when the data
        does not decode."""
        name_field, data_field = self.profile.article_image_name_field, self.profile.article_image_data_field
        wanted = code.strip().upper()
        row = next(
            self.read(self.profile.article_bo, fields=["ART_CODE", name_field, data_field],
                      filters=[Filter("ART_CODE", wanted)], page_size=1),
            None,
        )
        if row is None or str(row.get("ART_CODE", "")).strip().upper() != wanted:
            return None
        try:
            return records.decode_image(records.image_name(row.get(name_field)), row.get(data_field), self.profile)
        except ValueError as exc:
            raise NeedsAttention(
                reason("the image of article {article} ({field}) {problem}", article=wanted,
                       field=f"ARTICLE.{data_field}", problem=exc),
                system=SYSTEM,
                field=f"ARTICLE.{data_field}",
                value=wanted,
            ) from None

    def article_groups(self) -> list[ArticleGroup]:
        """Every article group (AG_CODE → AG_DESC), in pages of the profile's `max_page_size`."""
        rows = self.read(self.profile.article_group_bo, fields=["AG_CODE", "AG_DESC"],
                         page_size=self.profile.max_page_size)
        return [records.article_group_from_row(r) for r in rows]

    # --- sales orders --------------------------------------------------------------------------------------

    def find_sales_order(self, external_ref: str) -> SalesOrder | None:
        field_name = self.profile.sales_order_reference_field
        for row in self.read(
            self.profile.sales_order_bo, filters=[Filter(field_name, external_ref)], page_size=10
        ):
            if str(row.get(field_name, "")).strip() == external_ref:
                return records.sales_order_from_row(row, self.profile)
        return None

    def create_sales_order(self, order: SalesOrderIn, *, truncate: bool | None = None,
                           look_first: bool = True) -> SalesOrder:
        """Write a sales order (SO_HDR + SO_LINE) once: if one with the same external reference exists,
        it is returned instead; AccountView assigns the order number. `look_first=False` when the caller
        has just looked it up itself (a lost answer is still found again before anyone retries)."""
        if not order.lines:
            raise NeedsAttention(reason("a sales order needs at least one line"), system=SYSTEM, field="SO_LINE")
        header, lines = records.sales_order_rows(order, self.profile)

        def write() -> SalesOrder:
            result = self.insert(
                self.profile.sales_order_bo,
                header,
                {"SO_LINE": lines},
                truncate=truncate,
                keys=[self.profile.sales_order_reference_field, "RPL_INV"],
            )
            return records.sales_order_from_row(result.row, self.profile, result.warnings)

        return self._create_once(lambda: self.find_sales_order(order.external_ref), write, look_first=look_first)

    # --- sales invoices ------------------------------------------------------------------------------------

    def find_sales_invoice(self, external_ref: str) -> SalesInvoice | None:
        field_name = self.profile.invoice_reference_field
        for row in self.read(
            self.profile.invoice_read_bo, filters=[Filter(field_name, external_ref)], page_size=10
        ):
            if str(row.get(field_name, "")).strip() == external_ref:
                return records.sales_invoice_from_row(row, self.profile)
        return None

    # --- many keys in one read: which records exist already ------------------------------------------------

    def sales_order_numbers(self, external_refs: Iterable[str]) -> dict[str, str]:
        """External reference → sales-order number, for the references that exist (one read per
        `list_filter_size` references)."""
        return self._keys_where(self.profile.sales_order_bo, self.profile.sales_order_reference_field,
                                [r.strip() for r in external_refs], self.profile.sales_order_number_field)

    def sales_invoice_numbers(self, external_refs: Iterable[str]) -> dict[str, str]:
        """External reference → invoice number, for the references that exist."""
        return self._keys_where(self.profile.invoice_read_bo, self.profile.invoice_reference_field,
                                [r.strip() for r in external_refs], "INV_NR")

    def debtor_numbers_by_email(self, emails: Iterable[str]) -> dict[str, str]:
        """E-mail (lower case) → debtor number, for the addresses a debtor has (the first debtor when
        several share one), whatever their case in AccountView: Koppel writes addresses in lower case, so
        one filtered read finds those; when `Equal` is case-sensitive the rest is asked of the index of all
        debtors' addresses (one read of the debtors changed since the last lookup)."""
        wanted = [e.strip().lower() for e in emails]
        found = self._keys_where(self.profile.debtor_bo, "MAIL_BUS", wanted, "SUB_NR", fold=str.lower)
        missing = {e for e in wanted if e} - set(found)
        if missing and self.profile.equal_case_sensitive:
            found.update(self._current_index_answers(self._debtor_emails.numbers(missing)))
        return found

    def _current_index_answers(self, indexed: dict[str, str]) -> dict[str, str]:
        """The index's answers that AccountView still confirms: a debtor deleted (or its number given to
        another customer) since the index read it must not be updated in someone else's name."""
        if not indexed:
            return {}
        rows = self._rows_for_keys(self.profile.debtor_bo, "SUB_NR", sorted(set(indexed.values())),
                                   fields=["SUB_NR", "MAIL_BUS"])
        email_of = {str(r.get("SUB_NR", "")).strip(): str(r.get("MAIL_BUS", "")).strip().lower() for r in rows}
        confirmed = {}
        for email, number in indexed.items():
            if email_of.get(number) == email:
                confirmed[email] = number
            else:
                self._debtor_emails.forget(number)
        return confirmed

    def _debtors_changed_since(self, since: datetime | None) -> Iterator[Row]:
        filters = [Filter("CNG_DATE", since, "DateOnOrAfterDate")] if since else []
        return self.read(self.profile.debtor_bo, fields=["SUB_NR", "MAIL_BUS", "CNG_DATE"], filters=filters,
                         page_size=1000)

    def _keys_where(self, business_object: str, column: str, values: list[str], key: str,
                    fold: Callable[[str], str] = str) -> dict[str, str]:
        wanted = set(dict.fromkeys(v for v in values if v))
        found: dict[str, str] = {}
        for row in self._rows_for_keys(business_object, column, sorted(wanted), fields=[column, key]):
            value = fold(str(row.get(column, "")).strip())
            if value in wanted:
                found.setdefault(value, str(row.get(key, "")).strip())
        return found

    def create_sales_invoice(self, invoice: SalesInvoiceIn, *, truncate: bool | None = None,
                             look_first: bool = True) -> SalesInvoice:
        """Post a sales invoice as a journal page with lines, once per external reference (invoices cannot
        be updated in AccountView, so the existence check comes first)."""
        if not invoice.lines:
            raise NeedsAttention(reason("an invoice needs at least one line"), system=SYSTEM, field="DJ_LINE")
        header, lines = records.sales_invoice_rows(invoice, self.profile)

        def write() -> SalesInvoice:
            result = self.insert(
                self.profile.invoice_bo,
                header,
                {"DJ_LINE": lines},
                truncate=truncate,
                keys=[self.profile.invoice_reference_field, "INV_NR", "SUB_NR"],
            )
            return records.sales_invoice_from_row(result.row, self.profile, result.warnings)

        return self._create_once(lambda: self.find_sales_invoice(invoice.external_ref), write,
                                 look_first=look_first)

    # --- reference data ------------------------------------------------------------------------------------

    def vat_codes(self) -> list[VatCode]:
        return [records.vat_code_from_row(r) for r in self.read(self.profile.vat_bo)]

    def payment_conditions(self) -> list[PaymentCondition]:
        return [records.payment_condition_from_row(r) for r in self.read(self.profile.payment_condition_bo)]

    def payment_methods(self) -> list[PaymentMethod]:
        return [records.payment_method_from_row(r) for r in self.read(self.profile.payment_method_bo)]

    def ledger_accounts(self) -> list[LedgerAccount]:
        return [records.ledger_account_from_row(r) for r in self.read(self.profile.ledger_bo)]

    def journals(self) -> list[Journal]:
        return [records.journal_from_row(r) for r in self.read(self.profile.journal_bo)]

    def sales_journal(self) -> Journal | None:
        """The journal named like the profile's `sales_journal_name` ("Verkoopboek"), as S4 finds it."""
        wanted = self.profile.sales_journal_name.casefold()
        return next((j for j in self.journals() if j.name.casefold() == wanted), None)


# --- small helpers ------------------------------------------------------------------------------------------


def _rows_of(body: Any, bo: BusinessObject | None) -> list[Row]:
    if bo is not None:
        return nest_details(body, bo.header, bo.details)
    if isinstance(body, Mapping) and body:
        return nest_details(body, str(next(iter(body))), ())
    return []


def _identity(row: Row, key: str) -> str:
    if key and key in row:
        return str(row[key])
    return json.dumps({k: v for k, v in row.items() if not k.endswith("_Id")}, sort_keys=True, default=str)


def _auth_error(body: Any) -> bool:
    return error_type(body).lower() == "authenticationerror"


def _get(item: Any, name: str) -> Any:
    if not isinstance(item, Mapping):
        return None
    return next((v for k, v in item.items() if str(k).lower() == name.lower()), None)


__all__ = ["AccountViewClient", "AccountViewOptions", "Filter", "KoppelError", "WriteResult"]
