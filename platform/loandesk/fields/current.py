"""The current tenant's forms, built once per request (or job) from the published version."""

from __future__ import annotations

import uuid
from typing import Any

from flask import g, has_app_context

from loandesk import extension
from loandesk.fields.forms import Form, published_form
from loandesk.fields.registry import RecordType
from loandesk.fields.values import Context
from loandesk.plugins import runtime


def current_form(record_type: str | RecordType) -> Form:
    """The form in force for ``record_type`` (an enabled record type's key, or the type)."""
    declared = runtime.record_type(record_type) if isinstance(record_type, str) else record_type
    cache: dict[str, Form] = g.setdefault("loandesk_forms", {}) if has_app_context() else {}
    if declared.key not in cache:
        cache[declared.key] = published_form(extension.session(), declared)
    return cache[declared.key]


def tenant_record_type(record_type: str | RecordType) -> RecordType:
    """``record_type`` with the current tenant's published custom fields."""
    return current_form(record_type).record_type


def forget() -> None:
    """Drop the cached forms (after publishing a new version within the same request)."""
    if has_app_context():
        g.pop("loandesk_forms", None)
        g.pop("loandesk_record_access", None)


def value_context() -> Context:
    """What parsing values needs in this request: the tenant's time zone, and checks that a
    chosen staff member is active, a linked record is within the acting user's scope and an
    uploaded file belongs to the tenant."""
    from sqlalchemy import select

    from loandesk.auth.models import User
    from loandesk.tenancy import current

    session = extension.session()

    def user_exists(user_id: uuid.UUID) -> bool:
        found = session.scalar(select(User.id).where(User.id == user_id, User.status == "active"))
        return found is not None

    def record_exists(record_type: str, record_id: uuid.UUID) -> bool:
        from loandesk.rbac.current import record_access

        access = record_access(record_type)
        model: Any = access.record_type.model
        if not access.can_read:
            return False
        found = session.scalar(access.where(select(model).where(model.id == record_id)))
        return found is not None

    return Context(
        timezone=current().timezone,
        user_exists=user_exists,
        record_exists=record_exists,
        attachment_exists=_attachment_check(session),
    )


def _attachment_check(session: Any) -> Any:
    try:
        from loandesk.fields.attachments import exists
    except ImportError:  # attachments arrive with the storage setting
        return None
    return lambda ident, spec: exists(session, ident, spec)
