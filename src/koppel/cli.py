"""The `koppel` command."""

from __future__ import annotations

import json
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

# Plain help (rich_markup_mode=None): Typer's rich help loads Markdown and syntax highlighting first,
# which doubles the time `koppel --help` takes to answer. Command bodies import what they need.
app = typer.Typer(help="Koppel keeps a MijnWebwinkel shop and an AccountView administration in sync.",
                  no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False, rich_markup_mode=None)
integration_app = typer.Typer(help="Workspaces, connections and integrations from files.", no_args_is_help=True,
                              rich_markup_mode=None)
app.add_typer(integration_app, name="integration")
connect_app = typer.Typer(help="Connect a remote system (authorise Koppel at AccountView).", no_args_is_help=True,
                          rich_markup_mode=None)
app.add_typer(connect_app, name="connect")
console = Console()
err_console = Console(stderr=True)


def _django() -> None:
    from koppel.core import setup

    setup()


def _fail(message: str, code: int = 1) -> NoReturn:
    print(message, file=sys.stderr)
    raise typer.Exit(code)


@app.command()
def migrate() -> None:
    """Create or upgrade the database tables."""
    _django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)


@app.command()
def createuser(
    username: str,
    email: Annotated[str, typer.Option(help="e-mail address")] = "",
    superuser: Annotated[bool, typer.Option("--superuser", help="a platform operator: may open the admin and "
                                            "sees every workspace there")] = False,
    workspace: Annotated[str | None, typer.Option(help="make the user a member of this workspace")] = None,
    role: Annotated[str, typer.Option(help="the role in --workspace: owner, member or read_only")] = "owner",
    password: Annotated[str | None, typer.Option(envvar="KOPPEL_NEW_PASSWORD", help="asked for if absent")]
    = None,
) -> None:
    """Create a user who can sign in to the dashboard (a normal user unless --superuser)."""
    _django()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from koppel.core.accounts.models import Membership, Role, Workspace

    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        _fail(f"user {username!r} exists already")
    if role not in {r.value for r in Role}:
        _fail(f"--role {role!r}: choose owner, member or read_only", 2)
    member_of = None
    if workspace is not None:
        member_of = Workspace.objects.filter(name=workspace).first()
        if member_of is None:
            known = ", ".join(Workspace.objects.order_by("name").values_list("name", flat=True)) or "none"
            _fail(f"no workspace {workspace!r}; known: {known}")
    user = user_model(username=username, email=email, is_staff=superuser, is_superuser=superuser)
    while True:
        given = password if password is not None else typer.prompt("Password", hide_input=True,
                                                                   confirmation_prompt=True)
        try:
            validate_password(given, user)
            break
        except ValidationError as exc:
            weak = "password refused: " + " ".join(exc.messages)
            if password is not None:  # given on the command line or in the environment: nobody to ask again
                _fail(weak)
            err_console.print(weak, highlight=False)
    user.set_password(given)
    with transaction.atomic():
        user.save()
        if member_of is not None:
            Membership.objects.create(workspace=member_of, user=user, role=role)
    kind = "superuser" if superuser else "user"
    console.print(f"created {kind} {username}" + (f", {role} of workspace {workspace}" if member_of else ""),
                  highlight=False)


@integration_app.command("apply")
def integration_apply(file: Path) -> None:
    """Create or update a workspace, its connections and an integration from a TOML file."""
    _django()
    from koppel.core.integrations.apply import TOKENS, ApplyError, apply_file, parse_file
    from koppel.core.integrations.models import Integration

    try:
        name = parse_file(file).integration.name
        before = Integration.objects.filter(name=name).values_list("flows", flat=True).first()
        report = apply_file(file, vat_codes_of=_vat_codes_of)
    except ApplyError as exc:
        _fail(str(exc))
    if not report.changed:
        console.print("nothing to change")
    for change in report.changes:
        console.print(change)
    if before is not None:
        _offer_freed_records(Integration.objects.get(name=name), before)
    if report.books is not None and TOKENS not in report.books.credentials:
        err_console.print(f"Next: authorise Koppel at AccountView with `koppel connect accountview --integration "
                          f"{report.integration}`", highlight=False, soft_wrap=True)


