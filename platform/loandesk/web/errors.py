"""One error handler for the whole app: JSON under ``/api`` and ``/oauth``, pages elsewhere
(a fragment-sized message for htmx). No stack trace ever reaches a client; it goes to the log."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException, InternalServerError

from loandesk.api import errors as api_errors
from loandesk.errors import DomainError
from loandesk.web.htmx import htmx


class CSRFError(HTTPException):
    code = 400
    description = "csrf"


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/oauth/"))


def handle_http_exception(error: HTTPException) -> Any:
    if error.response is not None:  # a complete response was prepared (e.g. by the OAuth code)
        return error.response
    if _wants_json():
        return api_errors.from_http_exception(error)
    return _page(error.code or 500, _page_message(error))


def handle_domain_error(error: DomainError) -> Any:
    if _wants_json():
        return api_errors.from_domain_error(error)
    message = gettext(error.message, **error.params) if error.params else gettext(error.message)
    return _page(error.status, message)


def handle_unexpected(error: Exception) -> Any:
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    if _wants_json():
        return api_errors.from_http_exception(InternalServerError())
    return _page(500, gettext("Something went wrong on our side. It has been logged."))


def _page_message(error: HTTPException) -> str:
    if isinstance(error, CSRFError):
        return gettext("This form has expired. Reload the page and try again.")
    return {
        400: gettext("The request could not be understood."),
        403: gettext("You are not allowed to see this page."),
        404: gettext("The page you asked for does not exist."),
        405: gettext("This method is not allowed here."),
        413: gettext("The upload is too large."),
    }.get(error.code or 500, gettext("Something went wrong on our side. It has been logged."))


def _page(status: int, message: str) -> Response:
    if htmx:
        response = api_errors.json_error(status, message)
    else:
        response = Response(
            render_template("errors/error.html", status=status, message=message), status=status
        )
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(Exception, handle_unexpected)
