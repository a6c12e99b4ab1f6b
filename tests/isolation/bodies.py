"""Plausible request bodies, made from a route's own marshmallow schema (as the OpenAPI spec
describes it): every required field gets a value of its type, so that the route gets past
validation to the lookup and the permission check, and a 404 or 403 is not merely a 422."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

import marshmallow as ma
from flask import Flask
from marshmallow import validate

from tests.isolation.routes import Route


def view_method(app: Flask, route: Route) -> Any:
    """The function that serves ``route`` (a MethodView's method, or the view itself)."""
    view = app.view_functions[route.endpoint]
    cls = getattr(view, "view_class", None)
    return getattr(cls, route.method.lower(), None) if cls is not None else view


def scope_of(app: Flask, route: Route) -> str | None:
    """The OAuth scope an API route declares (``oauth.require_token``)."""
    method = view_method(app, route)
    while method is not None:
        scope = getattr(method, "_loandesk_scope", None)
        if scope is not None:
            return str(scope)
        method = getattr(method, "__wrapped__", None)
    return None


def json_body(app: Flask, route: Route) -> dict[str, Any] | None:
    """A body for the route's JSON schema, or ``None`` when it takes none in JSON."""
    apidoc = getattr(view_method(app, route), "_apidoc", {})
    for parameter in apidoc.get("arguments", {}).get("parameters", []):
        if parameter.get("in") == "json":
            schema = parameter["schema"]
            return _value_of(schema() if isinstance(schema, type) else schema)
    return None


def form_body(app: Flask, route: Route) -> dict[str, Any] | None:
    """A multipart body (form fields and a small file) when the route reads a form."""
    apidoc = getattr(view_method(app, route), "_apidoc", {})
    found: dict[str, Any] | None = None
    for parameter in apidoc.get("arguments", {}).get("parameters", []):
        where = parameter.get("in")
        if where not in ("form", "files"):
            continue
        schema = parameter["schema"]
        schema = schema() if isinstance(schema, type) else schema
        found = found or {}
        for name, field in schema.fields.items():
            if field.dump_only or not field.required:
                continue
            key = field.data_key or name
            found[key] = FILE if where == "files" else _field_value(field)
    return found


FILE = "<a small PNG>"  # replaced by ``with_files`` with a fresh file for each request


def with_files(kw: dict[str, Any]) -> dict[str, Any]:
    """``kw`` with a new open file for each ``FILE`` (the test client closes what it sends)."""
    data = kw.get("data")
    if not isinstance(data, dict) or FILE not in data.values():
        return kw
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    files = {k: (io.BytesIO(png), "scan.png") for k, v in data.items() if v == FILE}
    return {**kw, "data": {**data, **files}}


def _value_of(schema: ma.Schema) -> dict[str, Any]:
    body = {}
    for name, field in schema.fields.items():
        if field.dump_only or not field.required:
            continue
        body[field.data_key or name] = _field_value(field)
    return body


def _field_value(field: ma.fields.Field) -> Any:
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            return next(iter(validator.choices))
    if isinstance(field, ma.fields.Nested):
        nested = field.schema
        return [_value_of(nested)] if field.many else _value_of(nested)
    if isinstance(field, ma.fields.List):
        return [_field_value(field.inner)]
    if isinstance(field, ma.fields.Dict):
        return {}
    if isinstance(field, ma.fields.UUID):
        return str(uuid.uuid4())
    if isinstance(field, ma.fields.Boolean):
        return True
    if isinstance(field, ma.fields.Integer):
        return 1
    if isinstance(field, (ma.fields.Decimal, ma.fields.Float)):
        return "1.00"
    if isinstance(field, ma.fields.AwareDateTime | ma.fields.DateTime):
        return "2025-03-03T10:00:00+08:00"
    if isinstance(field, ma.fields.Date):
        return dt.date(2025, 3, 3).isoformat()
    if isinstance(field, ma.fields.Email):
        return "someone@example.cn"
    if isinstance(field, ma.fields.Url):
        return "https://1.2.3.4/in"
    return "1"
