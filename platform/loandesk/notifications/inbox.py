"""A staff member's in-app notifications: the list, the unread count, marking read."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from loandesk.db import utcnow
from loandesk.notifications.models import InAppNotification
from loandesk.tenancy import current_id


def unread_count(session: Session, user_id: uuid.UUID) -> int:
    """How many of the user's notifications are unread (one query, for the nav badge)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(InAppNotification)
            .where(InAppNotification.user_id == user_id, InAppNotification.read_at.is_(None))
        )
        or 0
    )


def latest(
    session: Session, user_id: uuid.UUID, *, unread_only: bool = False, limit: int = 50
) -> list[InAppNotification]:
    """The user's notifications, newest first."""
    query = select(InAppNotification).where(InAppNotification.user_id == user_id)
    if unread_only:
        query = query.where(InAppNotification.read_at.is_(None))
    order = (InAppNotification.created_at.desc(), InAppNotification.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


def mark_read(session: Session, user_id: uuid.UUID, ids: list[uuid.UUID] | None = None) -> int:
    """Mark the user's notifications ``ids`` (all unread ones when None) read; only the
    user's own are touched. Returns how many changed."""
    query = update(InAppNotification).where(
        InAppNotification.tenant_id == current_id(),
        InAppNotification.user_id == user_id,
        InAppNotification.read_at.is_(None),
    )
    if ids is not None:
        query = query.where(InAppNotification.id.in_(ids))
    done = session.execute(query.values(read_at=utcnow()))
    return int(getattr(done, "rowcount", 0) or 0)
