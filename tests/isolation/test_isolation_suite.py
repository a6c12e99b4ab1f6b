"""Generated from the URL map: for every API and web route that takes an object id, tenant B's
admin (every permission, every plugin enabled) cannot read, change or delete tenant A's object,
and tenant A's staff member who holds no permission is refused (403).

What counts as refused for tenant B: 404, or exactly the answer the same request gets for an id
that exists nowhere (a 422 for a body the route refuses before looking the object up reveals
nothing); never a 2xx, never a 5xx, and none of tenant A's rows changes. A route whose id
parameter has no factory fails, saying how to register one (tests/isolation/factories.py)."""

from __future__ import annotations

import functools
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loandesk.app import create_app
from loandesk.settings import Settings
from tests.isolation import bodies, routes
from tests.isolation.conftest import Firm
from tests.isolation.factories import World, find
from tests.isolation.routes import Route

# Id parameters whose factory is not written yet (a known gap, not a decision): their routes'
# tests are expected to fail on the missing factory (strict xfail). A name stays here only while
# some route still lacks its factory (``test_pending_factories_are_still_missing``).
PENDING: set[str] = set()


@functools.cache
def _route_map_app() -> Flask:
    """An app to read the URL map from at collection time (no request touches its database)."""
    folder = Path(tempfile.mkdtemp(prefix="loandesk-routes-"))
    return create_app(Settings(database_url=f"sqlite:///{folder}/routes.db", instance_path=folder))


def _params(surface: str) -> list[Any]:
    marks = []
    for route in routes.id_routes(_route_map_app()):
        if route.surface != surface:
            continue
        pending = [
            pytest.mark.xfail(reason=f"no factory for {p} yet", strict=True)
            for p in route.params
            if p in PENDING and find(p, route.path) is None
        ]
        marks.append(pytest.param(route, id=route.test_id, marks=pending[:1]))
    return marks


API_ROUTES = _params("api")
WEB_ROUTES = _params("web")


def test_every_parameter_is_classified() -> None:
    """A route parameter is an object id, or listed in ``routes.NOT_AN_ID`` with why not."""
    missing = routes.unclassified(_route_map_app())
    assert missing == {}, (
        "Route parameters the isolation suite cannot classify. If one names an object, "
        "name it <..._id> or give it the uuid converter; otherwise add it to NOT_AN_ID in "
        f"tests/isolation/routes.py with the reason it cannot reach another tenant: {missing}"
    )


def test_pending_factories_are_still_missing() -> None:
    missing = {
        name
        for route in routes.id_routes(_route_map_app())
        for name in route.params
        if find(name, route.path) is None
    }
    assert missing >= PENDING, f"factories now exist: remove {PENDING - missing} from PENDING"


def test_the_suite_covers_routes() -> None:
    assert len(API_ROUTES) > 100 and len(WEB_ROUTES) > 100


def _values(route: Route, world: World) -> dict[str, str]:
    values = {}
    for name in route.params:
        found = find(name, route.path)
        if found is None:
            pytest.fail(
                f"{route.test_id}: the isolation suite does not know how to make a "
                f"{name!r} in tenant A. Register a factory in tests/isolation/factories.py:\n\n"
                f'    @factory("{name}", under=("{route.path.split("<")[0]}",))\n'
                f"    def _thing(m: Maker) -> str:\n"
                f'        return str(m.post("/things", {{...}})["id"])  # the new id\n\n'
                f"(see docs/architecture.md, 'Tenant isolation').",
                pytrace=False,
            )
        values[name] = world.value(found)
    return values


def _call(api_or_web: Any, route: Route, url: str, **kw: Any) -> Any:
    return getattr(api_or_web, route.method.lower())(url, **bodies.with_files(kw))


def _code(response: Any) -> Any:
    body = response.get_json(silent=True)
    return body.get("code") if isinstance(body, dict) else None


