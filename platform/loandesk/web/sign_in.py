"""How a browser becomes signed in: ``start_session`` for every way of signing in (password,
password and a two-factor code, single sign-on), and the short-lived state between the
password step and the code step.

While a sign-in waits for its second factor, the session holds only ``pending_sign_in`` (the
user's id, whether they must enrol first, where to go next, and an expiry): no ``user_id``, so
every page still treats the browser as signed out.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g, session, url_for

from loandesk import extension
from loandesk.audit import web as audit_web
from loandesk.auth import users
from loandesk.auth.models import User
from loandesk.tenancy import current
from loandesk.tenancy.paths import page_path

CLOCK = "loandesk.sign_in_clock"  # app.extensions[CLOCK]() -> Unix seconds; tests move it
PENDING = "pending_sign_in"
PENDING_SECONDS = 5 * 60  # from the password to the code


def now() -> datetime:
    """The time of the sign-in steps (codes, lock-outs), from the app's clock."""
    return datetime.fromtimestamp(current_app.extensions[CLOCK](), UTC)


def start_session(user: User, *, method: str) -> None:
    """Sign ``user`` in to this browser, every check being done: record the sign-in
    (``user.sign_in`` with ``method``, failure count cleared), commit, and give the browser a
    new session id holding the user (no session fixation). The caller redirects."""
    db_session = extension.session()
    users.record_sign_in(db_session, user, method=method, now=now())
    db_session.commit()
    open_session(user)


def open_session(user: User) -> None:
    """Give the browser a new session id holding ``user``, for a sign-in already recorded
    (single sign-on records its own, with the provider): nothing of the anonymous session is
    kept, so a planted session id is worthless."""
    _fresh_session(keep_locale=False)
    session.update({"user_id": str(user.id), "tenant_id": str(user.tenant_id)})
    if user.locale:
        session["locale"] = user.locale
    g.user = user
    audit_web.identify("user", str(user.id), user.email)


@dataclass(frozen=True)
class Pending:
    user: User
    must_enrol: bool  # the tenant requires two-factor sign-in and the user has none yet
    next_url: str


def begin_pending(user: User, *, must_enrol: bool, next_url: str) -> None:
    """The password was right; the code (or enrolment) comes next, within five minutes."""
    _fresh_session(keep_locale=True)
    session[PENDING] = {
        "user_id": str(user.id),
        "tenant_id": str(user.tenant_id),
        "must_enrol": must_enrol,
        "next": next_url,
        "expires_at": int(current_app.extensions[CLOCK]()) + PENDING_SECONDS,
    }


def pending() -> Pending | None:
    """The sign-in waiting for its second factor in this browser, for this tenant; None when
    there is none, it expired, or its user can no longer sign in (then it is dropped)."""
    data: Any = session.get(PENDING)
    if not isinstance(data, dict) or data.get("tenant_id") != str(current().id):
        return None
    expires_at = data.get("expires_at")
    user = None
    if isinstance(expires_at, int) and expires_at > current_app.extensions[CLOCK]():
        try:
            user = extension.session().get(User, (current().id, uuid.UUID(data["user_id"])))
        except (KeyError, ValueError):
            user = None
    if user is None or not user.is_active:
        drop_pending()
        return None
    return Pending(user, bool(data.get("must_enrol")), str(data.get("next") or ""))


def had_pending() -> bool:
    """This browser began a sign-in here (perhaps one that has since expired)."""
    data: Any = session.get(PENDING)
    return isinstance(data, dict) and data.get("tenant_id") == str(current().id)


def drop_pending() -> None:
    session.pop(PENDING, None)


def _fresh_session(*, keep_locale: bool) -> None:
    locale = session.get("locale")
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]
    if keep_locale and locale:
        session["locale"] = locale


def init_app(app: Flask) -> None:
    app.extensions.setdefault(CLOCK, time.time)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of this tenant, else its home page."""
    prefix = page_path(current().slug)
    if target and target.startswith(prefix) and "//" not in target and "\\" not in target:
        return target
    return url_for("tenant.home.index")
