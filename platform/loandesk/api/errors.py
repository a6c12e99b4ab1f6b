"""JSON error bodies: ``{"code": "not_found", "message": "...", "errors": {...}}``."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, jsonify
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from loandesk.errors import DomainError

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    423: "locked",
    429: "too_many_requests",
    500: "internal_error",
}


class ErrorSchema(ma.Schema):
    """Every error body, as ``json_error`` writes it (the OpenAPI description's ``Error``)."""

    code = ma.fields.String(
        required=True, metadata={"description": "Stable code: not_found, validation_error, ..."}
    )
    message = ma.fields.String(required=True, metadata={"description": "For a person to read"})
    errors = ma.fields.Dict(
        required=True, metadata={"description": "Messages by field; empty when none"}
    )


def translate_errors(errors: Any) -> Any:
    if isinstance(errors, dict):
        return {k: translate_errors(v) for k, v in errors.items()}
    if isinstance(errors, list):
        return [translate_errors(v) for v in errors]
    return gettext(errors) if isinstance(errors, str) else errors


def json_error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    errors: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    response = jsonify(
        {"code": code or _CODES.get(status, "error"), "message": message, "errors": errors or {}}
    )
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_domain_error(error: DomainError) -> Response:
    message = gettext(error.message, **error.params) if error.params else gettext(error.message)
    return json_error(error.status, message, code=error.code, errors=translate_errors(error.errors))


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages") or {}
    # webargs groups problems by location ({"json": {...}}); one location is flattened.
    if isinstance(errors, dict) and len(errors) == 1:
        ((location, inner),) = errors.items()
        if location in ("json", "query", "form", "headers", "path") and isinstance(inner, dict):
            errors = inner
    message = data.get("message") or _default_message(status)
    headers = dict(data.get("headers") or {})
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    return json_error(status, message, errors=errors, headers=headers)


def _default_message(status: int) -> str:
    return {
        400: gettext("The request could not be understood."),
        401: gettext("Authentication is required."),
        403: gettext("You are not allowed to do this."),
        404: gettext("Not found."),
        405: gettext("This method is not allowed here."),
        409: gettext("This conflicts with the current state."),
        413: gettext("The request is too large."),
        415: gettext("Send JSON (Content-Type: application/json)."),
        422: gettext("Some fields need attention."),
        429: gettext("Too many requests; try again later."),
    }.get(status, gettext("Something went wrong on our side. It has been logged."))