def _refused_like_nothing(route: Route, answer: Any, nowhere: Any) -> None:
    """A's object answers 404, or exactly as an id that exists nowhere does."""
    assert answer.status_code < 500, f"{route.test_id}: {answer.status_code}"
    assert not 200 <= answer.status_code < 300, (
        f"{route.test_id}: tenant B got {answer.status_code} on tenant A's object: "
        f"{answer.get_data(as_text=True)[:300]}"
    )
    if answer.status_code != 404:
        assert (answer.status_code, _code(answer)) == (nowhere.status_code, _code(nowhere)), (
            f"{route.test_id}: tenant A's id answers {answer.status_code} {_code(answer)}, "
            f"an unknown id {nowhere.status_code} {_code(nowhere)}: the answer tells them apart"
        )


def _nowhere(values: dict[str, str]) -> dict[str, str]:
    return {name: str(uuid.uuid4()) if _is_uuid(v) else f"no-{v}" for name, v in values.items()}


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# Rows a request changes for the one who makes it, not for the object: the signed-in staff
# member's own web session (flashed messages, last seen).
OWN_TRACES = {"web_sessions"}


def _changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(t for t in before if before[t] != after[t] and t not in OWN_TRACES)


# --- the API -------------------------------------------------------------------------------

# Reads whose OAuth scope alone decides (docs/api.md), left out of
# ``test_api_acting_without_the_permission_is_403``; the scope's 403 is tested by
# ``test_api_without_the_scope_is_403`` like every route's.
SCOPE_ONLY = {
    "GET /automations/": "reading automation rules and their runs takes automations:read; "
    "changing them also takes the automations.manage permission (docs/api.md, Automation rules)",
}


def _scope_only(route: Route) -> bool:
    return f"{route.method} {route.path}".startswith(tuple(SCOPE_ONLY))


# Objects that belong to one staff member or are shared with chosen roles: to anyone else they
# answer 404, as if they did not exist (not even their existence is confirmed).
OWNED = {
    "/todos/": "a to-do is its assignee's and its creator's",
    "/views/": "a saved list view is its creator's",
    "/reports/": "a saved report is its owner's and the roles it is shared with",
    "/dashboards/": "a dashboard is its owner's and the roles it is shared with",
    "/approvals/": "an approval is seen by those taking part in it (and auditors)",
    "/automations/<uuid:rule_id>/dry-run": "the rule is tried on a record, which answers 404 "
    "to whoever may not read it",
    "/attachments/": "a file is seen by whoever may see the field it was uploaded for "
    "(docs/api.md, Attachments)",
}


# Reads any staff member of the tenant may make, whatever their roles.
OPEN_TO_STAFF = {
    "GET /api/v1/applications/products/<uuid:product_id>": "the product catalogue: whoever "
    "fills in an application picks from it (the list is open the same way)",
    "GET /api/v1/org-units/<uuid:unit_id>": "the organisation tree (org-units:read), which "
    "the forms' unit and staff pickers show to every staff member (auth/clients.py, "
    "ACTING_PERMISSIONS)",
}


def _api_kw(route: Route) -> dict[str, Any]:
    if route.method not in ("POST", "PUT", "PATCH"):
        return {}
    app = _route_map_app()
    form = bodies.form_body(app, route)
    if form is not None:
        return {"data": form, "content_type": "multipart/form-data"}
    body = bodies.json_body(app, route)
    return {"json": body if body is not None else {}}


def _owned(route: Route) -> bool:
    return route.path.startswith(tuple(OWNED))


@pytest.mark.parametrize("route", API_ROUTES)
def test_api_tenant_b_cannot_reach_tenant_a(
    route: Route, world: World, firm_b: Firm, firm_a: Firm, rows_of: Any
) -> None:
    values = _values(route, world)
    url = routes.fill(route, values, firm_b.tenant.slug)[len(routes.API) :]
    other = routes.fill(route, _nowhere(values), firm_b.tenant.slug)[len(routes.API) :]
    kw = _api_kw(route)
    before = rows_of(firm_a.tenant.id)
    answer = _call(firm_b.admin, route, url, **kw)
    assert _changed(before, rows_of(firm_a.tenant.id)) == [], f"{route.test_id} changed A"
    _refused_like_nothing(route, answer, _call(firm_b.admin, route, other, **kw))


