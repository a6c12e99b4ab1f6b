"""The request side of sign-in hardening: headers, the client's address behind proxies, rate
limits on sign-in, sign-up and the token endpoint (429 with ``Retry-After``), and the
per-tenant session timeouts."""

from __future__ import annotations

import math
import time
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    current_app,
    flash,
    g,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, ngettext
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from loandesk import audit, extension
from loandesk.api.errors import json_error
from loandesk.db import Database
from loandesk.security import session_policy
from loandesk.security.headers import add_security_headers
from loandesk.security.ratelimit import (
    CounterStore,
    CountersUnavailable,
    DatabaseCounters,
    RateLimiter,
    RedisCounters,
    client_network,
)
from loandesk.settings import Rate, Settings
from loandesk.web.htmx import htmx

EXTENSION = "loandesk.rate_limits"


def limiter() -> RateLimiter:
    found: RateLimiter = current_app.extensions[EXTENSION]
    return found


# --- rate limits ---------------------------------------------------------------------------


def check_sign_in(email: str) -> None:
    """Before a web sign-in attempt: per client address, then per account of this tenant.

    An address over its limit does not count against the account, so that one attacker cannot
    use up a victim's allowance from a single address.
    """
    from loandesk.auth.users import normalise_email
    from loandesk.tenancy import current

    settings = extension.get().settings
    account = f"{current().id}:{normalise_email(email)}"
    _enforce(
        ("login_ip", client_network(request.remote_addr), settings.rate_limit_login_ip),
        ("login_account", account, settings.rate_limit_login_account),
    )


def check_sso_sign_in() -> None:
    """Before a single sign-on starts: per client address, counted with password sign-ins."""
    settings = extension.get().settings
    _enforce(("login_ip", client_network(request.remote_addr), settings.rate_limit_login_ip))


def check_sign_up() -> None:
    """Before a sign-up (web form or API): per client address."""
    if request.method != "POST":
        return
    settings = extension.get().settings
    _enforce(("signup_ip", client_network(request.remote_addr), settings.rate_limit_signup_ip))


def check_public_form(rule: str) -> None:
    """Before a tenant's public form takes a submission (a plugin's lead form): per client
    address and ``rule`` (the form's name)."""
    settings = extension.get().settings
    subject = f"{rule}:{client_network(request.remote_addr)}"
    _enforce(("public_form_ip", subject, settings.rate_limit_public_form_ip))


def check_token_request() -> None:
    """Before ``POST /oauth/token``: per client address, then per client id (as sent, from
    HTTP Basic or the form; unchecked, so an unknown id is limited like a known one)."""
    settings = extension.get().settings
    rules = [("token_ip", client_network(request.remote_addr), settings.rate_limit_token_ip)]
    auth = request.authorization
    client_id = (auth.username if auth and auth.type == "basic" else None) or request.form.get(
        "client_id"
    )
    if client_id:
        rules.append(("token_client", client_id[:200], settings.rate_limit_token_client))
    _enforce(*rules)


def _enforce(*rules: tuple[str, str, Rate]) -> None:
    for rule, subject, rate in rules:
        try:
            verdict = limiter().hit(rule, subject, rate)
        except CountersUnavailable as exc:
            # Fail open: refusing every sign-in while Redis is down would be worse.
            extension.log_failure(f"rate limit {rule}", exc)
            continue
        if not verdict.allowed:
            current_app.logger.warning(
                "rate limit %s exceeded by %s (%s)", rule, request.remote_addr, request.path
            )
            raise TooManyRequests(response=too_many_requests(verdict.retry_after))


def too_many_requests(retry_after: int) -> Response:
    """429 in the shape of the request: JSON under /api and /oauth and for htmx, else a page."""
    minutes = max(1, math.ceil(retry_after / 60))
    message = ngettext(
        "Too many attempts. Try again in %(num)d minute.",
        "Too many attempts. Try again in %(num)d minutes.",
        minutes,
    )
    if request.path.startswith(("/api/", "/oauth/")) or htmx:
        response = json_error(429, message, code="too_many_requests")
    else:
        response = Response(
            render_template("errors/error.html", status=429, message=message), status=429
        )
    response.headers["Retry-After"] = str(retry_after)
    return response


def _make_store(settings: Settings, db: Database) -> CounterStore:
    if settings.redis_url:
        return RedisCounters(settings.redis_url)
    return DatabaseCounters(db)


# --- session timeouts ----------------------------------------------------------------------


def enforce_session_timeouts() -> Response | None:
    """Before every request: sign out a session of the current tenant that has been idle or
    open too long. Runs after the CSRF check, so a form posted from an expired session reaches
    the sign-in page instead of a "form expired" error."""
    tenant = g.get("tenant")
    if tenant is None or not session.get("user_id") or session.get("tenant_id") != str(tenant.id):
        return None
    now = time.time()
    state = session_policy.state(session, now, tenant)
    if state == "active":
        return None
    if state == "refresh":
        session[session_policy.SEEN_AT] = int(now)
        return None
    user_id = session.get("user_id")
    locale = session.get("locale")
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]
    if locale:
        session["locale"] = locale
    db_session = extension.session()
    audit.record(db_session, "user.session_expired", "user", user_id, {"reason": state})
    db_session.commit()
    flash(_expired_message(), "warning")
    if htmx:
        # A fragment must not become the sign-in page: htmx loads it as a whole page instead.
        response = json_error(401, _expired_message(), code="session_expired")
        response.headers["HX-Redirect"] = url_for("tenant.auth.login", next=_current_page() or None)
        return response
    return None


def _expired_message() -> str:
    return gettext("Your session has expired. Please sign in again.")


def _current_page() -> str:
    parts = urlsplit(request.headers.get("HX-Current-URL", ""))
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- wiring --------------------------------------------------------------------------------


def init_app(app: Flask, settings: Settings, db: Database) -> None:
    """Call after the web shell's ``init_app``: the timeout check must follow the CSRF check."""
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    app.extensions[EXTENSION] = RateLimiter(_make_store(settings, db))
    hsts = 0 if settings.is_embedded else int(settings.hsts_max_age.total_seconds())
    app.after_request(lambda response: add_security_headers(response, hsts_max_age=hsts))
    app.before_request(enforce_session_timeouts)