def _offer_freed_records(integration: Any, before: dict[str, Any]) -> None:
    """After a flow's settings changed: which parked or setting-skipped records would now go through (a dry
    run each, here and now), offered on the records page and named here with the command that retries them."""
    from koppel.core.activity.models import RetryOffer
    from koppel.sync import retry_offers

    for flow in retry_offers.changed_flows(before, integration.flows or {}):
        offer = retry_offers.settings_changed(integration, flow, "koppel integration apply", now=True,
                                              before=before.get(flow))
        if offer is None or not RetryOffer.objects.filter(pk=offer.pk).exists():  # nothing to try
            continue
        offer.refresh_from_db()
        if offer.error:
            err_console.print(f"{flow}: the parked records could not be checked: {offer.error}", highlight=False)
            continue
        console.print(f"{flow}: of {offer.checked} parked or skipped records, {len(offer.would_send)} would now go "
                      f"through, {len(offer.still_parked)} would still park (the records page says why)",
                      highlight=False)
        if offer.would_send:
            console.print(f"retry them: koppel retry {flow} {' '.join(offer.would_send)} "
                          f"--integration {integration.name}", highlight=False, soft_wrap=True)


def _vat_codes_of(books: Any) -> Any:
    """The VAT codes of a connected AccountView administration; None when it can't be asked now."""
    from koppel.errors import KoppelError
    from koppel.sync.clients import books_client

    try:
        with books_client(books.pk, books.settings, books.credentials) as client:
            return client.vat_codes()
    except KoppelError:
        return None


