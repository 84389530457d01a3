"""The sandbox's HTTP surface (Starlette): AccountView.net's routes (NOTES §14) plus the admin surface under
`/_sandbox/` (the sandbox kit's quirks, faults, rate limit and calls, plus this sandbox's own), behind the kit's
rate limit, call counter and fault injection. Paths of the simulated API match case-insensitively, as the real
server's do."""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from koppel.connectors.accountview.sandbox.articles import BAD_CASES
from koppel.connectors.accountview.sandbox.auth import OAuthError
from koppel.connectors.accountview.sandbox.documents import amounts_of
from koppel.connectors.accountview.sandbox.errors import ApiError
from koppel.connectors.accountview.sandbox.query import ReadRequest, serialise
from koppel.connectors.accountview.sandbox.stock import fields as stock_fields
from koppel.connectors.sandboxkit.admin import ENDPOINTS

if TYPE_CHECKING:
    from koppel.connectors.accountview.sandbox import AccountViewSandbox

Handler = Callable[[Request], Awaitable[Response]]
RELAY_OFFLINE_BODY = json.dumps(
    {
        "ErrorType": "ConnectionError",
        "ErrorNumbers": None,
        "ErrorMessage": "De verbinding met de AccountView-server is niet beschikbaar / "
        "The connection to the AccountView server is offline",
    }
)


class _JSON(JSONResponse):
    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, default=str).encode("utf-8")


def build_app(sandbox: AccountViewSandbox) -> Any:
    api = _Api(sandbox)
    admin = _Admin(sandbox)
    routes = [
        Route("/_sandbox", admin.index, methods=["GET"]),
        Route("/_sandbox/", admin.index, methods=["GET"]),
        Route("/_sandbox/reset", admin.reset, methods=["POST"]),
        Route("/_sandbox/seed", admin.seed, methods=["POST"]),
        Route("/_sandbox/state", admin.state, methods=["GET"]),
        Route("/_sandbox/tables/{table}", admin.table, methods=["GET"]),
        Route("/_sandbox/amounts/{table}/{key}", admin.amounts, methods=["GET"]),
        Route("/_sandbox/articles", admin.add_article, methods=["POST"]),
        Route("/_sandbox/articles/bad", admin.bad_articles, methods=["GET", "POST"]),
        Route("/_sandbox/articles/{code}", admin.change_article, methods=["PATCH"]),
        Route("/_sandbox/articles/{code}/force", admin.force_values, methods=["PUT"]),
        Route("/_sandbox/stock/{code}", admin.stock, methods=["GET", "PUT"]),
        Route("/_sandbox/sales-orders/auto-deliver", admin.auto_deliver, methods=["GET", "PUT"]),
        Route("/_sandbox/sales-orders/{number}/{action}", admin.sales_order, methods=["POST"]),
        *sandbox.controls.routes(),
        Route("/_sandbox/faults/relay-offline", admin.relay_offline, methods=["POST"]),
        Route("/_sandbox/tokens/expire", admin.expire_tokens, methods=["POST"]),
        Route("/_sandbox/tokens/revoke", admin.revoke_tokens, methods=["POST"]),
        Route("/_sandbox/auth", admin.auth_settings, methods=["GET", "PUT", "POST"]),
        Route("/{path:path}", api.dispatch, methods=["GET", "POST", "PUT", "DELETE"]),
    ]
    return sandbox.controls.wrap(Starlette(routes=routes), _caller)


def _caller(scope: dict[str, Any]) -> str:
    """The rate limit holds per administration (the `x-company` header)."""
    return dict(scope["headers"]).get(b"x-company", b"").decode("latin-1")


