"""Per request: a request id (echoed in ``X-Request-ID``) and the acting party for the audit
log — anonymous until the web sign-in or the API token says who it is."""

from __future__ import annotations

import re

from flask import Flask, Response, g, request

from loandesk.audit.context import Actor, reset_actor, set_actor
from loandesk.db import uuid7

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _begin() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else str(uuid7())
    g._audit_token = set_actor(_actor("anonymous"))


def _actor(kind: str, actor_id: str | None = None, label: str | None = None) -> Actor:
    return Actor(
        kind=kind,
        id=actor_id,
        label=label,
        ip=request.remote_addr,
        user_agent=request.user_agent.string or None,
        request_id=g.get("request_id"),
    )


def identify(kind: str, actor_id: str | None, label: str | None) -> None:
    """The request acts for this user or API client from now on."""
    set_actor(_actor(kind, actor_id, label))


def _echo_request_id(response: Response) -> Response:
    if "request_id" in g:
        response.headers["X-Request-ID"] = g.request_id
    return response


def _end(_exc: BaseException | None) -> None:
    token = g.pop("_audit_token", None)
    if token is not None:
        reset_actor(token)


def init_app(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_echo_request_id)
    app.teardown_request(_end)