@integration_app.command("list")
def integration_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The integrations with their workspace, connections and enabled flows."""
    _django()
    from koppel.core.integrations.models import Integration

    rows = [{"name": i.name, "workspace": i.workspace.name, "shop": i.shop.name, "books": i.books.name,
             "enabled": i.enabled, "flows": [f for f, s in i.flows.items() if s.get("enabled")]}
            for i in Integration.objects.select_related("workspace", "shop", "books").order_by("name")]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("integration", "workspace", "shop", "books", "enabled", "flows")
    for r in rows:
        table.add_row(r["name"], r["workspace"], r["shop"], r["books"], str(r["enabled"]), ", ".join(r["flows"]))
    console.print(table)


CALLBACK_PATH = "/koppel/oauth/accountview"


@connect_app.command("accountview")
def connect_accountview(
    integration: Annotated[str, typer.Option(help="integration name")],
    port: Annotated[int, typer.Option(help="loopback port AccountView sends the browser back to")] = 8766,
    redirect_uri: Annotated[str | None, typer.Option(
        help="the redirect URI registered for your app at AccountView, if not the loopback one; the browser "
        "ends there, and you paste the address it shows")] = None,
    timeout: Annotated[int, typer.Option(help="seconds to wait for AccountView's answer")] = 600,
) -> None:
    """Authorise Koppel at AccountView for an integration's administration, also on a server without a browser:
    open the printed URL anywhere, consent, and Koppel receives the answer on a loopback port (reach it
    with `ssh -L PORT:127.0.0.1:PORT`), or paste the address the browser ends on."""
    _django()
    from koppel.sync.grants import GrantError, finish_grant_from_url, start_grant

    books = _books_connection(integration)
    listen = redirect_uri is None
    redirect_uri = redirect_uri or f"http://127.0.0.1:{port}{CALLBACK_PATH}"
    try:
        with _loopback_callback(port if listen else None) as callback:
            started = start_grant(books.pk, redirect_uri)
            print(f"Open this address in a browser and allow Koppel access to AccountView:\n\n  {started.url}\n",
                  flush=True)
            if listen:
                print(f"Waiting for AccountView to send the browser back to {redirect_uri} "
                      f"(from another machine: ssh -L {port}:127.0.0.1:{port} this server)", flush=True)
            print("Or paste the address the browser ends on, and press Enter:", flush=True)
            answer = callback.wait(timeout)
            try:
                result = finish_grant_from_url(answer)
            except GrantError as exc:
                callback.reply(f"Koppel: {exc}")
                raise
            callback.reply("Koppel is connected to AccountView. You may close this page.")
    except GrantError as exc:
        _fail(str(exc))
    except TimeoutError:
        _fail(f"no answer from AccountView within {timeout} s: run the command again")
    companies = ", ".join(f"{c.code} ({c.description})" for c in result.companies) or "none"
    console.print(f"AccountView connected for {integration}; companies reached: {companies}", highlight=False,
                  soft_wrap=True)
    if result.company is None:
        _fail(f"the connection's company_id {books.settings.get('company_id')!r} is none of them: set "
              "company_id in the integration file to one of these companies' ids and apply it")


class _Answer:
    """AccountView's answer (the URL it sent the browser to): at the loopback port or pasted, whichever first."""

    def __init__(self, listening: bool) -> None:
        self.listening = listening
        self.url = ""
        self.arrived = threading.Event()
        self.page = ""  # what the browser is shown once the grant is finished
        self.replied = threading.Event()

    def wait(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        stdin_open = True
        while not self.arrived.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if stdin_open:
                line, stdin_open = _pasted_line(min(left, 0.2), can_block=not self.listening)
                if line:
                    return line
            elif not self.listening:
                _fail("nothing was pasted: run the command again and paste the address the browser ends on")
            else:
                self.arrived.wait(min(left, 0.2))
        return self.url

    def reply(self, text: str) -> None:
        self.page = text
        self.replied.set()


def _pasted_line(timeout: float, *, can_block: bool) -> tuple[str, bool]:
    """A line typed or piped on stdin within `timeout` (or '') and whether stdin is still open."""
    import io
    import select

    try:
        ready = select.select([sys.stdin], [], [], timeout)[0]
    except (OSError, ValueError, io.UnsupportedOperation):  # stdin is no file (e.g. a test's input)
        if not can_block:
            return "", False
        ready = [sys.stdin]
    if not ready:
        return "", True
    line = sys.stdin.readline()
    return line.strip(), bool(line)


@contextmanager
def _loopback_callback(port: int | None) -> Iterator[_Answer]:
    """Receives AccountView's redirect on 127.0.0.1:`port` (None: no listening, paste only)."""
    import html
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from urllib.parse import urlparse

    answer = _Answer(listening=port is not None)
    if port is None:
        yield answer
        return

    class Redirected(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if urlparse(self.path).path != CALLBACK_PATH:
                self.send_error(404)
                return
            answer.url = f"http://127.0.0.1:{port}{self.path}"
            answer.arrived.set()
            answer.replied.wait(60)
            body = f"<!doctype html><meta charset=utf-8><title>Koppel</title><p>{html.escape(answer.page)}</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the query carries the authorization code: never printed

    try:
        server = HTTPServer(("127.0.0.1", port), Redirected)
    except OSError as exc:
        _fail(f"can't listen on 127.0.0.1:{port} ({exc.strerror}): choose another port with --port")
    thread = threading.Thread(target=server.serve_forever, name="accountview-callback", daemon=True)
    thread.start()
    try:
        yield answer
    finally:
        answer.replied.set()
        server.shutdown()
        server.server_close()


def _books_connection(integration: str) -> Any:
    from koppel.core.integrations.models import Integration

    found = Integration.objects.select_related("books").filter(name=integration).first()
    if found is None:
        _fail(_no_integration(integration))
    return found.books


def _known_integration(name: str) -> None:
    from koppel.core.integrations.models import Integration

    if not Integration.objects.filter(name=name).exists():
        _fail(_no_integration(name))


def _no_integration(name: str) -> str:
    from koppel.core.integrations.models import Integration

    known = ", ".join(Integration.objects.order_by("name").values_list("name", flat=True)) or "none"
    return f"no integration {name!r}; known: {known}"


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every integration's health (ok, attention, broken, paused, disabled): its connections, the last
    successful run per flow, parked records and open alerts; workers and failing alert channels. Exits 1
    when an integration is broken or paused."""
    _django()
    from koppel.alerts.status import summary

    found = summary()
    if as_json:
        print(json.dumps(found.as_json(), indent=2))
    else:
        table = Table("integration", "state", "connections", "last successful run", "parked", "open alerts")
        for item in found.integrations:
            table.add_row(item.name, item.state, "\n".join(f"{n}: {s}" for n, s in item.connections.items()),
                          "\n".join(f"{f}: {at[:16] or 'never'}" for f, at in item.last_success.items()),
                          str(item.parked), ", ".join(item.open_alerts))
        console.print(table)
        for name, state in {**found.workers, **found.failing_channels}.items():
            console.print(f"{name}: {state}", highlight=False, soft_wrap=True)
    if any(item.state in ("broken", "paused") for item in found.integrations):
        raise typer.Exit(1)


@app.command()
def activity(
    integration: Annotated[str, typer.Option(help="integration name")],
    outcome: Annotated[str | None, typer.Option(help="only this outcome, e.g. needs_attention")] = None,
    limit: int = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The latest outcome per record: what came in, what went out, why a record was parked."""
    _django()
    from koppel.core.activity.models import Activity

    _known_integration(integration)
    rows = Activity.objects.filter(integration__name=integration).order_by("-updated_at")
    if outcome:
        rows = rows.filter(outcome=outcome)
    items = [{"entity": a.entity, "key": a.key, "outcome": a.outcome, "reason": a.reason,
              "target_key": a.target_key, "attempts": a.attempts, "updated_at": a.updated_at.isoformat(),
              "payload_in": a.payload_in, "payload_out": a.payload_out} for a in rows[:limit]]
    if as_json:
        print(json.dumps(items, indent=2, default=str))
        return
    table = Table("entity", "key", "outcome", "target", "tries", "reason")
    for a in items:
        table.add_row(a["entity"], a["key"], a["outcome"], a["target_key"], str(a["attempts"]), a["reason"])
    console.print(table)


@app.command("rotate-keys")
def rotate_keys_command() -> None:
    """Re-encrypt every stored credential under a new key."""
    _django()
    from koppel.core.keys import rotate_keys
    from koppel.settings import get_settings

    count, generated = rotate_keys(get_settings())
    console.print(f"re-encrypted {count} connection(s)" + (" under a new key" if generated else
                                                              " under the first key of KOPPEL_ENCRYPTION_KEYS"))


@app.command()
def sync(
    flow: Annotated[str, typer.Argument(help="the flow, e.g. orders")],
    integration: Annotated[str, typer.Option(help="integration name")],
    full: Annotated[bool, typer.Option("--full", help="ignore the cursor and re-read everything")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print a machine-readable summary (only that)")] = False,
) -> None:
    """Run one flow of an integration now, in the foreground, and summarise what happened."""
    _django()
    from koppel.sync.runner import run_flow

    _known_flow(flow)
    try:
        with _only_json_on_stdout(as_json):
            summary = _run_with_progress(
                flow, lambda progress: run_flow(flow, integration, full=full, progress=progress), quiet=as_json
            )
    except LookupError as exc:
        _fail(str(exc).strip("'\""))
    _report(summary, as_json)


@app.command()
def retry(
    flow: Annotated[str, typer.Argument(help="the flow, e.g. orders")],
    keys: Annotated[list[str], typer.Argument(help="the records to send again, e.g. order numbers")],
    integration: Annotated[str, typer.Option(help="integration name")],
    as_json: Annotated[bool, typer.Option("--json", help="print a machine-readable summary (only that)")] = False,
) -> None:
    """Send parked records again now, after their cause was fixed; nothing already sent is written twice."""
    _django()
    from koppel.core.activity.models import Activity
    from koppel.sync.runner import find, retry_flow

    _known_flow(flow)
    _known_integration(integration)
    entity = find(flow).entity
    seen = set(Activity.objects.filter(integration__name=integration, entity=entity, key__in=keys)
               .values_list("key", flat=True))
    if unseen := [key for key in keys if key not in seen]:
        # A retry of a record no run ever handled (a typo, an order of another shop) would only park it.
        _fail(f"{integration} has never handled {entity} {', '.join(unseen)}: retry sends again what a run "
              f"handled before (see `koppel activity --integration {integration}`); nothing was sent")
    try:
        with _only_json_on_stdout(as_json):
            summary = retry_flow(flow, integration, keys)
    except LookupError as exc:
        _fail(str(exc).strip("'\""))
    _report(summary, as_json)


@app.command()
def runs(
    integration: Annotated[str, typer.Option(help="integration name")],
    flow: Annotated[str | None, typer.Option(help="only the runs of this flow")] = None,
    limit: int = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The latest runs of an integration: flow, state, counts per outcome, and why a run failed."""
    _django()
    from koppel.core.activity.models import Run

    _known_integration(integration)
    rows = Run.objects.filter(integration__name=integration).order_by("-started_at", "-pk")
    if flow:
        rows = rows.filter(flow=flow)
    items = [{"id": r.pk, "flow": r.flow, "status": r.status, "counts": r.counts, "error": r.error,
              "started_at": r.started_at.isoformat(),
              "finished_at": r.finished_at.isoformat() if r.finished_at else None} for r in rows[:limit]]
    if as_json:
        print(json.dumps(items, indent=2))
        return
    table = Table("run", "flow", "status", "sent", "skipped", "parked", "started", "error")
    for r in items:
        parked = sum(r["counts"].get(o, 0) for o in ("needs_attention", "retry", "broken_connection"))
        table.add_row(str(r["id"]), r["flow"], r["status"], str(r["counts"].get("sent", 0)),
                      str(r["counts"].get("skipped", 0)), str(parked), r["started_at"][:19], r["error"])
    console.print(table)


def _known_flow(flow: str) -> None:
    from koppel.sync.runner import find

    try:
        find(flow)
    except LookupError as exc:
        _fail(str(exc).strip("'\""), 2)


@contextmanager
def _only_json_on_stdout(as_json: bool) -> Iterator[None]:
    """With --json, stdout carries the summary alone: whatever else prints meanwhile goes to stderr."""
    if not as_json:
        yield
        return
    with redirect_stdout(sys.stderr):
        yield


def _report(summary: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary.as_json(), indent=2, default=str))
    else:
        _print_summary(summary)
    if summary.error:
        raise typer.Exit(1)


def _run_with_progress(flow: str, job: Callable[[Callable[[Any], None]], Any], *, quiet: bool) -> Any:
    """Run `job` with a progress bar on stderr, drawn once there is something to count: a run that fails
    before listing its records, or finds none, shows no bar (not `0/?`)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if quiet:
        return job(lambda event: None)
    bar = Progress(TextColumn(f"[bold]{flow}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err_console)
    tasks: list[Any] = []
    lock = threading.Lock()

    def advance(event: Any) -> None:
        with lock:
            if not tasks:
                if not event.total:
                    return
                bar.start()
                tasks.append(bar.add_task(flow, total=event.total))
            bar.update(tasks[0], completed=event.done, total=event.total)

    try:
        return job(advance)
    finally:
        bar.stop()


def _print_summary(summary: Any, *, parked_table: bool = True) -> None:
    counts = summary.counts
    console.print(f"[bold]{summary.integration}[/bold]: {counts.get('sent', 0)} sent, "
                  f"{counts.get('skipped', 0)} skipped, {len(summary.parked)} parked ({summary.flow})")
    if summary.parked and parked_table:
        table = Table("record", "outcome", "reason", title="Parked records (fix the cause, then sync or retry)")
        for r in summary.parked:
            table.add_row(r.key, r.outcome, r.reason)
        console.print(table)
    if summary.error:
        err_console.print(f"[red]the run could not complete: {summary.error}[/red]")


@app.command()
def check(
    integration: Annotated[str, typer.Option(help="integration name")],
    as_json: Annotated[bool, typer.Option("--json", help="print the findings as JSON (only that)")] = False,
) -> None:
    """Check the AccountView profile against the administration's own dictionary before the first order:
    every assumed table or field that is missing, has another type or length, or cannot be filtered."""
    _django()
    from koppel.connectors.accountview.profile_check import check_profile
    from koppel.errors import KoppelError
    from koppel.sync.clients import books_client

    books = _books_connection(integration)
    try:
        with _only_json_on_stdout(as_json), books_client(books.pk, books.settings, books.credentials) as client:
            report = check_profile(client)
    except KoppelError as exc:
        _fail(f"could not check the AccountView profile of {integration}: {exc}")
    if as_json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        verdict = "fits" if report.ok else f"does not fit: {len(report.problems)} problem(s)"
        console.print(f"The AccountView profile of {integration} {verdict} ({books.settings.get('base_url')}).",
                      highlight=False, soft_wrap=True)
        for finding in report.findings:
            console.print(f"  {finding.severity}: {finding}", highlight=False, markup=False, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def worker(
    executor_id: Annotated[str | None, typer.Option(help="stable id of this worker (default from settings)")]
    = None,
    scheduler: Annotated[bool, typer.Option(help="also start due flow runs")] = True,
) -> None:
    """A worker process: runs queued work, recovers the work of dead workers, optionally schedules."""
    from koppel.sync.engine import serve

    serve(executor_id=executor_id, scheduler=scheduler)


@app.command()
def run(host: str | None = None, port: int | None = None) -> None:
    """The embedded default: web + worker + scheduler in one process (SQLite under the data dir)."""
    import threading

    import uvicorn

    _django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from koppel.settings import get_settings
    from koppel.sync import engine
    from koppel.web.asgi import create_app

    settings = get_settings()
    engine.launch(scheduler=True)
    server = uvicorn.Server(uvicorn.Config(create_app(), host=host or settings.web_host,
                                           port=port or settings.web_port, log_level="info"))
    web_thread = threading.Thread(target=server.run, name="koppel-web", daemon=True)
    web_thread.start()
    console.print(f"Koppel runs at http://{server.config.host}:{server.config.port}/ (Ctrl-C stops it)")
    try:
        while web_thread.is_alive():
            web_thread.join(1.0)
    except KeyboardInterrupt:
        server.should_exit = True
    finally:
        web_thread.join(10)
        engine.shutdown()


@app.command()
def purge(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Delete activity, runs and finished workflows older than each workspace's retention."""
    _django()
    from koppel.sync.retention import purge as purge_now

    purged = purge_now()
    if as_json:
        print(json.dumps({"activity": purged.activity, "runs": purged.runs, "workflows": purged.workflows}))
    else:
        console.print(f"purged {purged.activity} activity record(s), {purged.runs} run(s), "
                      f"{purged.workflows} finished workflow(s)")


@app.command()
def web(host: str | None = None, port: int | None = None) -> None:
    """The web process (dashboard and admin)."""
    import uvicorn

    from koppel.settings import get_settings
    from koppel.web.asgi import create_app

    settings = get_settings()
    uvicorn.run(create_app(), host=host or settings.web_host, port=port or settings.web_port, log_level="info")


@app.command()
def sandbox(
    seed: Annotated[int, typer.Option(help="seed of the generated data")] = 1,
    articles: Annotated[int, typer.Option(help="articles in both systems")] = 40,
    orders: Annotated[int, typer.Option(help="orders in the shop")] = 60,
    shop_port: Annotated[int, typer.Option(help="MijnWebwinkel sandbox port (0: any free port)")] = 8801,
    books_port: Annotated[int, typer.Option(help="AccountView sandbox port (0: any free port)")] = 8802,
    fault_seed: Annotated[int | None, typer.Option(help="seed of the fault draws (default: random)")] = None,
    rate_limit: Annotated[float | None, typer.Option(help="calls per second each sandbox allows before 429")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON line with URLs and credentials")] = False,
) -> None:
    """Start the MijnWebwinkel and AccountView simulators on 127.0.0.1 until Ctrl-C. The administration also
    holds the articles the orders' shipping, payment costs, discounts and rounding are booked on."""
    from koppel.connectors.sandboxes import start_sandboxes
    from koppel.connectors.sandboxkit import runner
    from koppel.demo import add_cost_articles

    boxes = start_sandboxes(seed=seed, articles=articles, orders=orders, shop_port=shop_port,
                            books_port=books_port)
    with boxes.books.authorised_client() as books:
        add_cost_articles(books)
    for box in (boxes.shop, boxes.books):
        runner.configure(box, fault_seed=fault_seed, rate_limit=rate_limit)

    def show(described: object) -> None:
        shop, books = boxes.shop.info, boxes.books.info
        table = Table("sandbox", "value", title="Koppel sandboxes (Ctrl-C stops them)")
        for name, value in boxes.describe():
            table.add_row(name, value)
        console.print(table)
        print(f"Try it:\n  {boxes.curl_example()}\nThe credentials for an integration file's env: references "
              f"(README, Using it):\n  export MWW_TOKEN={shop.token} MWW_PARTNER_TOKEN={shop.partner_token} "
              f"AV_CLIENT_ID={books.client_id} AV_CLIENT_SECRET={books.client_secret}", flush=True)

    runner.run_until_stopped({"mijnwebwinkel": boxes.shop, "accountview": boxes.books}, as_json=as_json, show=show)


@app.command()
def demo(
    orders: Annotated[int, typer.Option(help="orders in the shop sandbox")] = 60,
    serve: Annotated[bool | None, typer.Option(help="keep the dashboard up afterwards (default: when interactive)")]
    = None,
) -> None:
    """Sandboxes + seeded data + a demo integration + the orders flow, run once with progress."""
    import os
    import shutil

    from koppel.settings import get_settings

    if "KOPPEL_DATA_DIR" not in os.environ:
        demo_dir = Path("var/demo")
        shutil.rmtree(demo_dir, ignore_errors=True)  # every demo starts from nothing
        os.environ["KOPPEL_DATA_DIR"] = str(demo_dir)
        get_settings.cache_clear()
    _django()
    from django.core.management import call_command

    from koppel.demo import INTEGRATION, WORKSPACE, prepare, show_stock, sync_catalogue
    from koppel.sync.runner import run_flow

    console.print("[bold]Koppel demo[/bold]: starting the MijnWebwinkel and AccountView sandboxes …")
    call_command("migrate", interactive=False, verbosity=0)
    world = prepare(get_settings().ensure_data_dir(), orders=orders)
    try:
        console.print(f"integration [bold]{INTEGRATION}[/bold] configured from {world.integration_file}")
        sync_catalogue(console)
        summary = _run_with_progress(
            "orders", lambda progress: run_flow("orders", INTEGRATION, progress=progress), quiet=False
        )
        table = Table("order", "outcome", "AccountView", "reason", title="What happened to each order")
        colours = {"sent": "green", "skipped": "dim", "needs_attention": "yellow", "retry": "yellow",
                   "broken_connection": "red"}
        for r in sorted(summary.results, key=lambda r: (r.outcome != "needs_attention", r.key)):
            table.add_row(r.key, f"[{colours.get(r.outcome, 'white')}]{r.outcome}[/]", r.target_key, r.reason)
        console.print(table)
        _print_summary(summary, parked_table=False)
        again = run_flow("orders", INTEGRATION, full=True)
        console.print(f"Second run over all orders (--full): {again.counts.get('sent', 0)} sent, "
                      f"{again.counts.get('skipped', 0)} skipped, {len(again.parked)} parked — nothing is "
                      "written twice.")
        show_stock(console, world.sandboxes)
        interactive = sys.stdin.isatty() if serve is None else serve
        koppel = f"KOPPEL_DATA_DIR={shlex.quote(str(get_settings().data_dir.resolve()))} {_this_command()}"
        console.print(f"A user for the dashboard, in the demo's workspace (in another terminal):\n"
                      f"  {koppel} createuser NAME --workspace {WORKSPACE}", highlight=False, soft_wrap=True)
        if interactive:
            _serve_dashboard()
        else:
            console.print(f"The dashboard over the demo's results: {koppel} web", highlight=False, soft_wrap=True)
    finally:
        world.sandboxes.stop()


def _this_command() -> str:
    """How this `koppel` was started, to print commands that run the same one."""
    if Path(sys.argv[0]).name == "koppel":
        return shlex.quote(sys.argv[0])
    return f"{shlex.quote(sys.executable)} -m koppel.cli"


def _serve_dashboard() -> None:
    import uvicorn

    from koppel.settings import get_settings
    from koppel.web.asgi import create_app

    settings = get_settings()
    console.print(f"Dashboard: http://{settings.web_host}:{settings.web_port}/ (Ctrl-C stops the demo)",
                  highlight=False)
    uvicorn.run(create_app(), host=settings.web_host, port=settings.web_port, log_level="warning")


def main() -> None:
    if _runs_a_command(sys.argv[1:]):  # help alone needs neither settings nor logging: it starts at once
        from koppel.log_config import configure_logging
        from koppel.settings import get_settings

        configure_logging(get_settings().log_level)
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if not _tables_missing(exc):
            raise
        from koppel.settings import get_settings

        settings = get_settings()
        where = "the PostgreSQL database" if settings.uses_postgres else f"the data directory {settings.data_dir}"
        print(f"{where} has no Koppel tables yet: run `koppel migrate` first ({exc})", file=sys.stderr)
        sys.exit(1)


def _tables_missing(exc: Exception) -> bool:
    """A command run before `koppel migrate` (or against another data directory than intended)."""
    database_errors = sys.modules.get("django.db.utils")
    if database_errors is None or not isinstance(exc, database_errors.DatabaseError):
        return False
    text = str(exc)
    return "no such table" in text or ("relation" in text and "does not exist" in text)


def _runs_a_command(args: list[str]) -> bool:
    return bool(args) and "--help" not in args


if __name__ == "__main__":
    main()