class _Api:
    def __init__(self, sandbox: AccountViewSandbox) -> None:
        self.sb = sandbox

    async def dispatch(self, request: Request) -> Response:
        path = "/" + request.path_params["path"].lower().rstrip("/")
        method = request.method
        routes: dict[tuple[str, str], Handler] = {
            ("GET", "/ams/authorize.aspx"): self.authorize,
            ("POST", "/ams/authorize.aspx"): self.consent,
            ("POST", "/api/v3/token"): self.token,
            ("GET", "/api/v3/companies"): self.companies,
            ("GET", "/api/v3/accountviewdata"): self.read,
            ("POST", "/api/v3/accountviewdata"): self.insert,
            ("PUT", "/api/v3/accountviewdata"): self.update,
            ("GET", "/api/v3/accountviewsystembusinessobjects"): self.business_objects,
            ("GET", "/api/v3/accountviewsystemdata"): self.system_data,
        }
        handler = routes.get((method, path))
        if handler is None:
            return _JSON(
                {"Message": f"No HTTP resource was found that matches the request URI '{path}'."},
                status_code=404,
            )
        try:
            return await handler(request)
        except ApiError as exc:
            status = 200 if self.sb.quirks.error_200 else exc.status
            return _JSON(exc.body(), status_code=status)

    # --- OAuth ---------------------------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        params = {k.lower(): v for k, v in request.query_params.items()}
        if params.get("prompt") == "consent" or not self.sb.auto_approve:
            return HTMLResponse(_consent_page(params))
        return self._approve(params)

    async def consent(self, request: Request) -> Response:
        form = await _form(request)
        if form.get("decision") != "approve":
            query = urlencode({"error": "access_denied", "state": form.get("state", "")})
            return RedirectResponse(f"{form.get('redirect_uri', '/')}?{query}", status_code=302)
        return self._approve(form)

    def _approve(self, params: dict[str, str]) -> Response:
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri:
            return _JSON({"error": "invalid_request", "error_description": "redirect_uri missing"}, 400)
        state = params.get("state", "")
        try:
            if params.get("response_type", "code") == "token":
                answer = self.sb.auth.token_for_implicit(params.get("client_id", ""), params.get("scope", ""))
                fragment = urlencode(
                    {
                        "access_token": answer["access_token"],
                        "token_type": "bearer",
                        "expires_in": answer["expires_in"],
                        "state": state,
                    }
                )
                return RedirectResponse(f"{redirect_uri}#{fragment}", status_code=302)
            code = self.sb.auth.issue_code(params.get("client_id", ""), redirect_uri, params.get("scope", ""))
        except OAuthError as exc:
            return _JSON({"error": exc.error, "error_description": exc.description}, 400)
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(
            f"{redirect_uri}{separator}{urlencode({'code': code, 'state': state})}", status_code=302
        )

    async def token(self, request: Request) -> Response:
        form = await _form(request)
        try:
            return _JSON(self.sb.auth.token(form))
        except OAuthError as exc:
            return _JSON({"error": exc.error, "error_description": exc.description}, 400)

    # --- data ----------------------------------------------------------------------------------------------

    def _authorise(self, request: Request, *, company: bool = True) -> None:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not token or not self.sb.auth.check_access(token):
            raise ApiError(
                "Het toegangstoken ontbreekt of is verlopen / The access token is missing or expired",
                status=401,
                error_type="AuthenticationError",
                number=401,
            )
        if not company:
            return
        wanted = request.headers.get("x-company", "")
        if not wanted:
            raise ApiError("Header x-company ontbreekt / Header x-company is missing", status=400, number=402)
        if wanted != self.sb.company_id or self.sb.quirks.reject_company:
            raise ApiError(
                f"Onderneming '{wanted}' is niet beschikbaar / Company '{wanted}' is not available",
                status=403,
                error_type="CompanyError",
                number=403,
            )

    async def companies(self, request: Request) -> Response:
        self._authorise(request, company=False)
        if self.sb.quirks.reject_company:
            return _JSON([])
        return _JSON(
            [
                {
                    "Id": self.sb.company_id,
                    "Code": self.sb.company_code,
                    "Description": self.sb.company_description,
                }
            ]
        )

    async def read(self, request: Request) -> Response:
        self._authorise(request)
        query = ReadRequest(self.sb.state, dict(request.query_params))
        rows = query.select(self.sb.quirks)
        self.sb.count_call("read", query.bo.code)
        if not rows and self.sb.quirks.empty_404:
            return _JSON({"Message": "Geen gegevens gevonden / No data found"}, status_code=404)
        fields = query.fields or None
        if fields:
            fields = list(dict.fromkeys([self.sb.state.schema.keys[query.table], *fields]))
        return _JSON(serialise(self.sb.state, query.bo, rows, fields=fields, quirks=self.sb.quirks))

    async def insert(self, request: Request) -> Response:
        return await self._write(request, update=False)

    async def update(self, request: Request) -> Response:
        return await self._write(request, update=True)

    async def _write(self, request: Request, *, update: bool) -> Response:
        self._authorise(request)
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise ApiError("Ongeldige JSON / Invalid JSON", number=1030) from None
        echoed = self.sb.state.write(body, update=update)
        bo = self.sb.state.business_object(_ci_get(body, "BusinessObject"))
        self.sb.count_call("update" if update else "insert", bo.code)
        return _JSON(
            serialise(self.sb.state, bo, echoed.get(bo.header, []), details=echoed, quirks=self.sb.quirks)
        )

    async def business_objects(self, request: Request) -> Response:
        self._authorise(request, company=False)
        return _JSON(
            [
                {
                    "Code": bo.code,
                    "Description": bo.description,
                    "InsertAllowed": bo.insert,
                    "UpdateAllowed": bo.update,
                    "DeleteAllowed": False,
                }
                for bo in self.sb.state.business_objects.values()
            ]
        )

    async def system_data(self, request: Request) -> Response:
        self._authorise(request, company=False)
        params = {k.lower(): v for k, v in request.query_params.items()}
        kind = params.get("businessobject", "").upper()
        dictionary = self.sb.state.dictionary
        if kind == "FLD":
            rows = [
                {
                    "FIELD_NAME": s.name,
                    "DBF_NAME": s.table,
                    "FIELD_TYPE": s.type,
                    "FIELD_LEN": s.length,
                    "INP_MAND": s.mandatory,
                    "FLD_DESC": s.description,
                    "FLD_FMT": "!" if s.upper else "",
                    "COM_BLK": s.read_only,
                }
                for t in dictionary.tables
                for s in dictionary.fields(t).values()
            ]
            return _JSON({"DCT_FLD": [r | {"DCT_FLD_Id": i} for i, r in enumerate(rows)]})
        if kind == "DBF":
            rows = [
                {
                    "DBF_NAME": bo.header,
                    "OBJ_CODE": bo.code,
                    "TBL_CHILD": ",".join(bo.details),
                    "DBF_DESC": bo.description,
                    "NO_INSERT": not bo.insert,
                    "NO_UPDATE": not bo.update,
                    "NO_DELETE": True,
                }
                for bo in self.sb.state.business_objects.values()
            ]
            return _JSON({"DCT_FILE": [r | {"DCT_FILE_Id": i} for i, r in enumerate(rows)]})
        raise ApiError(f"Onbekend systeemobject '{kind}' / Unknown system object '{kind}'", number=1001)


