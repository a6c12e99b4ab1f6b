"""CSRF protection for the web UI: every POST (and PUT, PATCH, DELETE) carries the session's
token, as a form field ``csrf_token`` or, from htmx, the ``X-CSRFToken`` header.

The API and the OAuth token endpoint are exempt: they authenticate with bearer tokens and
client credentials, never with cookies, so a forged cross-site request carries nothing useful.
So is a tenant page marked with ``exempt``: a provider's callback, which authenticates itself
(a signature the connector verifies) and acts for no signed-in user.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request, session

from loandesk.web.sessions import SESSIONLESS_PREFIXES

FIELD = "csrf_token"
HEADER = "X-CSRFToken"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_EXEMPT = "_loandesk_csrf_exempt"
V = TypeVar("V", bound=Callable[..., Any])


def exempt(view: V) -> V:
    """Mark a view that takes machine requests (a provider's signed callback): no CSRF token
    is asked. The view must authenticate the request itself and must not act for the
    session's user."""
    setattr(view, _EXEMPT, True)
    return view


def is_exempt(view: object) -> bool:
    """Whether ``view`` was marked with ``exempt``."""
    return bool(getattr(view, _EXEMPT, False))


def csrf_token() -> str:
    token = session.get(FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[FIELD] = token
    return str(token)


def check_csrf() -> None:
    if request.method in _SAFE_METHODS or request.path.startswith(SESSIONLESS_PREFIXES):
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and is_exempt(view):
        return
    expected = session.get(FIELD)
    sent = request.headers.get(HEADER) or request.form.get(FIELD)
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        from loandesk.web.errors import CSRFError

        raise CSRFError()


def init_app(app: Flask) -> None:
    app.before_request(check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
