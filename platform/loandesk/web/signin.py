"""Starting a signed-in web session: the same for every way of signing in (password, single
sign-on), so that the session keys and the protection against fixation never drift apart."""

from __future__ import annotations

from flask import session, url_for

from loandesk.auth.models import User
from loandesk.tenancy import current


def start_session(user: User) -> None:
    """Sign ``user`` in to this browser: a new session id (no session fixation), nothing of
    the anonymous session kept, the user's language."""
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]
    session.update({"user_id": str(user.id), "tenant_id": str(user.tenant_id)})
    if user.locale:
        session["locale"] = user.locale


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of this tenant, else its home page."""
    prefix = f"/t/{current().slug}/"
    if target and target.startswith(prefix) and "//" not in target and "\\" not in target:
        return target
    return url_for("tenant.home.index")