@pytest.mark.parametrize("route", API_ROUTES)
def test_api_without_the_scope_is_403(
    route: Route, world: World, firm_a: Firm, rows_of: Any
) -> None:
    """The scope a route declares (``oauth.require_token``) is checked: a token of tenant A
    with every scope but that one is refused on A's own object."""
    scope = bodies.scope_of(_route_map_app(), route)
    assert scope, f"{route.test_id} declares no OAuth scope"
    values = _values(route, world)
    url = routes.fill(route, values, firm_a.tenant.slug)[len(routes.API) :]
    api = firm_a.powerless_without(scope)
    before = rows_of(firm_a.tenant.id)
    answer = _call(api, route, url, **_api_kw(route))
    assert _changed(before, rows_of(firm_a.tenant.id)) == [], f"{route.test_id} changed A"
    assert answer.status_code == 403, (route.test_id, answer.status_code, answer.get_json())


@pytest.mark.parametrize(
    "route",
    [
        p
        for p in API_ROUTES
        if not _scope_only(p.values[0]) and p.values[0].test_id not in OPEN_TO_STAFF
    ],
)
def test_api_acting_without_the_permission_is_403(
    route: Route, world: World, firm_a: Firm, rows_of: Any
) -> None:
    """A client with every scope, acting for tenant A's staff member whose role grants
    nothing: refused (403), or 404 for an object only its owner sees (``OWNED``). The
    administration APIs too: a client never does more than the staff member it acts for
    (``clients.ACTING_PERMISSIONS``)."""
    values = _values(route, world)
    url = routes.fill(route, values, firm_a.tenant.slug)[len(routes.API) :]
    kw = _api_kw(route)
    before = rows_of(firm_a.tenant.id)
    answer = _call(firm_a.powerless, route, url, **kw)
    assert _changed(before, rows_of(firm_a.tenant.id)) == [], f"{route.test_id} changed A"
    if _owned(route) and answer.status_code != 403:
        other = routes.fill(route, _nowhere(values), firm_a.tenant.slug)[len(routes.API) :]
        _refused_like_nothing(route, answer, _call(firm_a.powerless, route, other, **kw))
    else:
        assert answer.status_code == 403, (route.test_id, answer.status_code, answer.get_json())


# --- the web -------------------------------------------------------------------------------


def _csrf(web: FlaskClient, slug: str) -> str:
    html = web.get(f"/t/{slug}/").get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token on the home page"
    return match.group(1)


def _web_kw(route: Route, web: FlaskClient, slug: str) -> dict[str, Any]:
    if route.method == "GET":
        return {}
    return {"data": {"csrf_token": _csrf(web, slug)}, "headers": {"HX-Request": "true"}}


@pytest.mark.parametrize("route", WEB_ROUTES)
def test_web_tenant_b_cannot_reach_tenant_a(
    route: Route, world: World, firm_b: Firm, firm_a: Firm, web_b: FlaskClient, rows_of: Any
) -> None:
    values = _values(route, world)
    slug = firm_b.tenant.slug
    url, other = routes.fill(route, values, slug), routes.fill(route, _nowhere(values), slug)
    kw = _web_kw(route, web_b, slug)
    before = rows_of(firm_a.tenant.id)
    answer = _call(web_b, route, url, **kw)
    assert _changed(before, rows_of(firm_a.tenant.id)) == [], f"{route.test_id} changed A"
    _refused_like_nothing(route, answer, _call(web_b, route, other, **kw))


@pytest.mark.parametrize("route", WEB_ROUTES)
def test_web_without_the_permission_is_403(
    route: Route, world: World, firm_a: Firm, web_a_powerless: FlaskClient, rows_of: Any
) -> None:
    values = _values(route, world)
    slug = firm_a.tenant.slug
    kw = _web_kw(route, web_a_powerless, slug)
    before = rows_of(firm_a.tenant.id)
    answer = _call(web_a_powerless, route, routes.fill(route, values, slug), **kw)
    assert _changed(before, rows_of(firm_a.tenant.id)) == [], f"{route.test_id} changed A"
    if _owned(route) and answer.status_code != 403:
        other = routes.fill(route, _nowhere(values), slug)
        _refused_like_nothing(route, answer, _call(web_a_powerless, route, other, **kw))
    else:
        assert answer.status_code == 403, (route.test_id, answer.status_code)
