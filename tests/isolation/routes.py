"""The routes the isolation suite covers, read from the app's URL map, so that a new route is
covered without anyone listing it.

The rule: a route is covered when one of its parameters names an object, that is its converter
is ``uuid`` or its name is ``pk`` or ends in ``_id``. Every other parameter name must be in
``NOT_AN_ID`` with the reason it cannot reach another tenant's object: a new one fails
``test_every_parameter_is_classified`` until someone decides."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask
from werkzeug.routing import Rule

API = "/api/v1"
WEB = "/t/<tenant_slug>"

NOT_AN_ID: dict[str, str] = {
    "tenant_slug": "the tenant itself: tenant B's user uses B's slug (a foreign slug is the "
    "sign-in wall, tested in tests/platform/test_web_auth.py)",
    "record_type": "a record type's name, the same in every tenant; the route reads the "
    "current tenant's configuration of it",
    "key": "a key chosen by the tenant (field, section, template, connector, provider); looked "
    "up within the current tenant's own rows",
    "name": "a plugin's name, the same in every tenant",
    "number": "a version number, looked up under an object of the current tenant",
    "bucket": "a collections bucket name (M1, M2, ...), the same in every tenant",
    "role_key": "a role's key, looked up within the current tenant",
    "kind": "a file format (pdf, zip, ...)",
    "fmt": "a file format (xlsx, csv)",
    "filename": "a static file",
    "field_key": "a field's key, looked up within the current tenant",
    "connector": "a connector's name, the same in every tenant",
    "provider_key": "a provider's name, the same in every tenant",
    "item_id": "a node id inside the current tenant's own flow draft (a JSON document), not a row",
    "token": "a secret capability token (invitation, borrower signing, SMS receipts), "
    "resolved within the URL's tenant; not an id a user can see",
}

# Routes with an id parameter that the suite leaves out, each with its reason.
EXCLUDED: dict[str, str] = {}

_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


@dataclass(frozen=True)
class Route:
    rule: str  # as in the URL map
    path: str  # the part after /api/v1 or /t/<tenant_slug>
    surface: str  # "api" or "web"
    method: str
    endpoint: str
    params: tuple[str, ...]  # the object ids, in order
    converters: tuple[tuple[str, str], ...]  # (name, converter) of every parameter

    @property
    def test_id(self) -> str:
        return f"{self.method} {self.rule}"


def _parameters(rule: str) -> list[tuple[str, str]]:
    return [(name, conv or "default") for conv, name in _CONVERTER.findall(rule)]


def is_id(name: str, converter: str) -> bool:
    if name in NOT_AN_ID:
        return False
    return converter == "uuid" or name == "pk" or name.endswith("_id")


def id_routes(app: Flask) -> list[Route]:
    """Every (route, method) of the API and of the tenant web area with an object id in it."""
    found = []
    rule: Rule
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API + "/"):
            surface, path = "api", rule.rule[len(API) :]
        elif rule.rule.startswith(WEB + "/"):
            surface, path = "web", rule.rule[len(WEB) :]
        else:
            continue
        params = _parameters(rule.rule)
        ids = tuple(name for name, conv in params if is_id(name, conv))
        if not ids or rule.rule in EXCLUDED:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append(Route(rule.rule, path, surface, method, rule.endpoint, ids, tuple(params)))
    return sorted(found, key=lambda r: (r.rule, r.method))


def unclassified(app: Flask) -> dict[str, list[str]]:
    """Parameter names that are neither ids nor in ``NOT_AN_ID``: the routes using each."""
    missing: dict[str, list[str]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith((API + "/", WEB + "/")):
            continue
        for name, conv in _parameters(rule.rule):
            if not is_id(name, conv) and name not in NOT_AN_ID:
                missing.setdefault(name, []).append(rule.rule)
    return missing


def fill(route: Route, values: dict[str, str], slug: str) -> str:
    """The route's URL with ``values`` for its parameters (and defaults for the named ones)."""
    defaults = {"tenant_slug": slug, "record_type": "customer", "kind": "pdf", "fmt": "xlsx",
                "number": "1", "key": "loan_purpose"}  # fmt: skip

    def one(match: re.Match[str]) -> str:
        name = match.group(2)
        return values.get(name) or defaults.get(name, "x")

    return _CONVERTER.sub(one, route.rule)
