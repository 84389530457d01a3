"""The tenancy crawler: every URL pattern of the resolver, enumerated (so new views are covered without
being listed), visited by a user of one workspace with the other workspace's ids.

For each pattern with parameters, each parameter in turn gets the other workspace's id (of the model the
parameter names, e.g. `connection_id` → Connection; every other-workspace id when the name says nothing)
while the other parameters get the user's own ids; then all parameters get the other's. Each such URL,
by GET and by POST, must answer exactly as the same URL with an id that exists nowhere (404, or 405 for
a method the view never takes), and never show the other workspace's text.
Each page without parameters or with the user's own ids (GET) must not show the other's text, also when
asked with the other's ids in the query string, and must be the same page before and after the other
workspace grew (so no count of theirs shows).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.web.world import MARKER, World

NOWHERE = 987_654  # an id no table holds
PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
# For operators, across workspaces by design: the admin (superusers only, tested on its own) and the load
# balancer's and Prometheus' endpoints (/metrics names integrations; production sets its bearer token).
SKIPPED_PREFIXES = ("admin/", "static/", "metrics", "healthz", "readyz")
DYNAMIC = [
    re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"'),
    re.compile(r'"X-CSRFToken": "[^"]+"'),
]


@dataclass(frozen=True)
class Route:
    template: str  # e.g. "w/<int:workspace_id>/connections/<int:connection_id>/"
    defaults: tuple[tuple[str, Any], ...]

    @property
    def parameters(self) -> list[tuple[str, str]]:
        return [(m["converter"] or "str", m["name"]) for m in PARAMETER.finditer(self.template)]

    def url(self, values: dict[str, Any]) -> str:
        return "/" + PARAMETER.sub(lambda m: str(values[m["name"]]), self.template)


def routes() -> list[Route]:
    """Every URL pattern of the current URLconf (route strings joined through the includes)."""
    found: list[Route] = []

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if route.startswith(SKIPPED_PREFIXES):
                continue
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            else:
                assert "(?P" not in route and "^" not in route, f"a regex URL pattern the crawler can't fill: {route}"
                found.append(Route(route, tuple(sorted((p.default_args or {}).items()))))

    walk(get_resolver().url_patterns, "")
    return found


def model_named(parameter: str) -> type[models.Model] | None:
    """The model a parameter names: `connection_id` → Connection; None when it names none."""
    name = parameter.removesuffix("_id").replace("_", "")
    for model in apps.get_models():
        if model.__module__.startswith("koppel.") and model._meta.model_name == name:
            return model
    return None


def known_values(parameter: str) -> list[str]:
    """Text parameters that name no record but one of a fixed set (a flow, a system): their real values,
    so a view that checks them before the workspace is reached with a valid one."""
    from koppel.core.integrations.models import Connection
    from koppel.core.integrations.settings import flow_names

    sets = {"flow": flow_names, "system": lambda: [system.value for system in Connection.System]}
    return list(sets[parameter]()) if parameter in sets else []


def _candidates(world: World, parameter: str, converter: str, *, mine: bool) -> list[Any]:
    side = world.mine if mine else world.other
    if known_values(parameter):
        return known_values(parameter)[:1]
    if converter == "int":
        model = model_named(parameter)
        if model is not None and side.ids(model):
            return side.ids(model)[:1] if mine else side.ids(model)
        return sorted(side.all_ids())[:1] if mine else sorted(side.all_ids())
    # text parameters: names of records (a view may look them up by name), and the invitation token
    names = sorted(side.names()) + [side.invitation_token]
    return names[:1] if mine else names


def _nowhere(converter: str) -> Any:
    return NOWHERE if converter == "int" else "no-such-thing"


def _foreign_urls(world: World, route: Route) -> Iterator[tuple[str, str]]:
    """(URL with the other's id, the same URL with an id that exists nowhere) for each parameter."""
    parameters = route.parameters
    own = {name: _candidates(world, name, conv, mine=True)[0] for conv, name in parameters}
    for conv, name in parameters:
        if conv == "str" and name == "token":
            continue  # an invitation link is a capability: whoever holds it may use it (tested apart)
        if known_values(name):
            continue  # not a record: nothing of another workspace to put here
        for foreign in _candidates(world, name, conv, mine=False):
            yield route.url({**own, name: foreign}), route.url({**own, name: _nowhere(conv)})
    if len(parameters) > 1:
        everything = {name: _candidates(world, name, conv, mine=False)[0] for conv, name in parameters}
        yield route.url(everything), route.url({name: _nowhere(conv) for conv, name in parameters})


def _text(response: Any) -> str:
    body = response.content.decode(errors="replace") if hasattr(response, "content") else ""
    for pattern in DYNAMIC:
        body = pattern.sub("", body)
    return body


def _leaks(response: Any) -> bool:
    return MARKER in _text(response) or MARKER in response.headers.get("Location", "")


def crawl(client: Client, world: World) -> list[str]:
    """Every problem found, one line each (empty: nothing leaks)."""
    problems: list[str] = []
    baselines: dict[tuple[str, str], int] = {}
    for route in routes():
        for foreign, nowhere in _foreign_urls(world, route):
            for method in ("get", "post"):
                answer = getattr(client, method)(foreign)
                if (method, nowhere) not in baselines:
                    baselines[method, nowhere] = getattr(client, method)(nowhere).status_code
                baseline = baselines[method, nowhere]
                if answer.status_code not in (404, 405) or answer.status_code != baseline:
                    problems.append(f"{method.upper()} {foreign} answered {answer.status_code} "
                                    f"(an id that exists nowhere: {baseline})")
                elif _leaks(answer):
                    problems.append(f"{method.upper()} {foreign} shows the other workspace's data")
    return problems


def own_pages(world: World) -> list[str]:
    """Every route filled with the user's own ids (the pages they may see)."""
    pages = []
    for route in routes():
        if any(name == "token" for _conv, name in route.parameters):
            continue
        choices = [[(name, value) for value in (known_values(name) or _candidates(world, name, conv, mine=True)[:1])]
                   for conv, name in route.parameters]
        pages += [route.url(dict(combination)) for combination in itertools.product(*choices)]
    return pages


def query_with_foreign_ids(world: World) -> str:
    """A query string naming the other workspace's records by every usual parameter name."""
    names = {model._meta.model_name: world.other.ids(model) for model in world.other.records}
    pairs = [f"{name}={ids[0]}&{name}_id={ids[0]}" for name, ids in names.items() if ids]
    return "?" + "&".join(pairs + ["id=9000", "pk=9000"])


def visible_pages(client: Client, world: World) -> dict[str, str]:
    """The text of every own page (GET) that answers 200, and the problems of pages that leak."""
    texts = {}
    for page in own_pages(world):
        answer = client.get(page)
        if answer.status_code == 200:
            texts[page] = _text(answer)
    return texts


def leaking_pages(client: Client, world: World) -> list[str]:
    problems = []
    query = query_with_foreign_ids(world)
    for page in own_pages(world):
        for url in (page, page + query):
            answer = client.get(url)
            if _leaks(answer):
                problems.append(f"GET {url} shows the other workspace's data")
    return problems