def _ci_get(body: Any, name: str) -> Any:
    return next((v for k, v in body.items() if str(k).lower() == name.lower()), None)


def _consent_page(params: dict[str, str]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
        if k != "prompt"
    )
    scopes = "".join(f"<li>{html.escape(s)}</li>" for s in params.get("scope", "").split())
    return (
        f"<!doctype html><html lang='nl'><head><meta charset='utf-8'><title>AccountView.net sandbox"
        f"</title></head><body><h1>Toegang verlenen</h1><p>De applicatie "
        f"<b>{html.escape(params.get('client_id', ''))}</b> vraagt toegang tot:</p><ul>{scopes}</ul>"
        f"<form method='post' action='authorize.aspx'>{hidden}"
        f"<button name='decision' value='approve'>Toestaan</button> "
        f"<button name='decision' value='deny'>Weigeren</button></form></body></html>"
    )


class _Admin:
    """`/_sandbox/…`: seed, reset, quirks, faults, tokens and state, as JSON. Documented in README.md."""

    def __init__(self, sandbox: AccountViewSandbox) -> None:
        self.sb = sandbox

    async def index(self, request: Request) -> Response:
        return _JSON(
            {
                "credentials": self.sb.credentials_json(),
                "counts": self.sb.counts(),
                "quirks": self.sb.quirks.as_json(),
                "faults": self.sb.faults.as_json(),
                "endpoints": [
                    "POST /_sandbox/reset",
                    "POST /_sandbox/seed {seed, size}",
                    "GET /_sandbox/state",
                    "GET /_sandbox/tables/{table}?limit=&where=FIELD:VALUE",
                    "GET /_sandbox/amounts/{SO_HDR|DJ_PAGE}/{key}",
                    "POST /_sandbox/articles {values} (validated, as the API writes)",
                    "PATCH /_sandbox/articles/{code} {values} (an edit: CNG_DATE moves)",
                    "PUT /_sandbox/articles/{code}/force {values, create} (unvalidated, CNG_DATE kept)",
                    "GET|POST /_sandbox/articles/bad {cases: [...]} (bad-input articles)",
                    "GET|PUT /_sandbox/stock/{code} {available, reserved, technical, managed} (CNG_DATE kept)",
                    "POST /_sandbox/sales-orders/{number}/deliver|invoice",
                    "GET|PUT /_sandbox/sales-orders/auto-deliver {every} or null",
                    *ENDPOINTS,
                    "POST /_sandbox/faults/relay-offline {count}",
                    "POST /_sandbox/tokens/expire",
                    "POST /_sandbox/tokens/revoke",
                    "GET|PUT /_sandbox/auth",
                ],
            }
        )

    async def reset(self, request: Request) -> Response:
        body = await _json_body(request)
        self.sb.reset(tokens=bool(body.get("tokens")))
        return _JSON({"counts": self.sb.counts()})

    async def seed(self, request: Request) -> Response:
        body = await _json_body(request)
        return _JSON({"counts": self.sb.seed(seed=int(body.get("seed", 1)), size=int(body.get("size", 50)))})

    async def state(self, request: Request) -> Response:
        return _JSON(
            {
                "counts": self.sb.counts(),
                "calls": self.sb.calls,
                "requests": self.sb.limits.calls_json(),
                "rate_limit": self.sb.limits.rate_limit_json(),
                "fault_seed": self.sb.faults.seed,
                "grants": [
                    {"id": g.id, "revoked": g.revoked, "refreshes": g.refreshes}
                    for g in self.sb.auth.grants()
                ],
            }
        )

    async def table(self, request: Request) -> Response:
        table = request.path_params["table"].upper()
        rows = self.sb.state.rows(table)
        where = request.query_params.get("where")
        if where and ":" in where:
            name, value = where.split(":", 1)
            rows = [r for r in rows if str(r.get(name.upper(), "")) == value]
        limit = int(request.query_params.get("limit", "100"))
        return _JSON({table: rows[:limit], "total": len(rows)})

    async def amounts(self, request: Request) -> Response:
        """The amounts AccountView computes for a sales order (SO_HDR) or an invoice page (DJ_PAGE)."""
        try:
            return _JSON(amounts_of(self.sb.state, request.path_params["table"], request.path_params["key"]))
        except ApiError as exc:
            return _JSON(exc.body(), status_code=exc.status)

    async def add_article(self, request: Request) -> Response:
        return await self._answer(request, lambda body: self.sb.add_article(body.get("values", body)))

    async def change_article(self, request: Request) -> Response:
        code = request.path_params["code"]
        return await self._answer(request, lambda body: self.sb.change_article(code, **body.get("values", body)))

    async def force_values(self, request: Request) -> Response:
        code = request.path_params["code"]
        return await self._answer(
            request,
            lambda body: self.sb.force_values(code, body.get("values", {}), create=bool(body.get("create"))),
        )

    async def bad_articles(self, request: Request) -> Response:
        if request.method == "GET":
            return _JSON(BAD_CASES)
        return await self._answer(request, lambda body: self.sb.add_bad_articles(body.get("cases")))

    async def stock(self, request: Request) -> Response:
        code = request.path_params["code"]
        if request.method == "GET":
            row = self.sb.state.get("ARTICLE", code)
            if row is None:
                return _JSON({"error": f"article {code!r} does not exist"}, status_code=404)
            return _JSON({figure: row.get(name) for figure, name in stock_fields(self.sb.state).items()})
        return await self._answer(request, lambda body: self.sb.set_stock(code, **body))

    async def sales_order(self, request: Request) -> Response:
        number, action = request.path_params["number"], request.path_params["action"]
        actions = {"deliver": self.sb.deliver_sales_order, "invoice": self.sb.invoice_sales_order}
        if action not in actions:
            return _JSON({"error": f"unknown action {action!r}: deliver or invoice"}, status_code=404)
        return await self._answer(request, lambda body: actions[action](number))

    async def auto_deliver(self, request: Request) -> Response:
        if request.method == "PUT":
            body = await _json_body(request)
            every = body.get("every")
            try:
                self.sb.auto_deliver(None if every is None else float(every))
            except (ApiError, ValueError, TypeError) as exc:
                return _JSON({"error": str(exc)}, status_code=400)
        return _JSON({"every": self.sb.auto_delivery})

    async def _answer(self, request: Request, action: Callable[[dict[str, Any]], Any]) -> Response:
        """Run an admin action on the JSON body; an AccountView-style refusal keeps its status."""
        try:
            return _JSON(action(await _json_body(request)))
        except ApiError as exc:
            return _JSON(exc.body(), status_code=exc.status)
        except (TypeError, ValueError) as exc:
            return _JSON({"error": str(exc)}, status_code=400)

    async def relay_offline(self, request: Request) -> Response:
        body = await _json_body(request)
        self.sb.relay_offline(count=body.get("count"))
        return _JSON(self.sb.faults.as_json())

    async def expire_tokens(self, request: Request) -> Response:
        return _JSON({"expired": self.sb.auth.expire_access_tokens()})

    async def revoke_tokens(self, request: Request) -> Response:
        self.sb.auth.revoke_all()
        return _JSON({"revoked": True})

    async def auth_settings(self, request: Request) -> Response:
        settings = self.sb.auth.settings
        if request.method != "GET":
            for name, value in (await _json_body(request)).items():
                if name in ("access_token_ttl", "rotate_refresh_tokens", "revoke_grant_on_reuse"):
                    setattr(settings, name, value)
        return _JSON(
            {
                "access_token_ttl": settings.access_token_ttl,
                "rotate_refresh_tokens": settings.rotate_refresh_tokens,
                "revoke_grant_on_reuse": settings.revoke_grant_on_reuse,
            }
        )


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    body = json.loads(raw)
    return body if isinstance(body, dict) else {}


async def _form(request: Request) -> dict[str, str]:
    """A url-encoded form, names lower-cased (parsed here: no multipart dependency needed)."""
    return {
        k.lower(): v for k, v in parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)
    }
