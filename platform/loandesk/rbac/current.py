"""Who a request acts for, and their access to a record type, resolved once per request."""

from __future__ import annotations

from typing import Any

from flask import g
from sqlalchemy import select

from loandesk import extension
from loandesk.audit import web as audit_web
from loandesk.errors import Forbidden
from loandesk.fields.current import tenant_record_type
from loandesk.i18n import N_
from loandesk.rbac.access import RecordAccess


def acting_user() -> Any:
    """The signed-in user of a web request, or the user an API client acts for; business
    records are only ever read and written on some user's behalf, under their grants."""
    from loandesk.auth.models import User

    user = g.get("user") or g.get("user_acting")
    if user is not None:
        return user
    token = g.get("api_token")
    if token is not None and token.client.acts_as_id is not None:
        user = extension.session().scalar(select(User).where(User.id == token.client.acts_as_id))
        if user is not None and user.is_active:
            # the audit log names the staff member, and the client they acted through
            audit_web.identify("user", str(user.id), f"{user.email} (API: {token.client.name})")
            g.user_acting = user
            return user
    raise Forbidden(N_("This API client acts for no active staff member; records need one."))


def acting_user_with(permission: str) -> Any:
    """The acting user (``acting_user``), who must hold ``permission``: 403 naming it if not."""
    user = acting_user()
    if not user.can(permission):
        raise Forbidden(
            N_("You lack the permission %(permission)s."), params={"permission": permission}
        )
    return user


def record_access(record_type: str) -> RecordAccess:
    """The acting user's ``RecordAccess`` to the enabled record type ``record_type``."""
    cache: dict[str, RecordAccess] = g.setdefault("loandesk_record_access", {})
    if record_type not in cache:
        cache[record_type] = RecordAccess.resolve(
            extension.session(), acting_user(), tenant_record_type(record_type)
        )
    return cache[record_type]
